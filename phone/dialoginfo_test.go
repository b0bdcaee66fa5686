package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/phone/vocab"
)

func TestDialogInfoRoundTrip(t *testing.T) {
	in := vocab.PresenceInfo{Entity: "sip:bob@example.com", Dialogs: []vocab.DialogState{
		{ID: "c1", CallID: "abc@h", RemoteTag: "rt", Direction: vocab.Incoming, State: vocab.PhaseEarly,
			Local: vocab.Party{URI: "sip:bob@example.com"}, Remote: vocab.Party{DisplayName: "Alice & Co", URI: "sip:alice@example.com"},
			RemoteTarget: "sip:alice@192.0.2.7:5070;transport=udp"},
		{ID: "c2", Direction: vocab.Outgoing, State: vocab.PhaseConfirmed, Remote: vocab.Party{URI: "sip:carol@example.com"},
			Local: vocab.Party{URI: "sip:bob@example.com"}, Device: "mobile", Held: true},
		{ID: "c3", Direction: vocab.Outgoing, State: vocab.PhaseConfirmed, Remote: vocab.Party{URI: "sip:dave@example.com"},
			Local: vocab.Party{URI: "sip:bob@example.com"}, Conference: true},
	}}
	b, err := MarshalDialogInfo(in, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`version="7"`, `state="full"`, `direction="recipient"`, `direction="initiator"`, `<state>early</state>`, `Alice &amp; Co`,
		`<param pname="+sip.rendering" pval="no"></param>`, `<param pname="isfocus" pval="true"></param>`, `<target uri="sip:alice@192.0.2.7:5070;transport=udp">`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("document lacks %q:\n%s", want, b)
		}
	}
	got, v, full, err := ParseDialogInfo(b)
	if err != nil || v != 7 || !full {
		t.Fatalf("parse: %v version %d full %v", err, v, full)
	}
	if got.Entity != in.Entity || len(got.Dialogs) != len(in.Dialogs) {
		t.Fatalf("parsed %+v", got)
	}
	for i := range in.Dialogs {
		w, g := in.Dialogs[i], got.Dialogs[i]
		if g.ID != w.ID || g.CallID != w.CallID || g.RemoteTag != w.RemoteTag || g.Direction != w.Direction || g.State != w.State || g.Remote != w.Remote || g.Device != w.Device ||
			g.Held != w.Held || g.Conference != w.Conference || g.RemoteTarget != w.RemoteTarget {
			t.Errorf("dialog %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestParseDialogInfoRefuses(t *testing.T) {
	const ns = `xmlns="urn:ietf:params:xml:ns:dialog-info"`
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"not xml", "hello"},
		{"other namespace", `<dialog-info xmlns="urn:x" version="0" state="full" entity="sip:a@b"/>`},
		{"no entity", `<dialog-info ` + ns + ` version="0" state="full"/>`},
		{"bad state", `<dialog-info ` + ns + ` version="0" state="full" entity="sip:a@b"><dialog id="1"><state>busy</state></dialog></dialog-info>`},
		{"no id", `<dialog-info ` + ns + ` version="0" state="full" entity="sip:a@b"><dialog><state>early</state></dialog></dialog-info>`},
		{"bad version", `<dialog-info ` + ns + ` version="-1" state="full" entity="sip:a@b"/>`},
		{"too big", `<dialog-info ` + ns + ` version="0" state="full" entity="sip:a@b">` + strings.Repeat(" ", maxDialogInfo) + `</dialog-info>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParseDialogInfo([]byte(tc.body))
			var de *DialogInfoError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DialogInfoError", err)
			}
		})
	}
}

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		s    CallState
		want vocab.DialogPhase
	}{
		{CallIdle, vocab.PhaseUnknown}, {CallDialing, vocab.PhaseTrying}, {CallRinging, vocab.PhaseEarly},
		{CallEarly, vocab.PhaseEarly}, {CallIncoming, vocab.PhaseEarly}, {CallAnswering, vocab.PhaseConfirmed},
		{CallActive, vocab.PhaseConfirmed}, {CallEnding, vocab.PhaseTerminated}, {CallEnded, vocab.PhaseTerminated},
	}
	for _, tc := range tests {
		if got := vocab.PhaseOf(tc.s); got != tc.want {
			t.Errorf("PhaseOf(%s) = %s, want %s", tc.s, got, tc.want)
		}
	}
}
