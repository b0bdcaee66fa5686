package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// The SIP dialog list, sngrep's call list: every dialog whose ladder is
// kept, the calls of this session (ended ones too) and the dialogs no call
// owns (REGISTER, OPTIONS, SUBSCRIBE), newest first; enter opens the
// selected one's ladder, esc there comes back here.

// Dialoger lists the SIP dialogs no call owns (*cti.Service implements
// it). Without it the list shows the calls only.
type Dialoger interface {
	Dialogs() []api.Dialog
}

// maxSeenCalls bounds the calls the list remembers (the phone keeps 200
// call ladders).
const maxSeenCalls = 200

// seenCall is a call this session saw, for the dialog list.
type seenCall struct {
	id    api.CallID
	sipID string
	dir   api.Direction
	peer  string
	state string
	first time.Time
	last  time.Time
}

// dialogRow is one line of the list.
type dialogRow struct {
	id     api.CallID // what the ladder is read by: a call ID or a SIP Call-ID
	method string
	dir    string
	peer   string
	info   string
	last   time.Time
}

type dialogList struct {
	st     *Styles
	km     *KeyMap
	w, h   int
	loc    *time.Location
	rows   []dialogRow
	sel    int
	offset int
}

// dialogsMsg carries a fresh list of the dialogs no call owns.
type dialogsMsg struct{ dialogs []api.Dialog }

// dialogsCmd fetches the dialogs off the event loop.
func dialogsCmd(c Controller) tea.Cmd {
	d, ok := c.(Dialoger)
	if !ok {
		return func() tea.Msg { return dialogsMsg{} }
	}
	return func() tea.Msg { return dialogsMsg{dialogs: d.Dialogs()} }
}

// noteCall remembers c for the list.
func noteCall(seen []seenCall, c api.CallInfo, now time.Time) []seenCall {
	name, number := peerNames(c.Remote)
	peer := name
	if number != name && number != "" {
		peer += " (" + number + ")"
	}
	state := c.State.String()
	if c.End != nil && c.End.Code >= 300 {
		state = fmt.Sprintf("%s %d %s", state, c.End.Code, c.End.Reason)
	}
	for i := range seen {
		if seen[i].id == c.ID {
			seen[i].peer, seen[i].state, seen[i].last = peer, state, now
			if c.SIPCallID != "" {
				seen[i].sipID = c.SIPCallID
			}
			return seen
		}
	}
	first := c.Created
	if first.IsZero() {
		first = now
	}
	seen = append(seen, seenCall{id: c.ID, sipID: c.SIPCallID, dir: c.Direction, peer: peer, state: state, first: first, last: now})
	if len(seen) > maxSeenCalls {
		seen = slices.Delete(seen, 0, len(seen)-maxSeenCalls)
	}
	return seen
}

// set rebuilds the rows from the calls seen and the other dialogs,
// keeping the selected row selected.
func (l *dialogList) set(seen []seenCall, others []api.Dialog) {
	var cur api.CallID
	if l.sel < len(l.rows) {
		cur = l.rows[l.sel].id
	}
	l.rows = l.rows[:0]
	for _, c := range seen {
		dir := "→"
		if c.dir == api.Incoming {
			dir = "←"
		}
		l.rows = append(l.rows, dialogRow{id: c.id, method: "INVITE", dir: dir, peer: c.peer, info: string(c.id) + " " + c.state, last: c.last})
	}
	for _, d := range others {
		l.rows = append(l.rows, dialogRow{id: api.CallID(d.SIPCallID), method: d.Method, peer: d.Peer,
			info: fmt.Sprintf("%d messages", d.Messages), last: d.Last})
	}
	slices.SortStableFunc(l.rows, func(a, b dialogRow) int { return b.last.Compare(a.last) })
	l.sel = 0
	for i, r := range l.rows {
		if r.id == cur {
			l.sel = i
		}
	}
	l.clamp()
}

func (l *dialogList) SetSize(w, h int) {
	l.w, l.h = w, max(h, 3)
	l.clamp()
}

func (l *dialogList) clamp() {
	rows := max(l.h-2, 1)
	l.sel = min(max(l.sel, 0), max(len(l.rows)-1, 0))
	if l.sel < l.offset {
		l.offset = l.sel
	}
	if l.sel >= l.offset+rows {
		l.offset = l.sel - rows + 1
	}
	l.offset = max(0, l.offset)
}

// selected is the row under the cursor.
func (l *dialogList) selected() (dialogRow, bool) {
	if l.sel >= len(l.rows) {
		return dialogRow{}, false
	}
	return l.rows[l.sel], true
}

// Update moves the cursor; open is set when enter picks a dialog, back
// when the user leaves the list.
func (l *dialogList) Update(m tea.KeyPressMsg) (open, back bool) {
	rows := max(l.h-2, 1)
	switch {
	case key.Matches(m, l.km.Submit):
		_, ok := l.selected()
		return ok, false
	case key.Matches(m, l.km.Cancel), key.Matches(m, l.km.Dialogs):
		return false, true
	case key.Matches(m, l.km.Up):
		l.sel--
	case key.Matches(m, l.km.Down):
		l.sel++
	case key.Matches(m, l.km.PageUp):
		l.sel -= rows
	case key.Matches(m, l.km.PageDown):
		l.sel += rows
	}
	l.clamp()
	return false, false
}

// View draws the list in w×h: time of the newest message, method,
// direction, peer, and the call's state or the message count.
func (l *dialogList) View() string {
	var b strings.Builder
	b.WriteString(l.st.Title.Render(fitLine(fmt.Sprintf("SIP dialogs (%d)", len(l.rows)), l.w)))
	if len(l.rows) == 0 {
		b.WriteString("\n" + l.st.Dim.Render(fitLine("  no SIP dialogs recorded yet", l.w)))
		return b.String()
	}
	b.WriteString("\n" + l.st.Dim.Render(fitLine(fmt.Sprintf("%-8s %-9s %-1s %-30s %s", "last", "method", "", "peer", "state"), l.w)))
	end := min(len(l.rows), l.offset+max(l.h-2, 1))
	for i := l.offset; i < end; i++ {
		r := l.rows[i]
		loc := l.loc
		if loc == nil {
			loc = time.Local
		}
		dir := r.dir
		if dir == "" {
			dir = " "
		}
		line := fmt.Sprintf("%-8s %-9s %s %-30s %s", r.last.In(loc).Format("15:04:05"), r.method, dir, fitLine(r.peer, 30), r.info)
		if i == l.sel {
			b.WriteString("\n" + l.st.Selected.Render(fitLine(line, l.w)))
		} else {
			b.WriteString("\n" + fitLine(line, l.w))
		}
	}
	return b.String()
}

func (l *dialogList) ShortHelp() []key.Binding {
	return []key.Binding{l.km.Up, l.km.Down, l.km.Submit, l.km.Cancel, l.km.PageUp, l.km.PageDown}
}

func (l *dialogList) FullHelp() [][]key.Binding { return [][]key.Binding{l.ShortHelp()} }
