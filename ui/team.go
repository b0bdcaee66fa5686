package ui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// The team pane (issue 15): a busy-lamp field of the colleagues we watch,
// with their live state from api.PresenceChanged, a key to call one and
// one to pick up a colleague's ringing call.

// PresenceWatcher is the presence side of a Controller (*cti.Service
// implements it). Without it the team pane is off.
type PresenceWatcher interface {
	Watches() []api.Watch
	Watch(ctx context.Context, target string) (api.Watch, error)
}

// Picker picks up a colleague's ringing call (INVITE with Replaces built
// from their dialog state); *cti.Service implements it.
type Picker interface {
	Pickup(ctx context.Context, w api.Watch) (api.CallID, error)
}

// watchesMsg carries the watches read when the pane opens.
type watchesMsg struct{ ws []api.Watch }

func watchesCmd(p PresenceWatcher) tea.Cmd {
	return func() tea.Msg { return watchesMsg{p.Watches()} }
}

// teamPane lists the watched colleagues.
type teamPane struct {
	st   *Styles
	km   *KeyMap
	w, h int
	ws   []api.Watch // by target
	sel  int
}

func (p *teamPane) SetSize(w, h int) { p.w, p.h = w, max(h, 3) }

// set replaces every watch.
func (p *teamPane) set(ws []api.Watch) {
	p.ws = slices.Clone(ws)
	slices.SortFunc(p.ws, func(a, b api.Watch) int { return cmp.Compare(a.Target, b.Target) })
	p.clamp()
}

// upsert applies one colleague's new state.
func (p *teamPane) upsert(w api.Watch) {
	i := slices.IndexFunc(p.ws, func(x api.Watch) bool { return x.Target == w.Target })
	if i >= 0 {
		p.ws[i] = w
		return
	}
	p.set(append(p.ws, w))
}

func (p *teamPane) clamp() { p.sel = min(max(p.sel, 0), max(len(p.ws)-1, 0)) }

func (p *teamPane) selected() (api.Watch, bool) {
	if p.sel < len(p.ws) {
		return p.ws[p.sel], true
	}
	return api.Watch{}, false
}

// colleagueName is the user part of a watch target.
func colleagueName(target string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(target, "sips:"), "sip:")
	if i := strings.IndexByte(s, '@'); i > 0 {
		return s[:i]
	}
	return s
}

// lamp is a colleague's lamp and state text: idle, ringing with who is
// calling, on the phone (with whom, on which device, held or in
// conference), unknown.
func lamp(w api.Watch) (mark, text string) {
	if w.State != api.WatchActive {
		why := "unknown"
		if w.Err != "" {
			why += " (" + w.Err + ")"
		}
		return "?", why
	}
	var ringing, talking []string
	for _, d := range w.Info.Dialogs {
		who := partyLabel(d.Remote)
		switch d.State {
		case api.PhaseTrying, api.PhaseProceeding, api.PhaseEarly:
			if d.Direction == api.Incoming {
				ringing = append(ringing, who+" calling")
			} else {
				ringing = append(ringing, "calling "+who)
			}
		case api.PhaseConfirmed:
			s := "with " + who
			if d.Device != "" {
				s += " on " + d.Device
			}
			switch {
			case d.Conference:
				s += " (in conference)"
			case d.Held:
				s += " (held)"
			}
			talking = append(talking, s)
		}
	}
	switch {
	case len(ringing) > 0:
		mark, text = "◉", "ringing: "+strings.Join(ringing, ", ")
	case len(talking) > 0:
		mark, text = "●", "on the phone "+strings.Join(talking, ", ")
	case w.Info.DND:
		return "⊘", "do not disturb"
	default:
		return "○", "idle"
	}
	if w.Info.DND {
		text += " (DND)"
	}
	return mark, text
}

func partyLabel(pt api.Party) string {
	name, number := peerNames(pt)
	if name != number && name != "" {
		return name
	}
	if i := strings.IndexByte(number, '@'); i > 0 {
		return number[:i]
	}
	return number
}

func (p *teamPane) View() string {
	var b strings.Builder
	b.WriteString(fitLine(p.st.Title.Render("Team")+p.st.Dim.Render("  your colleagues' phones"), p.w))
	if len(p.ws) == 0 {
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  nobody watched: [presence] watch in the config, or :watch NAME", p.w)))
		return b.String()
	}
	nameW := 8
	for _, w := range p.ws {
		nameW = max(nameW, len(colleagueName(w.Target)))
	}
	for i, w := range p.ws {
		cursor := "  "
		if i == p.sel {
			cursor = "▸ "
		}
		mark, text := lamp(w)
		line := fitLine(fmt.Sprintf("%s%s %-*s  %s", cursor, mark, nameW, colleagueName(w.Target), text), p.w)
		switch {
		case i == p.sel:
			line = p.st.Selected.Render(line)
		case mark == "◉":
			line = p.st.Warn.Render(line)
		case mark == "●":
			line = p.st.Active.Render(line)
		case mark == "?":
			line = p.st.Dim.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

func (p *teamPane) ShortHelp() []key.Binding {
	return []key.Binding{p.km.Up, p.km.Down, p.km.CallColleague, p.km.Pickup, p.km.Cancel}
}

func (p *teamPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// openTeam shows the team pane and loads the watches.
func (m *Model) openTeam() tea.Cmd {
	pw, ok := m.ctl.(PresenceWatcher)
	if !ok {
		m.notice.set(api.NoticeInfo, "no presence: "+ErrNotAvailable.Error())
		return nil
	}
	m.mode = modeTeam
	return watchesCmd(pw)
}

// teamKey handles a key in the team pane.
func (m *Model) teamKey(msg tea.KeyPressMsg) tea.Cmd {
	p := &m.team
	switch {
	case key.Matches(msg, m.km.Cancel, m.km.Team, m.km.Quit):
		m.mode = modeCalls
	case key.Matches(msg, m.km.Up):
		p.sel--
		p.clamp()
	case key.Matches(msg, m.km.Down):
		p.sel++
		p.clamp()
	case key.Matches(msg, m.km.CallColleague):
		w, ok := p.selected()
		if !ok {
			return nil
		}
		m.mode = modeCalls
		return m.dialCmd(w.Target)
	case key.Matches(msg, m.km.Pickup):
		w, ok := p.selected()
		if !ok {
			return nil
		}
		pk, ok := m.ctl.(Picker)
		if !ok {
			m.notice.set(api.NoticeInfo, "pickup: "+ErrNotAvailable.Error())
			return nil
		}
		if mark, _ := lamp(w); mark != "◉" {
			m.notice.set(api.NoticeInfo, colleagueName(w.Target)+" has no ringing call to pick up")
			return nil
		}
		m.mode = modeCalls
		m.notice.set(api.NoticeInfo, "picking up "+colleagueName(w.Target)+"'s call")
		return m.place("pick up", func(ctx context.Context, _ Controller) (api.CallID, error) { return pk.Pickup(ctx, w) })
	}
	return nil
}

// watchCmd adds a watch (the :watch command).
func (m *Model) watchCmd(target string) tea.Cmd {
	pw, ok := m.ctl.(PresenceWatcher)
	if !ok {
		m.notice.set(api.NoticeInfo, "no presence: "+ErrNotAvailable.Error())
		return nil
	}
	d := m.opts.CommandTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		if _, err := pw.Watch(ctx, target); err != nil {
			return resultMsg{what: "watch " + target, err: err}
		}
		return watchesMsg{pw.Watches()}
	}
}
