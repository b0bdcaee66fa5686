package cti

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// TestJournalTransferredAndWhy (issue 13): a call answered and then
// transferred is journaled as transferred, with where it went; a follow-me
// call at the controller carries why it came, as the desk's do.
func TestJournalTransferredAndWhy(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	ci := phone.CallInfo{
		ID: "c1", Direction: phone.Outgoing, Created: t0, Answered: t0.Add(time.Second), Ended: t0.Add(time.Minute),
		Remote: phone.Party{URI: "sip:bob@127.0.0.1"},
		End:    &phone.EndInfo{Cause: phone.EndTransferred, Code: 202, Text: "transferred to sip:carol@127.0.0.1"},
	}
	e := entryFor(ci, "alice", "", "", "")
	if e.Outcome != journal.OutcomeTransferred || e.Phrase != "transferred to sip:carol@127.0.0.1" {
		t.Errorf("transferred call journaled as %v %q", e.Outcome, e.Phrase)
	}

	s := anydevice.SessionInfo{
		ID: "s1", User: "alice", Kind: anydevice.KindFollowMe, Created: t0, Answered: t0.Add(time.Second), Ended: t0.Add(time.Minute),
		Device: "mobile", Transferred: true,
		Legs: []anydevice.LegInfo{{Role: "remote", Call: phone.CallInfo{
			Direction: phone.Incoming, SIPCallID: "x@y",
			Local:   phone.Party{URI: "sip:alice@127.0.0.1", User: "alice"},
			Remote:  phone.Party{URI: "sip:dave@127.0.0.1", User: "dave"},
			Headers: map[string][]string{"Diversion": {"<sip:bob@127.0.0.1>;reason=no-answer"}},
		}}},
	}
	se := sessionEntry(s)
	if se.SecondaryText == "" || se.Secondary == phone.SecondaryNone {
		t.Errorf("follow-me call forwarded to us: why = %q (%v), want it described", se.SecondaryText, se.Secondary)
	}
	if se.Outcome != journal.OutcomeTransferred {
		t.Errorf("session outcome %v, want transferred", se.Outcome)
	}
}
