package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/journal"
)

// TestJournalFollowsNewestAndShowsTransfers (issue 13): with the cursor on
// the newest row it stays on the newest as calls arrive; a row the user
// moved to stays selected; a transferred call says so, where it went and
// how long it was talked.
func TestJournalFollowsNewestAndShowsTransfers(t *testing.T) {
	f := newFake()
	f.entries = journalFixture()
	m := newTestModel(t, f, 80, 24)
	press(m, "j")
	if e, _ := m.journal.selected(); e.ID != 5 {
		t.Fatalf("selected %d, want the newest (5)", e.ID)
	}
	at := base.Add(-time.Minute)
	xfer := journal.Entry{ID: 6, Direction: api.Outgoing, Remote: journal.Identity{Name: "Erin", URI: "sip:erin@pbx.test"},
		Started: at, Answered: at.Add(2 * time.Second), Ended: at.Add(65*time.Second + 2*time.Second),
		Outcome: journal.OutcomeTransferred, Phrase: "transferred to sip:frank@pbx.test"}
	f.mu.Lock()
	f.entries = append([]journal.Entry{xfer}, f.entries...)
	f.mu.Unlock()
	m.Update(api.JournalChanged{Entry: xfer})
	msgs := run(journalCmd(f, time.Second, m.journal.filter, false))
	for _, msg := range msgs {
		m.Update(msg)
	}
	if e, _ := m.journal.selected(); e.ID != 6 {
		t.Errorf("after a new call the cursor is on %d, want the newest (6)", e.ID)
	}
	out := ansi.Strip(m.View().Content)
	var row string
	for _, ln := range strings.Split(out, "\n") {
		if strings.Contains(ln, "Erin") {
			row = ln
		}
	}
	for _, want := range []string{"transferred", "1:05", "transferred to"} {
		if !strings.Contains(row, want) {
			t.Errorf("transferred row %q lacks %q", row, want)
		}
	}

	// moved down: the row stays selected as another call arrives
	press(m, "down", "down")
	keep, _ := m.journal.selected()
	f.mu.Lock()
	f.entries = append([]journal.Entry{{ID: 7, Direction: api.Incoming, Started: base, Outcome: journal.OutcomeMissed, Missed: true}}, f.entries...)
	f.mu.Unlock()
	for _, msg := range run(journalCmd(f, time.Second, m.journal.filter, false)) {
		m.Update(msg)
	}
	if e, _ := m.journal.selected(); e.ID != keep.ID {
		t.Errorf("the row moved to (%d) lost the cursor to %d", keep.ID, e.ID)
	}
}
