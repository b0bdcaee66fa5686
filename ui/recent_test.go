package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/journal"
)

// initModel runs m.Init and feeds its messages back (the journal's
// unread count and recent numbers).
func initModel(m *Model) {
	for _, msg := range run(m.Init()) {
		switch msg.(type) {
		case feedClosedMsg, tea.BackgroundColorMsg:
			continue
		}
		m.Update(msg)
	}
}

// TestDialCompletesFromJournal: the dial line completes the numbers and
// URIs of recent calls, most recent first, before the contacts.
func TestDialCompletesFromJournal(t *testing.T) {
	at := func(min int) time.Time { return base.Add(-time.Duration(min) * time.Minute) }
	entries := []journal.Entry{
		{ID: 4, Direction: cti.Outgoing, Remote: journal.Identity{URI: "sip:zed@127.0.0.1:5070"}, Started: at(1)},
		{ID: 3, Direction: cti.Incoming, Remote: journal.Identity{Name: "Alice", Number: "+4930111", URI: "sip:+4930111@pbx.test"}, Started: at(5)},
		{ID: 2, Direction: cti.Outgoing, Remote: journal.Identity{URI: "sip:zed@127.0.0.1:5070"}, Started: at(9)},
		{ID: 1, Direction: cti.Incoming, Remote: journal.Identity{Number: "+4930122"}, Started: at(60)},
	}
	tests := []struct {
		name     string
		typed    string
		wantSugg string // the suggestion shown
		wantDial string // what enter after tab dials
	}{
		{"most recent number first", "+4930", "+4930111", "dial +4930111"},
		{"recent URI before the contacts' URIs", "sip:", "sip:zed@127.0.0.1:5070", "dial sip:zed@127.0.0.1:5070"},
		{"contacts still complete", "to", "tone", "dial sip:tone@127.0.0.1:5064"},
		{"older number", "+49301", "+4930111", "dial +4930111"},
		{"another older number", "+493012", "+4930122", "dial +4930122"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.entries = entries
			m := newTestModel(t, f, 100, 30)
			initModel(m)
			if want := []string{"sip:zed@127.0.0.1:5070", "+4930111", "+4930122"}; !slices.Equal(m.dial.recent, want) {
				t.Fatalf("%s: recent %q, want %q", tt.name, m.dial.recent, want)
			}
			press(m, "d")
			typeText(m, tt.typed)
			if got := m.dial.in.CurrentSuggestion(); got != tt.wantSugg {
				t.Errorf("%s: suggestion %q, want %q", tt.name, got, tt.wantSugg)
			}
			press(m, "tab", "enter")
			if log := f.calls(); !slices.Contains(log, tt.wantDial) {
				t.Errorf("%s: calls %q, want %q", tt.name, log, tt.wantDial)
			}
		})
	}
}

// TestJournalChangedRefreshesRecent: a newly recorded call completes at
// once.
func TestJournalChangedRefreshesRecent(t *testing.T) {
	f := newFake()
	m := newTestModel(t, f, 100, 30)
	initModel(m)
	if len(m.dial.recent) != 0 {
		t.Fatalf("recent %q before any call", m.dial.recent)
	}
	e := journal.Entry{ID: 1, Direction: cti.Outgoing, Remote: journal.Identity{URI: "sip:new@127.0.0.1:5071"}, Started: base}
	f.mu.Lock()
	f.entries = []journal.Entry{e}
	f.mu.Unlock()
	_, cmd := m.Update(cti.JournalChanged{Entry: e})
	for _, msg := range run(cmd) {
		if _, ok := msg.(feedClosedMsg); !ok {
			m.Update(msg)
		}
	}
	if !slices.Equal(m.dial.recent, []string{"sip:new@127.0.0.1:5071"}) {
		t.Errorf("recent %q after JournalChanged", m.dial.recent)
	}
}

// TestDeviceEdit: E on a device opens its number or URI for editing over
// the devices pane; enter sets it and the pane shows it; esc leaves it.
func TestDeviceEdit(t *testing.T) {
	tests := []struct {
		name      string
		keys      []string // after D
		typed     string
		end       []string
		wantLog   []string
		wantMode  mode
		wantShown string // in the devices pane afterwards
	}{
		{"edit the mobile", []string{"down", "E"}, "sip:mobile@127.0.0.1:5080", []string{"enter"},
			[]string{"set-target mobile sip:mobile@127.0.0.1:5080"}, modeDevices, "sip:mobile@127.0.0.1:5080"},
		{"esc keeps it", []string{"down", "E"}, "sip:x@127.0.0.1", []string{"esc"}, nil, modeDevices, "+4917012345"},
		{"desk is not editable", []string{"E"}, "", nil, nil, modeDevices, "sip:me@127.0.0.1:5060"},
		{"empty keeps it", []string{"down", "E"}, "", []string{"enter"}, nil, modeDevices, "+4917012345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.withDevices()
			m := newTestModel(t, f, 100, 30)
			press(m, "D")
			press(m, tt.keys...)
			if m.mode == modePrompt {
				if !strings.Contains(ansi.Strip(m.Render()), "mobile number or URI› +4917012345") ||
					!strings.Contains(ansi.Strip(m.Render()), "Devices") {
					t.Fatalf("%s: the editor over the devices pane is not shown:\n%s", tt.name, ansi.Strip(m.Render()))
				}
				for range len("+4917012345") {
					press(m, "backspace")
				}
				typeText(m, tt.typed)
			}
			press(m, tt.end...)
			if log := f.calls(); !slices.Equal(log, tt.wantLog) {
				t.Errorf("%s: calls %q, want %q", tt.name, log, tt.wantLog)
			}
			if m.mode != tt.wantMode {
				t.Errorf("%s: mode %d, want %d", tt.name, m.mode, tt.wantMode)
			}
			if out := ansi.Strip(m.Render()); !strings.Contains(out, tt.wantShown) {
				t.Errorf("%s: the pane does not show %q:\n%s", tt.name, tt.wantShown, out)
			}
		})
	}
}

// TestDeviceEditOff: without a DeviceEditor the edit key does nothing.
func TestDeviceEditOff(t *testing.T) {
	f := newFake()
	f.withDevices()
	m := New(noEditCtl{f}, Options{NoBell: true, NoColor: true})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	press(m, "D", "down", "E")
	if m.mode != modeDevices || m.km.Edit.Enabled() {
		t.Errorf("mode %d, edit enabled %v; want the devices pane, edit off", m.mode, m.km.Edit.Enabled())
	}
}
