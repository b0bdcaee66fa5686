package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
)

// header is the top line: account and registration state, unread missed
// calls, busy policy and override, active device, audio device, number of
// calls; the most important first, since narrow terminals cut the end.
type header struct {
	st      *Styles
	w       int
	account string // what we present: AOR, or our direct URI when unregistered
	// unregistered replaces "no registrar" while no registration is known.
	unregistered string
	audio        string
	audioLost    bool // the sound card is gone: shown before anything but the count
	reg          *api.RegInfo
	calls        int
	policy       *busy.Policy // nil without a PolicyController
	missed       int          // unread missed calls
	active       string       // active device(s), "" without AnyDevice
	number       string       // the user's office number, "" if none
	now          time.Time
	mwi          *api.MessageSummary // message waiting, nil while unknown (mwi.go)
	transport    string              // the line's SIP transport: "tls" is shown
	insecure     bool                // TLS without certificate checks: a warning
}

func (h *header) SetSize(w, _ int) { h.w = w }

func (h *header) Update(msg tea.Msg) tea.Cmd {
	switch e := msg.(type) {
	case api.RegistrationChanged:
		r := e.Reg
		h.reg = &r
	case api.PolicyChanged:
		p := e.Policy
		h.policy = &p
	case api.JournalChanged:
		h.missed = e.UnreadMissed
	case api.MessageWaiting:
		ms := e.MWI
		h.mwi = &ms
	}
	return nil
}

func (h *header) View() string {
	var parts []headerPart
	add := func(keep int, s string) { parts = append(parts, headerPart{s, keep}) }
	acct := h.account
	state := "no registrar"
	if h.unregistered != "" {
		state = h.unregistered
	}
	if h.reg != nil {
		if h.reg.AOR != "" {
			acct = h.reg.AOR
		}
		state = h.reg.State.String()
		if h.reg.Code != 0 && h.reg.State != api.RegRegistered {
			state += fmt.Sprintf(" %d", h.reg.Code)
		}
		if h.reg.Code == 0 && h.reg.State == api.RegRetrying {
			// No answer at all: a REGISTER or keepalive OPTIONS timed out
			// or the transport failed (phone/regkeepalive.go).
			state += ": registrar unreachable"
		}
	}
	add(keepName, h.st.Header.Render("anyphone"))
	acct = strings.TrimPrefix(strings.TrimPrefix(acct, "sip:"), "sips:")
	switch {
	case h.insecure: // tls_insecure_skip_verify: a warning, not a detail
		add(keepAccount, h.st.HeaderDim.Render(acct+" ("+state+", ")+h.st.Warn.Render("TLS UNVERIFIED")+h.st.HeaderDim.Render(")"))
	case h.transport == "tls":
		add(keepAccount, h.st.HeaderDim.Render(acct+" ("+state+", TLS)"))
	default:
		add(keepAccount, h.st.HeaderDim.Render(acct+" ("+state+")"))
	}
	if s, mark := mwiLabel(h.mwi); s != "" { // mwi.go
		st := h.st.HeaderDim
		if mark {
			st = h.st.Mark
		}
		add(keepCount, st.Render(s))
	}
	if h.missed > 0 {
		add(keepCount, h.st.Mark.Render(fmt.Sprintf("%d missed", h.missed)))
	}
	if h.policy != nil {
		st := h.st.HeaderDim
		if h.policy.DND {
			st = h.st.Warn
		}
		add(keepPolicy, st.Render(policyLabel(*h.policy, h.now)))
	}
	if h.active != "" {
		on := "on " + h.active
		if h.number != "" {
			on = h.number + " " + on // where people reach you rings
		}
		add(keepDevice, h.st.HeaderDim.Render(on))
	}
	switch {
	case h.audioLost:
		add(keepPolicy, h.st.Error.Render("audio lost"))
	case h.audio != "":
		add(keepAudio, h.st.HeaderDim.Render("audio: "+h.audio))
	}
	if h.calls > 0 {
		add(keepCount, h.st.HeaderDim.Render(plural(h.calls, "call")))
	}
	return fitLine(fitParts(parts, h.st.Rule.Render(" │ "), h.w), h.w)
}

// How long a header part stays when the line is too narrow: the lowest
// goes first (issue 13: at 80×24 the call count was cut off the end).
const (
	keepAudio   = iota // the audio device: chosen once, shown in S
	keepDevice         // where the office number rings
	keepName           // "anyphone"
	keepPolicy         // busy: wait, DND, a running let-through
	keepAccount        // who we are and the registration (cut, not dropped)
	keepCount          // calls and missed calls: never dropped
)

type headerPart struct {
	s    string
	keep int
}

// fitParts joins parts with sep, dropping the least important ones until
// the line fits in w; the account and the counts are never dropped.
func fitParts(parts []headerPart, sep string, w int) string {
	join := func() string {
		ss := make([]string, len(parts))
		for i, p := range parts {
			ss[i] = p.s
		}
		return strings.Join(ss, sep)
	}
	for ansi.StringWidth(join()) > w {
		drop := -1
		for i, p := range parts {
			if p.keep < keepAccount && (drop < 0 || p.keep < parts[drop].keep) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		parts = append(parts[:drop], parts[drop+1:]...)
	}
	if ansi.StringWidth(join()) > w {
		// still too wide: cut the account, keep the counts after it
		for i, p := range parts {
			if p.keep != keepAccount {
				continue
			}
			rest := ansi.StringWidth(join()) - ansi.StringWidth(p.s)
			parts[i].s = ansi.Truncate(p.s, max(w-rest, 1), "…")
		}
	}
	return join()
}

// policyLabel is the busy policy in a few words: "DND", or what a second
// call gets ("busy: wait"), and a running override.
func policyLabel(p busy.Policy, now time.Time) string {
	label := "busy: " + actionName(p.OnBusy, busy.Wait)
	if p.DND {
		label = "DND"
	}
	if o := p.Override; !o.IsZero() && (o.Until.IsZero() || now.Before(o.Until)) {
		switch {
		case !o.Until.IsZero():
			label += ", let through till " + o.Until.Local().Format("15:04")
		default:
			label += ", let through this call"
		}
	}
	return label
}

// actionName names an action, def when it is Unset.
func actionName(a, def busy.Action) string {
	if a == busy.Unset {
		a = def
	}
	return a.String()
}

func (h *header) ShortHelp() []key.Binding  { return nil }
func (h *header) FullHelp() [][]key.Binding { return nil }

// plural renders "1 call", "2 calls", "no calls".
func plural(n int, word string) string {
	switch n {
	case 0:
		return "no " + word + "s"
	case 1:
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// fitLine cuts s (which may hold ANSI styles) to w cells.
func fitLine(s string, w int) string {
	if w <= 0 {
		return s
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return truncate(s, w)
}
