package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// callList is the list of calls that are up, oldest first, with a
// selection. One line per call.
type callList struct {
	st     *Styles
	km     *KeyMap
	why    func(api.CallInfo) string
	w, h   int
	calls  []api.CallInfo
	sel    int
	offset int
	// want is a call we placed that has not shown up yet (its first
	// event may come after Dial returned): the cursor goes to it then.
	want api.CallID
}

func (l *callList) SetSize(w, h int) {
	l.w, l.h = w, max(h, 1)
	l.clamp()
}

// upsert stores the new value of a call; ended calls leave the list. It
// reports whether the call is new.
func (l *callList) upsert(c api.CallInfo) (isNew bool) {
	i := slices.IndexFunc(l.calls, func(x api.CallInfo) bool { return x.ID == c.ID })
	if c.State == api.CallEnded {
		if i >= 0 {
			l.calls = slices.Delete(l.calls, i, i+1)
			if l.sel > i {
				l.sel--
			}
			l.clamp()
		}
		return false
	}
	if i >= 0 {
		l.calls[i] = c
		return false
	}
	var keep api.CallID
	if cur, ok := l.selected(); ok {
		keep = cur.ID
	}
	l.calls = append(l.calls, c)
	slices.SortStableFunc(l.calls, func(a, b api.CallInfo) int { return a.Created.Compare(b.Created) })
	if c.ID == l.want {
		keep, l.want = c.ID, ""
	}
	l.selectID(keep)
	return true
}

// reset replaces every call (after a Snapshot).
func (l *callList) reset(calls []api.CallInfo) {
	var keep api.CallID
	if c, ok := l.selected(); ok {
		keep = c.ID
	}
	l.calls = l.calls[:0]
	for _, c := range calls {
		if c.State != api.CallEnded {
			l.calls = append(l.calls, c)
		}
	}
	slices.SortStableFunc(l.calls, func(a, b api.CallInfo) int { return a.Created.Compare(b.Created) })
	l.selectID(keep)
	l.clamp()
}

func (l *callList) selectID(id api.CallID) {
	if i := slices.IndexFunc(l.calls, func(x api.CallInfo) bool { return x.ID == id }); i >= 0 {
		l.sel = i
		l.clamp()
	}
}

// follow puts the cursor on call id now, or when it shows up.
func (l *callList) follow(id api.CallID) {
	if slices.ContainsFunc(l.calls, func(x api.CallInfo) bool { return x.ID == id }) {
		l.selectID(id)
		return
	}
	l.want = id
}

// deviceOf is the device carrying call id ("" for this phone's calls and
// calls not in the list).
func (l *callList) deviceOf(id api.CallID) string {
	if i := slices.IndexFunc(l.calls, func(x api.CallInfo) bool { return x.ID == id }); i >= 0 {
		return l.calls[i].Device
	}
	return ""
}

func (l *callList) clamp() {
	l.sel = min(max(l.sel, 0), max(len(l.calls)-1, 0))
	if l.sel < l.offset {
		l.offset = l.sel
	}
	if l.h > 0 && l.sel >= l.offset+l.h {
		l.offset = l.sel - l.h + 1
	}
	l.offset = max(0, min(l.offset, len(l.calls)-l.h))
}

func (l *callList) selected() (api.CallInfo, bool) {
	if l.sel < 0 || l.sel >= len(l.calls) {
		return api.CallInfo{}, false
	}
	return l.calls[l.sel], true
}

// Update moves the selection (keys and mouse clicks relative to the
// list's first line).
func (l *callList) Update(msg tea.Msg) tea.Cmd {
	switch m := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(m, l.km.Up):
			l.sel--
		case key.Matches(m, l.km.Down):
			l.sel++
		}
		l.clamp()
	case listClickMsg:
		if i := l.offset + m.row; m.row >= 0 && i < len(l.calls) {
			l.sel = i
			l.clamp()
		}
	}
	return nil
}

// listClickMsg is a mouse click on row (0-based) of the call list.
type listClickMsg struct{ row int }

// View draws the rows, or a hint when no call is up.
func (l *callList) View(now time.Time) string {
	if len(l.calls) == 0 {
		return l.st.Dim.Render(fitLine("  no calls — d to dial, or type a number; ? for help", l.w))
	}
	var b strings.Builder
	end := min(len(l.calls), l.offset+l.h)
	for i := l.offset; i < end; i++ {
		if i > l.offset {
			b.WriteByte('\n')
		}
		b.WriteString(l.row(i, now))
	}
	return b.String()
}

