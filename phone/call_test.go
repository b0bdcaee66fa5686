package phone_test

import (
	"errors"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// answerOn answers every incoming call of p as soon as it rings.
func answerOn(t *testing.T, p *phonetest.Phone) phone.CallInfo {
	t.Helper()
	in := p.Events.WaitState(t, "", phone.CallIncoming)
	if err := p.Answer(in.ID); err != nil {
		t.Fatalf("answer %s: %v", in.ID, err)
	}
	return in
}

func TestCallToneBothWaysAndHangup(t *testing.T) {
	for _, tc := range []struct {
		name        string
		callerHangs bool
	}{
		{"caller hangs up", true},
		{"callee hangs up", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a.Events.WaitState(t, id, phone.CallRinging)
			in := answerOn(t, b)
			if in.Remote.User != "alice" {
				t.Errorf("callee sees caller %+v, want user alice", in.Remote)
			}
			active := a.Events.WaitState(t, id, phone.CallActive)
			if active.Codec != "PCMU" {
				t.Errorf("codec = %q, want PCMU", active.Codec)
			}
			b.Events.WaitState(t, in.ID, phone.CallActive)

			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			if d := b.Media.Detector(in.ID); d.Detected(1000, 0.5) {
				t.Errorf("callee hears its own 1000 Hz")
			}

			hanger, other, hid, oid := a, b, id, in.ID
			if !tc.callerHangs {
				hanger, other, hid, oid = b, a, in.ID, id
			}
			if err := hanger.Hangup(hid); err != nil {
				t.Fatal(err)
			}
			end := hanger.Events.WaitState(t, hid, phone.CallEnded)
			if end.End == nil || end.End.Cause != phone.EndLocalHangup {
				t.Errorf("hanger end = %+v, want local-hangup", end.End)
			}
			oend := other.Events.WaitState(t, oid, phone.CallEnded)
			if oend.End == nil || oend.End.Cause != phone.EndRemoteHangup {
				t.Errorf("other end = %+v, want remote-hangup", oend.End)
			}
			if len(a.Calls()) != 0 || len(b.Calls()) != 0 {
				t.Errorf("calls left: %v / %v", a.Calls(), b.Calls())
			}
		})
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	a.Events.WaitState(t, id, phone.CallRinging)
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	end := b.Events.WaitState(t, in.ID, phone.CallEnded)
	if end.End == nil || end.End.Cause != phone.EndCallerCancelled {
		t.Errorf("callee end = %+v, want caller-cancelled", end.End)
	}
	aend := a.Events.WaitState(t, id, phone.CallEnded)
	if aend.End == nil || aend.End.Cause != phone.EndLocalHangup {
		t.Errorf("caller end = %+v, want local-hangup", aend.End)
	}
}

func TestRejectBusyCarriesQ850(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	if err := b.Reject(in.ID, 486, ""); err != nil {
		t.Fatal(err)
	}
	end := a.Events.WaitState(t, id, phone.CallEnded)
	want := phone.EndInfo{Cause: phone.EndRejected, Code: 486, Reason: "Busy Here", Q850: 17}
	if end.End == nil || end.End.Cause != want.Cause || end.End.Code != want.Code || end.End.Reason != want.Reason || end.End.Q850 != want.Q850 {
		t.Errorf("caller end = %+v, want %+v", end.End, want)
	}
	var rej *phone.RejectedError
	if !errors.As(end.End.Err(), &rej) || rej.Code != 486 || rej.Q850 != 17 {
		t.Errorf("End.Err() = %v, want a *RejectedError 486 with Q.850 cause 17", end.End.Err())
	}
	if err := b.Answer(in.ID); !errors.Is(err, phone.ErrNoSuchCall) && !errors.Is(err, phone.ErrBadState) {
		t.Errorf("answer after reject: %v, want ErrNoSuchCall or ErrBadState", err)
	}
}

func TestLadderRecordsCall(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	// bob keeps no ladder: his messages must not land in alice's (the
	// tracer is process-wide; the TUI's built-in contacts live in-process).
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob", NoTrace: true})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answerOn(t, b)
	a.Events.WaitState(t, id, phone.CallActive)
	lad := a.Ladder(id)
	for _, m := range lad {
		if m.Summary == "INVITE" && !m.Sent {
			t.Errorf("alice's ladder holds bob's received INVITE: %+v", m)
		}
	}
	var sum []string
	for _, m := range lad {
		sum = append(sum, m.Summary)
	}
	has := func(s string, sent bool) bool {
		for _, m := range lad {
			if m.Summary == s && m.Sent == sent {
				return true
			}
		}
		return false
	}
	if !has("INVITE", true) || !has("200 OK", false) || !has("ACK", true) {
		t.Errorf("ladder = %v, want INVITE sent, 200 OK received, ACK sent", sum)
	}
}

// TestEventsOutsideCallLocks (issue 12): a call's events are delivered
// outside its lock and in order, so a consumer may act on the call from the
// event itself: here the callee answers and reads the call inside the
// CallChanged of its ringing (with the event sent under the lock, Answer
// deadlocked and consumers had to spawn goroutines).
func TestEventsOutsideCallLocks(t *testing.T) {
	caller := phonetest.NewPhone(t, 440, &phone.Config{Name: "caller"})
	var callee *phone.Phone
	states := make(chan phone.CallState, 16)
	cfg := phone.Config{Name: "callee", Events: func(ev phone.Event) {
		cc, ok := ev.(phone.CallChanged)
		if !ok {
			return
		}
		states <- cc.Call.State
		if cc.Call.State == phone.CallIncoming {
			if _, ok := callee.Call(cc.Call.ID); !ok {
				t.Errorf("the call is not readable from its own event")
			}
			if err := callee.Answer(cc.Call.ID); err != nil {
				t.Errorf("answer from the event path: %v", err)
			}
		}
	}}
	p, err := phone.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	callee = p
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	id, err := caller.Dial(t.Context(), p.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caller.Events.WaitState(t, id, phone.CallActive)
	var seen []phone.CallState
	deadline := time.After(5 * time.Second)
	for len(seen) == 0 || seen[len(seen)-1] != phone.CallActive {
		select {
		case s := <-states:
			seen = append(seen, s)
		case <-deadline:
			t.Fatalf("callee states %v, want ... active", seen)
		}
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("states out of order: %v", seen)
		}
	}
}
