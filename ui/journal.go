package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/journal"
)

// journalLimit is how many rows the pane loads: the newest calls.
const journalLimit = 10000

// journalFilters are the pane's filters, in the order tab walks them.
var journalFilters = []struct {
	name string
	view journal.View
}{
	{"all", journal.ViewAll},
	{"missed", journal.ViewMissed},
	{"secondary", journal.ViewSecondary},
	{"answered elsewhere", journal.ViewAnsweredElsewhere},
}

// journalPane lists the call journal with a filter; Enter calls back, r
// marks the selected call read, R every call.
type journalPane struct {
	st      *Styles
	km      *KeyMap
	loc     *time.Location
	w, h    int
	filter  int // index into journalFilters
	entries []journal.Entry
	loaded  bool
	err     error
	sel     int
	offset  int
}

// journalMsg carries a fresh list for a filter.
type journalMsg struct {
	filter  int
	entries []journal.Entry
	err     error
}

// journalCmd lists the journal under filter off the event loop; with
// markIDs (or all) it first marks those entries read.
func journalCmd(j Journaler, d time.Duration, filter int, all bool, markIDs ...int64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var err error
		switch {
		case all:
			err = j.MarkAllRead(ctx)
		case len(markIDs) > 0:
			err = j.MarkRead(ctx, markIDs...)
		}
		if err != nil {
			return journalMsg{filter: filter, err: fmt.Errorf("mark read: %w", err)}
		}
		es, err := j.Journal(ctx, journal.Filter{View: journalFilters[filter].view, Limit: journalLimit})
		return journalMsg{filter: filter, entries: es, err: err}
	}
}

func (p *journalPane) SetSize(w, h int) {
	p.w, p.h = w, max(h, 3)
	p.clamp()
}

// rows is how many entries fit under the title and column lines.
func (p *journalPane) rows() int { return max(p.h-2, 1) }

func (p *journalPane) set(msg journalMsg) {
	if msg.filter != p.filter {
		return // an answer for a filter the user already left
	}
	p.loaded, p.err = true, msg.err
	if msg.err != nil {
		return
	}
	var keep int64
	if e, ok := p.selected(); ok && p.sel > 0 {
		keep = e.ID // a row the user moved to stays selected
	}
	// On the newest row (the first) the cursor stays on the newest as
	// calls arrive (issue 13), as a list that follows its tail.
	p.entries = msg.entries
	p.sel = 0
	for i, e := range p.entries {
		if keep != 0 && e.ID == keep {
			p.sel = i
		}
	}
	p.clamp()
}

func (p *journalPane) clamp() {
	p.sel = min(max(p.sel, 0), max(len(p.entries)-1, 0))
	if p.sel < p.offset {
		p.offset = p.sel
	}
	if p.sel >= p.offset+p.rows() {
		p.offset = p.sel - p.rows() + 1
	}
	p.offset = max(0, min(p.offset, len(p.entries)-p.rows()))
}

func (p *journalPane) selected() (journal.Entry, bool) {
	if p.sel < 0 || p.sel >= len(p.entries) {
		return journal.Entry{}, false
	}
	return p.entries[p.sel], true
}

// step moves the filter by d and reports that the list must be reloaded.
func (p *journalPane) step(d int) {
	n := len(journalFilters)
	p.filter = ((p.filter+d)%n + n) % n
	p.entries, p.sel, p.offset, p.loaded, p.err = nil, 0, 0, false, nil
}

// move scrolls the selection.
func (p *journalPane) move(n int) {
	p.sel += n
	p.clamp()
}

// View draws the title with the filters, a column line and the rows in view.
func (p *journalPane) View() string {
	var b strings.Builder
	var tabs []string
	for i, f := range journalFilters {
		if i == p.filter {
			tabs = append(tabs, p.st.Selected.Render("["+f.name+"]"))
		} else {
			tabs = append(tabs, p.st.Dim.Render(" "+f.name+" "))
		}
	}
	count := ""
	if p.loaded && p.err == nil {
		count = p.st.Dim.Render(fmt.Sprintf("  %s", plural(len(p.entries), "call")))
	}
	b.WriteString(fitLine(p.st.Title.Render("Journal")+" "+strings.Join(tabs, "")+count, p.w))
	switch {
	case p.err != nil:
		b.WriteString("\n" + p.st.Error.Render(fitLine("  "+errText(p.err), p.w)))
		return b.String()
	case !p.loaded:
		b.WriteString("\n" + p.st.Dim.Render("  loading…"))
		return b.String()
	case len(p.entries) == 0:
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  no calls here", p.w)))
		return b.String()
	}
	wide := p.w >= 100 || p.anyWhy()
	head := fmt.Sprintf("    %-11s   %-*s %-18s %5s", "when", p.peerWidth(wide), "who", "outcome", "dur")
	if wide {
		head += " why"
	}
	b.WriteString("\n" + p.st.Dim.Render(fitLine(head, p.w)))
	end := min(len(p.entries), p.offset+p.rows())
	for i := p.offset; i < end; i++ {
		b.WriteString("\n" + p.row(i, wide))
	}
	return b.String()
}

