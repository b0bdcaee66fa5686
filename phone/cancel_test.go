package phone_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestHangupWithReason(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    bool // the callee answers before we hang up
		reason    string
		wantCause phone.EndCause // at the callee
		wantWire  string         // in the callee's trace
	}{
		{"cancel answered elsewhere", false, phone.ReasonCompletedElsewhere, phone.EndAnsweredElsewhere, "Reason: SIP;cause=200"},
		{"cancel other reason", false, `SIP;cause=480;text="Gone"`, phone.EndCallerCancelled, "Reason: SIP;cause=480"},
		{"bye with reason", true, `Q.850;cause=16;text="Normal call clearing"`, phone.EndRemoteHangup, "Reason: Q.850;cause=16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "b.trace")
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob", TraceFile: trace})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a.Events.WaitState(t, id, phone.CallRinging)
			in := b.Events.WaitState(t, "", phone.CallIncoming)
			if tc.answer {
				if err := b.Answer(in.ID); err != nil {
					t.Fatal(err)
				}
				a.Events.WaitState(t, id, phone.CallActive)
				b.Events.WaitState(t, in.ID, phone.CallActive)
			}
			if err := a.HangupWithReason(id, tc.reason); err != nil {
				t.Fatalf("%s: HangupWithReason: %v", tc.name, err)
			}
			end := b.Events.WaitState(t, in.ID, phone.CallEnded)
			if end.End == nil || end.End.Cause != tc.wantCause {
				t.Errorf("%s: callee end = %+v, want cause %s", tc.name, end.End, tc.wantCause)
			}
			mine := a.Events.WaitState(t, id, phone.CallEnded)
			if mine.End == nil || mine.End.Cause != phone.EndLocalHangup {
				t.Errorf("%s: caller end = %+v, want local-hangup", tc.name, mine.End)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				raw, _ := os.ReadFile(trace)
				if strings.Contains(string(raw), tc.wantWire) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: callee trace lacks %q:\n%s", tc.name, tc.wantWire, raw)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestHangupWithReasonNoSuchCall(t *testing.T) {
	a := phonetest.NewPhone(t, 0, nil)
	if err := a.HangupWithReason("nope", phone.ReasonCompletedElsewhere); err != phone.ErrNoSuchCall {
		t.Fatalf("err = %v, want ErrNoSuchCall", err)
	}
}
