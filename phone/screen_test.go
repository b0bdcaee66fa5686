package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestScreening(t *testing.T) {
	tests := []struct {
		name      string
		screen    phone.Screening
		wantEnd   phone.EndInfo // at the caller
		calleeEnd phone.EndCause
	}{
		{"busy", phone.Screening{Action: phone.ScreenReject, Code: 486, Rule: "busy-policy"},
			phone.EndInfo{Cause: phone.EndRejected, Code: 486, Q850: 17}, phone.EndRejected},
		{"unavailable", phone.Screening{Action: phone.ScreenReject, Code: 480, Rule: "dnd"},
			phone.EndInfo{Cause: phone.EndRejected, Code: 480, Q850: 18}, phone.EndRejected},
		{"voicemail", phone.Screening{Action: phone.ScreenRedirect, Target: "sip:vm@127.0.0.1:5999", Rule: "voicemail",
			Headers: [][2]string{{"Diversion", "<sip:bob@127.0.0.1>;reason=user-busy"}}},
			phone.EndInfo{Cause: phone.EndRejected, Code: 302}, phone.EndRejected},
		{"no answer then 480", phone.Screening{Action: phone.ScreenRing, Rule: "ring", NoAnswer: 300 * time.Millisecond,
			NoAnswerThen: &phone.Screening{Action: phone.ScreenReject, Code: 480, Rule: "no-answer"}},
			phone.EndInfo{Cause: phone.EndRejected, Code: 480, Q850: 18}, phone.EndTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob", Screen: func(phone.CallInfo) phone.Screening { return tc.screen }})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			end := a.Events.WaitState(t, id, phone.CallEnded).End
			if end == nil || end.Cause != tc.wantEnd.Cause || end.Code != tc.wantEnd.Code || end.Q850 != tc.wantEnd.Q850 {
				t.Errorf("caller end = %+v, want %+v", end, tc.wantEnd)
			}
			bend := b.Events.WaitState(t, "", phone.CallEnded)
			if bend.End == nil || bend.End.Cause != tc.calleeEnd || bend.Rule == "" {
				t.Errorf("callee end = %+v rule %q, want cause %s and a rule", bend.End, bend.Rule, tc.calleeEnd)
			}
		})
	}
}
