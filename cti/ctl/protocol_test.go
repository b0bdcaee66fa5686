package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// unknownEvent is a cti.Event that MarshalEvent does not know.
type unknownEvent struct{ cti.Lagged }

func TestMarshalEventGolden(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	events := []cti.Event{
		cti.CallChanged{Call: cti.CallInfo{
			ID: "c1", SIPCallID: "abc@127.0.0.1", Direction: cti.Outgoing, State: cti.CallActive,
			Local:   cti.Party{URI: "sip:me@127.0.0.1", User: "me"},
			Remote:  cti.Party{DisplayName: "Bob", URI: "sip:bob@127.0.0.1:5070", User: "bob"},
			Codec:   "PCMU",
			Created: at, Answered: at.Add(2 * time.Second),
		}},
		cti.CallChanged{Call: cti.CallInfo{
			ID: "c2", Direction: cti.Incoming, State: cti.CallEnded,
			Remote:  cti.Party{URI: "sip:alice@127.0.0.1"},
			Created: at, Ended: at.Add(time.Second),
			End: &cti.EndInfo{Cause: cti.EndCause(3) /* rejected: cti has no constant */, Code: 486, Reason: "Busy Here"},
		}},
		cti.DTMFReceived{CallID: "c1", Digit: "5"},
		cti.MediaTimeout{CallID: "c1", Seconds: 30},
		cti.RegistrationChanged{Reg: cti.RegInfo{AOR: "sip:me@127.0.0.1", Registrar: "sip:127.0.0.1:5099", State: cti.RegRegistered, Expires: at.Add(10 * time.Minute), Code: 200}},
		cti.Notice{Level: cti.NoticeWarn, Text: "no sound card: using null audio"},
		cti.Lagged{Dropped: 3},
		cti.TransferProgress{CallID: "c1", Target: "sip:carol@127.0.0.1", Code: 200, Reason: "OK", Final: true, OK: true},
		cti.RequestOutcome{CallID: "c1", Method: "BYE", Peer: "127.0.0.1:5070", Outcome: "timed_out", Reason: "no answer", Seconds: 32.5, Text: "BYE: timed out after 32 s"},
		cti.ReferReceived{CallID: "c1", ReferredBy: "sip:bob@127.0.0.1", Target: "sip:carol@127.0.0.1", Pending: true},
		cti.InitialHoldResult{CallID: "c3", Dialect: cti.HoldInactive, Tried: []cti.HoldDialect{cti.HoldSendonly, cti.HoldInactive}, OK: true},
		cti.PolicyDecision{CallID: "c4", Decision: busy.Decision{Action: busy.Busy, Rule: busy.RuleBusy, Code: 486, Phrase: "Busy Here"}},
		cti.PolicyChanged{Policy: busy.Policy{DND: true}},
		cti.JournalChanged{Entry: journal.Entry{ID: 7, User: "me", Key: "k", Started: at}, UnreadMissed: 2},
		cti.CallbackPlaced{To: "sip:bob@127.0.0.1:5070", Device: "mobile", Session: "s1"},
		cti.DevicesChanged{Active: []string{"mobile"}, Devices: []cti.DeviceInfo{{Name: "desk", Target: "sip:me@127.0.0.1", Local: true}, {Name: "mobile", Target: "+4917012345"}}},
		cti.MessageWaiting{MWI: cti.MessageSummary{Waiting: true, Account: "sip:me@127.0.0.1", New: 2, Old: 8, NewUrgent: 1, Voicemail: "sip:*97@127.0.0.1", Subscription: "active", Updated: at}},
		cti.PresenceChanged{Watch: api.Watch{Target: "sip:alice@127.0.0.1", State: api.WatchActive, Updated: at, Info: api.PresenceInfo{
			Entity: "sip:alice@127.0.0.1", Dialogs: []api.DialogState{{ID: "c7", CallID: "xyz@127.0.0.1", RemoteTag: "t1",
				Direction: cti.Incoming, State: api.PhaseEarly, Remote: cti.Party{URI: "sip:carol@127.0.0.1"}}}}}},
	}
	var out bytes.Buffer
	for i, ev := range events {
		b, err := MarshalEvent(ev, at)
		if err != nil {
			t.Fatalf("event %d (%T): %v", i, ev, err)
		}
		if !json.Valid(b) {
			t.Fatalf("event %d (%T): invalid JSON %s", i, ev, b)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	golden.RequireEqual(t, out.Bytes())

	if _, err := MarshalEvent(unknownEvent{}, at); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("MarshalEvent(unknown) error = %v, want ErrUnknownEvent", err)
	}
}

func TestEncodeEvent(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		fields  any
		want    string
		wantErr bool
	}{
		{"nil fields", nil, `{"event":"ready","time":"2025-03-01T12:00:00Z"}`, false},
		{"empty map", map[string]any{}, `{"event":"ready","time":"2025-03-01T12:00:00Z"}`, false},
		{"map sorted", map[string]any{"uri": "sip:x@127.0.0.1:5", "addr": "127.0.0.1:5"},
			`{"event":"ready","time":"2025-03-01T12:00:00Z","addr":"127.0.0.1:5","uri":"sip:x@127.0.0.1:5"}`, false},
		{"struct", struct {
			Calls int `json:"calls"`
		}{4}, `{"event":"ready","time":"2025-03-01T12:00:00Z","calls":4}`, false},
		{"not an object", []int{1}, "", true},
		{"a string", "x", "", true},
		{"unmarshalable", map[string]any{"f": func() {}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeEvent("ready", at, tt.fields)
			if (err != nil) != tt.wantErr {
				t.Fatalf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
			}
			if string(b) != tt.want {
				t.Errorf("%s: got %s, want %s", tt.name, b, tt.want)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	ev, resp, err := decodeMessage([]byte(`{"event":"dtmf","time":"2025-03-01T12:00:00Z","call_id":"c1","digit":"5"}`))
	if err != nil || resp != nil || ev == nil || ev.Name != "dtmf" || ev.Time.IsZero() {
		t.Fatalf("event: %+v %+v %v", ev, resp, err)
	}
	var d struct {
		Digit string `json:"digit"`
	}
	if err := ev.Decode(&d); err != nil || d.Digit != "5" {
		t.Errorf("Decode = %+v, %v", d, err)
	}
	ev, resp, err = decodeMessage([]byte(`{"id":"1","ok":false,"error":{"code":"rejected","message":"m","sip_code":486}}`))
	if err != nil || ev != nil || resp == nil || resp.OK || resp.Error.SIPCode != 486 || string(resp.ID) != `"1"` {
		t.Fatalf("response: %+v %+v %v", ev, resp, err)
	}
	if _, _, err := decodeMessage([]byte(`nope`)); err == nil {
		t.Error("decodeMessage(nope) = nil error")
	}
}
