package cti

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// TestJournalCodec: a desk call journals its codec; a session the relay
// transcoded journals the device leg's and the remote leg's.
func TestJournalCodec(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	ci := phone.CallInfo{ID: "c1", Direction: phone.Outgoing, Created: t0, Answered: t0, Ended: t0.Add(time.Minute), Codec: "G722"}
	if e := entryFor(ci, "alice", "", "", ""); e.Codec != "G722" {
		t.Errorf("desk call codec %q, want G722", e.Codec)
	}
	for _, tc := range []struct{ dev, rem, want string }{
		{"opus", "PCMU", "opus/PCMU"},
		{"PCMA", "PCMA", "PCMA"},
		{"", "PCMU", "PCMU"},
	} {
		s := anydevice.SessionInfo{
			ID: "s1", User: "alice", Kind: anydevice.KindCallback, Created: t0, Answered: t0, Ended: t0.Add(time.Minute), Device: "mobile",
			Legs: []anydevice.LegInfo{
				{Role: "device", Device: "mobile", Call: phone.CallInfo{Codec: tc.dev}},
				{Role: "remote", Call: phone.CallInfo{SIPCallID: "x@y", Codec: tc.rem}},
			},
		}
		if got := sessionEntry(s).Codec; got != tc.want {
			t.Errorf("legs %q/%q: session codec %q, want %q", tc.dev, tc.rem, got, tc.want)
		}
	}
}
