package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

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
	reg          *api.RegInfo
	calls        int
	policy       *busy.Policy // nil without a PolicyController
	missed       int          // unread missed calls
	active       string       // active device(s), "" without AnyDevice
	number       string       // the user's office number, "" if none
	now          time.Time
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
	}
	return nil
}

func (h *header) View() string {
	var parts []string
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
	}
	parts = append(parts, h.st.Header.Render("anyphone"))
	acct = strings.TrimPrefix(strings.TrimPrefix(acct, "sip:"), "sips:")
	parts = append(parts, h.st.HeaderDim.Render(acct+" ("+state+")"))
	if h.missed > 0 {
		parts = append(parts, h.st.Mark.Render(fmt.Sprintf("%d missed", h.missed)))
	}
	if h.policy != nil {
		st := h.st.HeaderDim
		if h.policy.DND {
			st = h.st.Warn
		}
		parts = append(parts, st.Render(policyLabel(*h.policy, h.now)))
	}
	if h.active != "" {
		on := "on " + h.active
		if h.number != "" {
			on = h.number + " " + on // where people reach you rings
		}
		parts = append(parts, h.st.HeaderDim.Render(on))
	}
	if h.audio != "" {
		parts = append(parts, h.st.HeaderDim.Render("audio: "+h.audio))
	}
	if h.calls > 0 {
		parts = append(parts, h.st.HeaderDim.Render(plural(h.calls, "call")))
	}
	return fitLine(strings.Join(parts, h.st.Rule.Render(" │ ")), h.w)
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
