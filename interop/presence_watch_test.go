package interop

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// presenceEvent is an endpoint's "presence" line.
type presenceEvent struct {
	Watch struct {
		Target string `json:"target"`
		State  string `json:"state"`
		Info   struct {
			Entity  string `json:"entity"`
			DND     bool   `json:"dnd"`
			Dialogs []struct {
				ID         string `json:"id"`
				CallID     string `json:"call_id"`
				Direction  string `json:"direction"`
				State      string `json:"state"`
				Device     string `json:"device"`
				Held       bool   `json:"held"`
				Conference bool   `json:"conference"`
				Remote     struct {
					URI string `json:"uri"`
				} `json:"remote"`
			} `json:"dialogs"`
		} `json:"info"`
	} `json:"watch"`
}

// waitPresence waits for a presence event of target satisfying pred.
func waitPresence(t *testing.T, ep *Endpoint, what, target string, timeout time.Duration, pred func(presenceEvent) bool) presenceEvent {
	t.Helper()
	var got presenceEvent
	if _, err := ep.WaitEvent(func(ev Event) bool {
		if ev.Event != "presence" {
			return false
		}
		var p presenceEvent
		if json.Unmarshal([]byte(ev.Raw), &p) != nil || !strings.HasPrefix(p.Watch.Target, target) {
			return false
		}
		got = p
		return pred(p)
	}, timeout); err != nil {
		t.Fatalf("%s: %v (last %+v)", what, err, got)
	}
	return got
}

// dialogStates lists the dialog states of a presence event.
func dialogStates(p presenceEvent) string {
	var s []string
	for _, d := range p.Watch.Info.Dialogs {
		s = append(s, d.State)
	}
	return strings.Join(s, ",")
}

// TestEndpointsWatchEachOther (issue 15, without a presence server): alice
// and bob watch each other (--watch, SUBSCRIBE dialog at each other's
// phone); carol calls bob, who answers after 1.5 s and hangs up a second
// later. alice sees bob ringing (early, recipient, remote carol) within
// 1 s of the INVITE, then confirmed, then idle; bob sees alice idle all
// along.
func TestEndpointsWatchEachOther(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob", "--answer-delay", "1500ms", "--hangup-after", "1s")
	alice := startEndpoint(t, "--name", "alice", "--watch", bob.URI)
	waitPresence(t, alice, "alice sees bob idle", "sip:bob@", 5*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active" && len(p.Watch.Info.Dialogs) == 0
	})
	if err := bob.Send(map[string]any{"id": "w", "cmd": "watch", "args": map[string]any{"target": alice.URI}}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, bob, "bob sees alice idle", "sip:alice@", 5*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active" && len(p.Watch.Info.Dialogs) == 0
	})

	start := time.Now()
	carol := startEndpoint(t, "--name", "carol", "--dial", bob.URI, "--expect-calls", "1", "--exit-after", "5s")
	ring := waitPresence(t, alice, "alice sees bob ringing", "sip:bob@", 3*time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "early"
	})
	t.Logf("bob ringing at alice after %s (including carol's start)", time.Since(start).Round(time.Millisecond))
	if d := ring.Watch.Info.Dialogs[0]; d.Direction != "incoming" || !strings.HasPrefix(d.Remote.URI, "sip:carol@") || d.CallID == "" {
		t.Errorf("ringing dialog %+v: want incoming from carol with a call-id", d)
	}
	in, err := bob.WaitEvent(isCall("incoming"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Watch.Info.Dialogs[0].CallID != in.Call.SIPCallID {
		t.Errorf("dialog call-id %s, bob's call %s", ring.Watch.Info.Dialogs[0].CallID, in.Call.SIPCallID)
	}
	act, err := bob.WaitEvent(isCall("active"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitPresence(t, alice, "alice sees bob on the phone", "sip:bob@", time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "confirmed"
	})
	_ = act
	if _, err := bob.WaitEvent(isCall("ended"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, alice, "alice sees bob idle again", "sip:bob@", time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "terminated"
	})
	if code, sum, err := carol.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("carol: exit %d %+v %v", code, sum, err)
	}
	for _, ev := range bob.Events() {
		var p presenceEvent
		if ev.Event == "presence" && json.Unmarshal([]byte(ev.Raw), &p) == nil && len(p.Watch.Info.Dialogs) > 0 {
			t.Errorf("bob saw alice busy: %s", ev.Raw)
		}
	}
}