// peerWidth is the width of the "who" column.
func (p *journalPane) peerWidth(wide bool) int {
	fixed := 4 + 11 + 3 + 1 + 18 + 6
	if wide {
		return max((p.w-fixed)/2, 12)
	}
	return max(p.w-fixed, 12)
}

func (p *journalPane) row(i int, wide bool) string {
	e := p.entries[i]
	cursor := "  "
	if i == p.sel {
		cursor = "▸ "
	}
	unread := " "
	if e.Missed && !e.Read {
		unread = "●"
	}
	arrow := "→"
	if e.Direction == api.Incoming {
		arrow = "←"
	}
	who := e.Remote.Name
	num := e.Remote.Number
	if num == "" {
		num = strings.TrimPrefix(strings.TrimPrefix(e.Remote.URI, "sip:"), "sips:")
	}
	switch {
	case who == "":
		who = num
	case num != "" && num != who:
		who += " " + num
	}
	pw := p.peerWidth(wide)
	who = ansi.Truncate(who, pw, "…")
	outcome := e.Outcome.String()
	if e.Code >= 300 && e.Outcome != journal.OutcomeAnsweredElsewhere {
		outcome += fmt.Sprintf(" %d", e.Code)
	}
	line := fmt.Sprintf("%s%s %s %s %-*s %-18s %5s", cursor, unread, p.when(e.Started), arrow, pw, who, ansi.Truncate(outcome, 18, "…"), talkTime(e))
	if why := whyOf(e); wide && why != "" {
		line += " " + why
	}
	line = fitLine(line, p.w)
	switch {
	case i == p.sel:
		return p.st.Selected.Render(line)
	case e.Missed && !e.Read:
		return p.st.Mark.Render(line)
	case e.Missed:
		return p.st.Incoming.UnsetBold().Render(line)
	}
	return line
}

// anyWhy reports whether a loaded row has a why to show: then the column
// is shown at every width.
func (p *journalPane) anyWhy() bool {
	for _, e := range p.entries {
		if whyOf(e) != "" {
			return true
		}
	}
	return false
}

// whyOf is the journal's why (journal.Entry.Why: secondary call, where a
// transferred call went, the note).
func whyOf(e journal.Entry) string { return e.Why() }

// talkTime is how long an answered call was talked, "1:05" or "1:02:03";
// "" for a call never answered.
func talkTime(e journal.Entry) string {
	if e.Answered.IsZero() || e.Ended.Before(e.Answered) {
		return ""
	}
	d := e.Ended.Sub(e.Answered).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// when formats a start time as "03-04 10:00" in the pane's location.
func (p *journalPane) when(t time.Time) string {
	if t.IsZero() {
		return strings.Repeat(" ", 11)
	}
	return t.In(p.loc).Format("01-02 15:04")
}

func (p *journalPane) ShortHelp() []key.Binding {
	return []key.Binding{p.km.NextFilter, p.km.CallBack, p.km.MarkRead, p.km.MarkAllRead, p.km.Cancel}
}

func (p *journalPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.km.Up, p.km.Down, p.km.PageUp, p.km.PageDown}, p.ShortHelp()}
}

// openJournal shows the journal pane and loads its rows.
func (m *Model) openJournal() tea.Cmd {
	j, ok := m.ctl.(Journaler)
	if !ok {
		m.notice.set(api.NoticeInfo, "no journal: "+ErrNotAvailable.Error())
		return nil
	}
	m.mode = modeJournal
	return journalCmd(j, m.opts.CommandTimeout, m.journal.filter, false)
}

// journalKey handles a key in the journal pane.
func (m *Model) journalKey(msg tea.KeyPressMsg) tea.Cmd {
	j := m.ctl.(Journaler) // the pane only opens with a Journaler
	p := &m.journal
	d := m.opts.CommandTimeout
	switch {
	case key.Matches(msg, m.km.Cancel, m.km.Journal, m.km.Quit):
		m.mode = modeCalls
	case key.Matches(msg, m.km.NextFilter):
		p.step(1)
		return journalCmd(j, d, p.filter, false)
	case key.Matches(msg, m.km.PrevFilter):
		p.step(-1)
		return journalCmd(j, d, p.filter, false)
	case key.Matches(msg, m.km.Up):
		p.move(-1)
	case key.Matches(msg, m.km.Down):
		p.move(1)
	case key.Matches(msg, m.km.PageUp):
		p.move(-p.rows())
	case key.Matches(msg, m.km.PageDown):
		p.move(p.rows())
	case key.Matches(msg, m.km.CallBack):
		e, ok := p.selected()
		if !ok {
			return nil
		}
		to := e.CallBack()
		if to == "" {
			m.notice.set(api.NoticeInfo, "this call has no number or address to call back")
			return nil
		}
		m.mode = modeCalls
		cmds := []tea.Cmd{m.dialCmd(to)}
		if e.Missed && !e.Read {
			cmds = append(cmds, journalCmd(j, d, p.filter, false, e.ID))
		}
		return tea.Batch(cmds...)
	case key.Matches(msg, m.km.MarkRead):
		if e, ok := p.selected(); ok && e.Missed && !e.Read {
			return journalCmd(j, d, p.filter, false, e.ID)
		}
	case key.Matches(msg, m.km.MarkAllRead):
		return journalCmd(j, d, p.filter, true)
	}
	return nil
}
