package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// ladderView is the SIP ladder of one call in the style of sngrep: one
// arrow per message with its method or status and the time relative to
// the first message; Enter shows the raw message of the selected one.
type ladderView struct {
	st   *Styles
	km   *KeyMap
	w, h int
	id   api.CallID
	peer string
	all  []api.SIPMessage // every message of the ladder
	msgs []api.SIPMessage // the messages shown: those matching filter
	// filter keeps the messages whose summary or raw text contains it
	// (case-insensitive); searching is true while "/" edits it.
	filter    string
	searching bool
	sel       int
	offset    int
	raw       bool
	rawTop    int
}

// ladderMsg carries a fresh copy of a call's ladder.
type ladderMsg struct {
	id   api.CallID
	msgs []api.SIPMessage
}

// ladderCmd fetches a ladder off the event loop.
func ladderCmd(c Controller, id api.CallID) tea.Cmd {
	return func() tea.Msg { return ladderMsg{id: id, msgs: c.Ladder(id)} }
}

func (l *ladderView) SetSize(w, h int) {
	l.w, l.h = w, max(h, 3)
	l.clamp()
}

func (l *ladderView) open(id api.CallID, peer string) {
	if l.id != id {
		l.all, l.msgs, l.sel, l.offset, l.raw, l.rawTop = nil, nil, 0, 0, false, 0
		l.filter, l.searching = "", false
	}
	l.id, l.peer = id, peer
}

func (l *ladderView) set(msgs []api.SIPMessage) {
	follow := l.sel >= len(l.msgs)-1
	l.all = msgs
	l.applyFilter()
	if follow {
		l.sel = len(l.msgs) - 1
	}
	l.clamp()
}

// applyFilter recomputes the shown messages from all and filter, keeping
// the selected message selected when it still matches.
func (l *ladderView) applyFilter() {
	var cur *api.SIPMessage
	if l.sel >= 0 && l.sel < len(l.msgs) {
		cur = &l.msgs[l.sel]
	}
	if l.filter == "" {
		l.msgs = l.all
	} else {
		f := strings.ToLower(l.filter)
		l.msgs = nil
		for _, m := range l.all {
			if strings.Contains(strings.ToLower(m.Summary), f) || strings.Contains(strings.ToLower(m.Raw), f) {
				l.msgs = append(l.msgs, m)
			}
		}
	}
	if cur != nil {
		for i, m := range l.msgs {
			if m.Time.Equal(cur.Time) && m.Summary == cur.Summary && m.CSeq == cur.CSeq {
				l.sel = i
				break
			}
		}
	}
	l.clamp()
}

// search edits the filter line: text narrows the messages as it is typed,
// enter keeps the filter, esc clears it.
func (l *ladderView) search(m tea.KeyPressMsg) {
	switch {
	case key.Matches(m, l.km.Cancel):
		l.searching, l.filter = false, ""
	case key.Matches(m, l.km.Submit):
		l.searching = false
		return
	case m.String() == "backspace":
		r := []rune(l.filter)
		if len(r) == 0 {
			return
		}
		l.filter = string(r[:len(r)-1])
	case m.Text != "":
		l.filter += m.Text
	default:
		return
	}
	l.applyFilter()
}

// Searching reports whether the filter line takes the keys.
func (l *ladderView) Searching() bool { return l.searching }

// rows is how many arrows fit under the title lines.
func (l *ladderView) rows() int { return max(l.h-2, 1) }

func (l *ladderView) clamp() {
	l.sel = min(max(l.sel, 0), max(len(l.msgs)-1, 0))
	if l.sel < l.offset {
		l.offset = l.sel
	}
	if l.sel >= l.offset+l.rows() {
		l.offset = l.sel - l.rows() + 1
	}
	l.offset = max(0, l.offset)
	if l.raw {
		lines := l.rawLines()
		l.rawTop = max(0, min(l.rawTop, len(lines)-(l.h-1)))
	}
}

// Update scrolls, opens and closes the raw message. It returns true in
// back when the user leaves the ladder.
func (l *ladderView) Update(msg tea.Msg) (back bool) {
	m, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return false
	}
	if l.searching {
		l.search(m)
		return false
	}
	step := 1
	switch {
	case key.Matches(m, l.km.Search) && !l.raw:
		l.searching = true
	case key.Matches(m, l.km.Cancel), key.Matches(m, l.km.Ladder):
		if l.raw {
			l.raw = false
			return false
		}
		if l.filter != "" && key.Matches(m, l.km.Cancel) {
			l.filter = ""
			l.applyFilter()
			return false
		}
		return true
	case key.Matches(m, l.km.Raw):
		l.raw, l.rawTop = !l.raw, 0
	case key.Matches(m, l.km.PageUp):
		step = -l.rows()
		fallthrough
	case key.Matches(m, l.km.PageDown):
		if step == 1 {
			step = l.rows()
		}
		l.move(step)
	case key.Matches(m, l.km.Up):
		l.move(-1)
	case key.Matches(m, l.km.Down):
		l.move(1)
	}
	l.clamp()
	return false
}

func (l *ladderView) move(n int) {
	if l.raw {
		l.rawTop += n
	} else {
		l.sel += n
	}
}

func (l *ladderView) rawLines() []string {
	if l.sel >= len(l.msgs) {
		return nil
	}
	return strings.Split(strings.ReplaceAll(strings.TrimRight(l.msgs[l.sel].Raw, "\r\n"), "\r\n", "\n"), "\n")
}

