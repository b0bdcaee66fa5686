package interop

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ownPresenceEvent is an own_presence event line.
type ownPresenceEvent struct {
	Presence struct {
		Entity  string `json:"entity"`
		DND     bool   `json:"dnd"`
		Dialogs []struct {
			State string `json:"state"`
		} `json:"dialogs"`
	} `json:"presence"`
}

// ownStates lists bob's own_presence events as "early|confirmed|idle|dnd".
func ownStates(ep *Endpoint) []string {
	var out []string
	for _, ev := range ep.Events() {
		var p ownPresenceEvent
		if ev.Event != "own_presence" || json.Unmarshal([]byte(ev.Raw), &p) != nil {
			continue
		}
		var s []string
		for _, d := range p.Presence.Dialogs {
			s = append(s, d.State)
		}
		st := strings.Join(s, ",")
		if st == "" {
			st = "idle"
		}
		if p.Presence.DND {
			st += "+dnd"
		}
		out = append(out, st)
	}
	return out
}

// TestOwnPresenceEvents (issue 15): our own phone state is a live event:
// carol calls bob, who answers after 300 ms and hangs up 300 ms later;
// bob's control stream shows own_presence early, confirmed, idle in that
// order; DND on is one more own_presence with dnd set.
func TestOwnPresenceEvents(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob", "--answer", "auto", "--answer-delay", "300ms", "--hangup-after", "300ms")
	carol := startEndpoint(t, "--name", "carol", "--dial", bob.URI, "--expect-calls", "1", "--exit-after", "5s")
	if code, sum, err := carol.Wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("carol: exit %d %+v %v", code, sum, err)
	}
	if !waitFor(2*time.Second, func() bool {
		s := ownStates(bob)
		return len(s) > 0 && s[len(s)-1] == "idle"
	}) {
		t.Fatalf("bob's own_presence never back to idle: %q", ownStates(bob))
	}
	got := strings.Join(ownStates(bob), " ")
	if !strings.Contains(got, "early") || !strings.Contains(got, "confirmed") ||
		strings.Index(got, "early") > strings.Index(got, "confirmed") {
		t.Errorf("own_presence states %q: want early, then confirmed, then idle", got)
	}
	if err := bob.Send(map[string]any{"id": "dnd", "cmd": "set_policy", "args": map[string]any{"dnd": true}}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool {
		s := ownStates(bob)
		return s[len(s)-1] == "idle+dnd"
	}) {
		t.Fatalf("DND on: no own_presence with dnd: %q", ownStates(bob))
	}
}

// TestSippSubscribesPIDF (issue 15): a peer that wants RFC 3856 presence
// SUBSCRIBEs Event: presence at bob: the first NOTIFY is PIDF with basic
// open; when bob sets DND, the next is closed with the RPID activity
// busy (RFC 3863, RFC 4480).
func TestSippSubscribesPIDF(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob")
	sc := presenceScenario(t, "subscribe_pidf.xml", nil)
	s := startSipp(t, sc, bob.Addr, "-m", "1", "-s", "bob")
	if !waitLog(bob, "dialog subscription", 10*time.Second) {
		t.Fatalf("bob never took the presence subscription\n%s", tailString(s.Output(), 4<<10))
	}
	if err := bob.Send(map[string]any{"id": "dnd", "cmd": "set_policy", "args": map[string]any{"dnd": true}}); err != nil {
		t.Fatal(err)
	}
	if code, err := s.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v\n%s", code, err, tailString(s.Output(), 4<<10))
	}
}

// TestWatcherSeesDND (issue 15): alice watches bob; when bob sets DND,
// alice's watch of him shows it within 1 s (the PIDF of the presence
// subscription her watch runs beside the dialog one), and clears it when
// he turns DND off.
func TestWatcherSeesDND(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob")
	alice := startEndpoint(t, "--name", "alice", "--watch", bob.URI)
	waitPresence(t, alice, "alice sees bob idle", "sip:bob@", 5*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active" && !p.Watch.Info.DND
	})
	time.Sleep(300 * time.Millisecond) // the presence subscription's first NOTIFY
	for _, on := range []bool{true, false} {
		if err := bob.Send(map[string]any{"id": "dnd", "cmd": "set_policy", "args": map[string]any{"dnd": on}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if !waitFor(time.Second, func() bool { // the last presence event of bob's, not any earlier one
			var last presenceEvent
			for _, ev := range alice.Events() {
				var p presenceEvent
				if ev.Event == "presence" && json.Unmarshal([]byte(ev.Raw), &p) == nil && strings.HasPrefix(p.Watch.Target, "sip:bob@") {
					last = p
				}
			}
			return last.Watch.State == "active" && last.Watch.Info.DND == on
		}) {
			t.Fatalf("DND %v: alice's last presence event of bob does not show it\n%s", on, eventsRaw(alice))
		}
		t.Logf("DND %v at alice after %s", on, time.Since(start).Round(time.Millisecond))
	}
}

// TestCtlPresenceFollowAndDND (issue 15) as a user would: `anyphone ctl
// presence --follow` against bob prints his state and then each change;
// `anyphone ctl policy --dnd on` turns DND on (the rest of the policy
// stays), the follower prints "idle, DND", and a call to bob is refused
// 480 with the rule dnd.
func TestCtlPresenceFollowAndDND(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob", "--control", "127.0.0.1:0")
	ready, err := bob.WaitEvent(func(ev Event) bool { return ev.Event == "ready" }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Control string `json:"control"`
	}
	if err := json.Unmarshal([]byte(ready.Raw), &r); err != nil || r.Control == "" {
		t.Fatalf("ready line has no control address: %s", ready.Raw)
	}
	follow := exec.Command(anyphoneBin(t), "ctl", "--addr", r.Control, "presence", "--follow")
	out := &lockedBuffer{}
	follow.Stdout = out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = follow.Process.Kill(); _ = follow.Wait() })
	if !waitFor(5*time.Second, func() bool { return strings.Contains(out.String(), "idle") }) {
		t.Fatal("ctl presence --follow printed nothing")
	}
	if pol := ctlRun(t, r.Control, "policy", "--dnd", "on"); !strings.Contains(pol, `"configured":{"dnd":true}`) {
		t.Errorf("ctl policy --dnd on printed %s", pol)
	}
	if !waitFor(2*time.Second, func() bool { return strings.Contains(out.String(), "idle, DND") }) {
		t.Fatalf("the follower never printed DND:\n%s", out.String())
	}
	carol := startEndpoint(t, "--name", "carol", "--dial", bob.URI, "--expect-calls", "1", "--exit-after", "5s")
	_, _, _ = carol.Wait(10 * time.Second)
	end, err := carol.WaitEvent(isCall("ended"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if end.Call.End == nil || end.Call.End.Code != 480 {
		t.Errorf("carol's call to bob under DND ended %+v, want 480", end.Call.End)
	}
	if !strings.Contains(eventsRaw(bob), `"rule":"dnd"`) {
		t.Errorf("bob's refused call does not name the rule dnd")
	}
}