func (l *callList) row(i int, now time.Time) string {
	c := l.calls[i]
	label := stateLabel(c)
	cursor := "  "
	if i == l.sel {
		cursor = "▸ "
	}
	arrow := "→"
	if c.Direction == api.Incoming {
		arrow = "←"
	}
	name, number := peerNames(c.Remote)
	var marks []string
	if c.LocalHold {
		marks = append(marks, "[hold]")
	}
	if c.RemoteHold {
		marks = append(marks, "[remote hold]")
	}
	if c.Muted {
		marks = append(marks, "[muted]")
	}
	if c.SRTP != "" {
		marks = append(marks, "[srtp]") // media encrypted (SDES-SRTP)
	}
	if c.Conference != "" {
		marks = append(marks, "[conf]")
	}
	if c.Device != "" {
		marks = append(marks, "@"+c.Device) // carried by another device (AnyDevice)
	}
	if c.Codec != "" && (c.State == api.CallActive || c.State == api.CallEarly) {
		marks = append(marks, l.st.Dim.Render(c.Codec)) // PCMU, G722, opus
	}
	right := fmt.Sprintf(" %6s", callTimer(c, now))
	if len(marks) > 0 {
		right = " " + strings.Join(marks, " ") + right
	}
	var why string
	if l.why != nil {
		why = l.why(c)
	}
	stateSt := l.st.Active
	switch {
	case c.State == api.CallIncoming:
		stateSt = l.st.Incoming
	case c.LocalHold:
		stateSt = l.st.Held
	case c.State != api.CallActive:
		stateSt = l.st.Dim
	}
	left := fmt.Sprintf("%s%d %s %s ", cursor, i+1, arrow, stateSt.Render(fmt.Sprintf("%-11s", label)))
	peer := name
	if number != "" && number != name {
		peer += " " + l.st.Dim.Render(number)
	}
	if why != "" {
		peer += l.st.Dim.Render(" · " + why)
	}
	room := l.w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if room < 4 {
		room = 4
	}
	pw := ansi.StringWidth(peer)
	if pw > room {
		peer = ansi.Truncate(peer, room, "…")
		pw = ansi.StringWidth(peer)
	}
	line := left + peer + strings.Repeat(" ", max(room-pw, 0)) + l.st.Mark.Render(right)
	if i == l.sel {
		return l.st.Selected.Render(ansi.Strip(line))
	}
	return line
}

func (l *callList) ShortHelp() []key.Binding { return []key.Binding{l.km.Up, l.km.Down} }
func (l *callList) FullHelp() [][]key.Binding {
	return [][]key.Binding{{l.km.Up, l.km.Down}}
}

// stateLabel names a call's state for people.
func stateLabel(c api.CallInfo) string {
	switch c.State {
	case api.CallDialing:
		return "dialing"
	case api.CallRinging:
		return "ringing"
	case api.CallEarly:
		return "early media"
	case api.CallIncoming:
		return "incoming"
	case api.CallAnswering:
		return "answering"
	case api.CallActive:
		if c.LocalHold {
			return "held"
		}
		return "active"
	case api.CallEnding:
		return "ending"
	case api.CallEnded:
		return "ended"
	}
	return "idle"
}

// peerNames splits a party into a display name and a number or address.
func peerNames(p api.Party) (name, number string) {
	number = p.User
	if number == "" {
		number = strings.TrimPrefix(strings.TrimPrefix(p.URI, "sip:"), "sips:")
	}
	name = p.DisplayName
	if name == "" {
		name = number
	}
	return name, number
}

// callTimer is the talk time of an answered call, or how long it has been
// ringing.
func callTimer(c api.CallInfo, now time.Time) string {
	start := c.Created
	if !c.Answered.IsZero() {
		start = c.Answered
	}
	if start.IsZero() || now.Before(start) {
		return "0:00"
	}
	d := now.Sub(start).Truncate(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// truncate cuts a styled string to w cells with an ellipsis.
func truncate(s string, w int) string { return ansi.Truncate(s, w, "…") }
