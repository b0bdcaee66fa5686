package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
)

// TestDialogList (issue 13): L lists every SIP dialog like sngrep's call
// list: the calls this session saw (an ended one too) and the dialogs no
// call owns (REGISTER, OPTIONS) from cti, newest first; enter opens the
// selected one's ladder, esc goes back to the list, esc again to the
// calls. l without a call opens the list too.
func TestDialogList(t *testing.T) {
	f := newFake()
	f.ladder = ladderFixture()
	f.dlgs = []cti.Dialog{
		{SIPCallID: "reg-1", Method: "REGISTER", Peer: "127.0.0.1:5060", Messages: 6, Last: base.Add(70 * time.Second)},
		{SIPCallID: "opt-1", Method: "OPTIONS", Peer: "127.0.0.1:5060", Messages: 2, Last: base.Add(10 * time.Second)},
	}
	act := call("c1", cti.Outgoing, cti.CallActive, "echo", "echo", 0, 3)
	m := newTestModel(t, f, 100, 30, act)
	ended := call("c2", cti.Incoming, cti.CallEnded, "Bob", "bob", 20, 0)
	ended.End = &cti.EndInfo{Cause: 3, Code: 486, Reason: "Busy Here"}
	m.Update(cti.CallChanged{Call: ended})
	view := func() string { return ansi.Strip(m.View().Content) }

	press(m, "L")
	v := view()
	if m.mode != modeDialogs || !strings.Contains(v, "SIP dialogs (4)") {
		t.Fatalf("L: mode %v, view:\n%s", m.mode, v)
	}
	for _, want := range []string{"c1 active", "c2 ended 486 Busy Here", "REGISTER", "OPTIONS"} {
		if !strings.Contains(v, want) {
			t.Errorf("dialog list lacks %q:\n%s", want, v)
		}
	}
	lines := strings.Split(v, "\n")
	idx := func(s string) int {
		return slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, s) })
	}
	if !(idx("REGISTER") < idx("OPTIONS")) {
		t.Errorf("REGISTER (newer) listed after OPTIONS:\n%s", v)
	}

	// Pick the REGISTER dialog: its ladder is read by SIP Call-ID.
	for range 4 {
		if r, _ := m.dialogs.selected(); r.method == "REGISTER" {
			break
		}
		press(m, "down")
	}
	press(m, "enter")
	if m.mode != modeLadder || m.ladder.id != "reg-1" || !slices.Contains(f.calls(), "ladder reg-1") {
		t.Fatalf("enter: mode %v ladder %q, asked %v", m.mode, m.ladder.id, f.calls())
	}
	press(m, "esc")
	if m.mode != modeDialogs {
		t.Fatalf("esc in a ladder picked from the list: mode %v, want the list", m.mode)
	}
	press(m, "esc")
	if m.mode != modeCalls {
		t.Fatalf("esc in the list: mode %v, want the calls", m.mode)
	}

	// A ladder opened from the calls goes back to the calls.
	press(m, "l", "esc")
	if m.mode != modeCalls {
		t.Errorf("l, esc: mode %v, want the calls", m.mode)
	}
	// :dialogs opens the list too.
	press(m, ":")
	typeText(m, "dialogs")
	press(m, "enter")
	if m.mode != modeDialogs {
		t.Errorf(":dialogs: mode %v", m.mode)
	}
}

// TestDialogListWithoutCall: l with no call selected opens the dialog
// list instead of saying "no call selected".
func TestDialogListWithoutCall(t *testing.T) {
	f := newFake()
	f.dlgs = []cti.Dialog{{SIPCallID: "reg-1", Method: "REGISTER", Peer: "127.0.0.1:5060", Messages: 2, Last: base}}
	m := newTestModel(t, f, 100, 30)
	press(m, "l")
	if v := ansi.Strip(m.View().Content); m.mode != modeDialogs || !strings.Contains(v, "REGISTER") {
		t.Fatalf("l without a call: mode %v\n%s", m.mode, v)
	}
}

// TestDialogListRefreshes: the open list is read again every second (a
// keepalive OPTIONS or a registration refresh adds messages, no event says
// so).
func TestDialogListRefreshes(t *testing.T) {
	f := newFake()
	f.dlgs = []cti.Dialog{{SIPCallID: "opt-1", Method: "OPTIONS", Peer: "127.0.0.1:5060", Messages: 2, Last: base}}
	m := newTestModel(t, f, 100, 30)
	press(m, "L")
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "2 messages") {
		t.Fatalf("list:\n%s", v)
	}
	f.mu.Lock()
	f.dlgs = []cti.Dialog{{SIPCallID: "opt-1", Method: "OPTIONS", Peer: "127.0.0.1:5060", Messages: 4, Last: base.Add(30 * time.Second)}}
	f.mu.Unlock()
	_, cmd := m.Update(tickMsg(base.Add(31 * time.Second)))
	for _, msg := range run(cmd) {
		m.Update(msg)
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "4 messages") {
		t.Errorf("list after a tick:\n%s", v)
	}
}