// View draws the ladder (or the raw message) in w×h.
func (l *ladderView) View() string {
	var b strings.Builder
	if len(l.msgs) == 0 {
		if len(l.all) > 0 {
			b.WriteString(l.st.Title.Render(fitLine("SIP ladder: "+l.peer+" ("+l.count()+")", l.w)))
			b.WriteString("\n" + l.st.Dim.Render(fitLine("  no message matches "+strconv.Quote(l.filter), l.w)))
			return b.String()
		}
		b.WriteString(l.st.Title.Render(fitLine("SIP ladder: "+l.peer, l.w)))
		b.WriteString("\n" + l.st.Dim.Render("  no SIP messages recorded for this call"))
		return b.String()
	}
	first := l.all[0]
	if l.raw {
		m := l.msgs[l.sel]
		b.WriteString(l.st.Title.Render(fitLine(fmt.Sprintf("%s %s  (%d/%d)", dirWord(m), m.Summary, l.sel+1, len(l.msgs)), l.w)))
		lines := l.rawLines()
		end := min(len(lines), l.rawTop+l.h-1)
		for _, ln := range lines[l.rawTop:end] {
			b.WriteString("\n" + fitLine(ansi.Strip(ln), l.w))
		}
		return b.String()
	}
	const timeW = 9
	span := max(l.w-timeW-2, 10)
	cols := ladderColumns(l.msgs)
	title := strings.Repeat(" ", timeW) + ladderHeader(cols, span)
	b.WriteString(l.st.Title.Render(fitLine(fmt.Sprintf("SIP ladder: %s (%s)", l.peer, l.count()), l.w)))
	b.WriteString("\n" + l.st.Dim.Render(fitLine(title, l.w)))
	end := min(len(l.msgs), l.offset+l.rows())
	for i := l.offset; i < end; i++ {
		m := l.msgs[i]
		rel := m.Time.Sub(first.Time).Seconds()
		line := fmt.Sprintf("%8.3f %s", rel, ladderArrow(cols, m, span))
		st := l.st.Received
		if m.Sent {
			st = l.st.Sent
		}
		if i == l.sel {
			b.WriteString("\n" + l.st.Selected.Render(fitLine(line, l.w)))
		} else {
			b.WriteString("\n" + st.Render(fitLine(line, l.w)))
		}
	}
	return b.String()
}

// count is "8 messages", or with a filter (being typed or kept)
// "2 of 8 messages, filter "ack"".
func (l *ladderView) count() string {
	if l.filter == "" && !l.searching {
		return fmt.Sprintf("%d messages", len(l.all))
	}
	s := fmt.Sprintf("%d of %d messages, filter %q", len(l.msgs), len(l.all), l.filter)
	if l.searching {
		s = fmt.Sprintf("%d of %d messages, /%s▏", len(l.msgs), len(l.all), l.filter)
	}
	return s
}

func dirWord(m api.SIPMessage) string {
	if m.Sent {
		return "sent to " + m.Remote + ":"
	}
	return "received from " + m.Remote + ":"
}

// arrow draws "── INVITE ──────▶" (sent) or "◀──── 180 Ringing ──" in n
// cells.
func arrow(m api.SIPMessage, n int) string {
	label := " " + m.Summary + " "
	if w := ansi.StringWidth(label); w > n-4 {
		label = ansi.Truncate(label, max(n-4, 1), "…")
	}
	rest := max(n-ansi.StringWidth(label)-1, 2)
	if m.Sent {
		return strings.Repeat("─", 2) + label + strings.Repeat("─", rest-2) + "▶"
	}
	return "◀" + strings.Repeat("─", rest-2) + label + strings.Repeat("─", 2)
}

// ladderExportMsg reports a ladder written as a pcap file.
type ladderExportMsg struct {
	path string
	n    int
	err  error
}

// exportLadderCmd writes msgs to dir/anyphone-ID-TIME.pcap off the event loop.
func exportLadderCmd(dir string, id api.CallID, msgs []api.SIPMessage, now time.Time) tea.Cmd {
	msgs = slices.Clone(msgs)
	return func() tea.Msg {
		if len(msgs) == 0 {
			return ladderExportMsg{err: errors.New("no SIP messages recorded for this call")}
		}
		name := fmt.Sprintf("anyphone-%s-%s.pcap", id, now.Format("20060102-150405"))
		path, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			return ladderExportMsg{err: err}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return ladderExportMsg{err: err}
		}
		err = api.WritePcap(f, msgs)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return ladderExportMsg{path: path, n: len(msgs), err: err}
	}
}

func (l *ladderView) ShortHelp() []key.Binding {
	if l.searching {
		return []key.Binding{l.km.Submit, l.km.Cancel}
	}
	if l.raw {
		return []key.Binding{l.km.Up, l.km.Down, l.km.Raw, l.km.Pcap, l.km.Cancel, l.km.PageUp, l.km.PageDown}
	}
	return []key.Binding{l.km.Up, l.km.Down, l.km.Raw, l.km.Search, l.km.Pcap, l.km.Cancel, l.km.PageUp, l.km.PageDown}
}

func (l *ladderView) FullHelp() [][]key.Binding { return [][]key.Binding{l.ShortHelp()} }
