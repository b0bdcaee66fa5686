package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
)

// TestLadderFilter (issue 13): "/" in the ladder opens a search line that
// narrows the messages to those whose summary or raw text contains the
// text, case-insensitively; enter keeps the filter, esc clears it; the
// title shows "n of m messages" and the filter.
func TestLadderFilter(t *testing.T) {
	f := newFake()
	f.ladder = ladderFixture()
	act := call("c1", cti.Outgoing, cti.CallActive, "echo", "echo", 0, 3)
	m := newTestModel(t, f, 100, 30, act)
	press(m, "l")
	if m.mode != modeLadder {
		t.Fatalf("mode %v, want the ladder", m.mode)
	}
	view := func() string { return ansi.Strip(m.View().Content) }
	if v := view(); !strings.Contains(v, "(8 messages)") {
		t.Fatalf("ladder view:\n%s", v)
	}
	press(m, "/")
	typeText(m, "qwl") // typed into the line: no quit, no pcap, no leaving
	if v := view(); m.mode != modeLadder || !strings.Contains(v, "0 of 8 messages, /qwl") {
		t.Fatalf("mode %v after typing qwl:\n%s", m.mode, v)
	}
	press(m, "backspace", "backspace", "backspace")
	typeText(m, "Ack")
	if v := view(); !strings.Contains(v, "2 of 8 messages, /Ack") || strings.Contains(v, "INVITE ─") || !strings.Contains(v, "ACK") {
		t.Fatalf("while typing:\n%s", v)
	}
	press(m, "backspace", "backspace", "backspace")
	typeText(m, "2 invite") // in the raw text: the re-INVITE and its 200 (CSeq 2 INVITE)
	if v := view(); !strings.Contains(v, `2 of 8 messages`) {
		t.Fatalf("raw text filter:\n%s", v)
	}
	press(m, "enter")
	if v := view(); !strings.Contains(v, `(2 of 8 messages, filter "2 invite")`) {
		t.Fatalf("kept filter:\n%s", v)
	}
	// keys work on the filtered list again: enter shows the raw message
	press(m, "enter")
	if v := view(); !strings.Contains(v, "CSeq: 2 INVITE") {
		t.Fatalf("raw of a filtered message:\n%s", v)
	}
	press(m, "esc") // closes the raw message, the filter stays
	if v := view(); !strings.Contains(v, `filter "2 invite"`) {
		t.Fatalf("after closing the raw message:\n%s", v)
	}
	press(m, "esc") // clears the kept filter
	if v := view(); !strings.Contains(v, "(8 messages)") || m.mode != modeLadder {
		t.Fatalf("esc on a kept filter (mode %v):\n%s", m.mode, v)
	}
	press(m, "/")
	typeText(m, "quux")
	if v := view(); !strings.Contains(v, "0 of 8 messages") || !strings.Contains(v, `no message matches "quux"`) {
		t.Fatalf("no match:\n%s", v)
	}
	press(m, "esc") // clears the filter being typed
	if v := view(); !strings.Contains(v, "(8 messages)") || m.mode != modeLadder {
		t.Fatalf("after esc (mode %v):\n%s", m.mode, v)
	}
	// a kept filter: esc clears it first, a second esc leaves the ladder
	press(m, "/")
	typeText(m, "ok")
	press(m, "enter", "esc")
	if v := view(); !strings.Contains(v, "(8 messages)") || m.mode != modeLadder {
		t.Fatalf("esc on a kept filter (mode %v):\n%s", m.mode, v)
	}
	press(m, "esc")
	if m.mode != modeCalls {
		t.Fatalf("mode %v after esc, want the calls", m.mode)
	}
}
