package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
	"github.com/anyphone/anyphone/phone/vocab"
)

// waitWatch waits for a PresenceReceived event whose watch satisfies pred.
func waitWatch(t *testing.T, p *phonetest.Phone, what string, pred func(phone.Watch) bool) phone.Watch {
	t.Helper()
	ev := p.Events.WaitFor(t, 5*time.Second, what, func(ev phone.Event) bool {
		pr, ok := ev.(phone.PresenceReceived)
		return ok && pred(pr.Watch)
	})
	return ev.(phone.PresenceReceived).Watch
}

// TestWatchColleague: bob watches alice (SUBSCRIBE dialog at alice's
// phone, which serves its own state); carol calls alice: bob sees
// ringing with carol as the remote identity and direction recipient,
// then on the phone, then idle. Unwatch ends the subscription at alice.
func TestWatchColleague(t *testing.T) {
	alice := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	bob := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	carol := phonetest.NewPhone(t, 0, &phone.Config{Name: "carol"})

	w, err := bob.Watch(alice.URI())
	if err != nil {
		t.Fatal(err)
	}
	// Pending until alice's 200 and first NOTIFY, which may both have
	// come before Watch returns.
	if w.State != vocab.WatchPending && w.State != vocab.WatchActive {
		t.Errorf("new watch: %s, want pending (or already active)", w.State)
	}
	waitWatch(t, bob, "alice idle", func(w phone.Watch) bool { return w.State == vocab.WatchActive && w.Busy() == "idle" })

	if _, err := carol.Dial(t.Context(), alice.URI(), phone.DialOptions{}); err != nil {
		t.Fatal(err)
	}
	in := alice.Events.WaitCall(t, 5*time.Second, "incoming", func(ci phone.CallInfo) bool { return ci.State == phone.CallIncoming })
	ring := waitWatch(t, bob, "alice ringing", func(w phone.Watch) bool { return w.Busy() == "ringing" })
	if d := ring.Info.Dialogs[0]; d.Direction != vocab.Incoming || d.Remote.User != "" && d.Remote.User != "carol" || d.CallID != in.SIPCallID {
		t.Errorf("ringing dialog %+v: want recipient, carol, call-id %s", d, in.SIPCallID)
	}
	if got := ring.Info.Dialogs[0].Remote.URI; len(got) < 10 || got[:10] != "sip:carol@" {
		t.Errorf("remote identity %q, want sip:carol@...", got)
	}
	if err := alice.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	waitWatch(t, bob, "alice on the phone", func(w phone.Watch) bool { return w.Busy() == "on the phone" })
	if err := alice.Hangup(in.ID); err != nil {
		t.Fatal(err)
	}
	waitWatch(t, bob, "alice idle again", func(w phone.Watch) bool {
		return w.Busy() == "idle" && len(w.Info.Dialogs) == 1 && w.Info.Dialogs[0].State == vocab.PhaseTerminated
	})
	if err := bob.Unwatch(alice.URI()); err != nil {
		t.Fatal(err)
	}
	if err := bob.Unwatch(alice.URI()); err == nil {
		t.Error("a second Unwatch: no error")
	}
	if len(bob.Watches()) != 0 {
		t.Errorf("watches after Unwatch: %+v", bob.Watches())
	}
}

// TestWatchBadTarget: bad input is an error, never a panic.
func TestWatchBadTarget(t *testing.T) {
	bob := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	for _, target := range []string{"", "sip:", "a b", "sip:alice@h\r\nX: y", "mailto:x@y", string(make([]byte, 300))} {
		if _, err := bob.Watch(target); err == nil {
			t.Errorf("Watch(%q): no error", target)
		}
	}
}

// TestWatchRetriesAfterFailure: a target that refuses (404: no such user)
// shows as retrying with the code.
func TestWatchRetriesAfterFailure(t *testing.T) {
	alice := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	bob := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	if _, err := bob.Watch("sip:nobody@" + alice.Addr()); err != nil {
		t.Fatal(err)
	}
	w := waitWatch(t, bob, "retrying", func(w phone.Watch) bool { return w.State == vocab.WatchRetrying })
	if w.Code != 404 || w.Busy() != "unknown" {
		t.Errorf("watch %+v: want code 404, unknown", w)
	}
}
