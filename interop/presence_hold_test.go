package interop

import (
	"strings"
	"testing"
	"time"
)

// TestWatcherSeesHeldAndConference (issue 15): alice calls bob and carol;
// dave watches alice (SUBSCRIBE dialog at her phone). When alice holds the
// call to bob, dave's NOTIFY has it held (the local target's
// +sip.rendering="no", RFC 4235 §4.1.6.3); when she joins both calls in a
// conference, both dialogs show her as its focus (isfocus).
func TestWatcherSeesHeldAndConference(t *testing.T) {
	b := startEndpoint(t, "--name", "bob", "--answer", "auto")
	c := startEndpoint(t, "--name", "carol", "--answer", "auto")
	alice := startEndpoint(t, "--name", "alice", "--dial", b.URI)
	first, err := alice.WaitEvent(isCall("active"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dave := startEndpoint(t, "--name", "dave", "--watch", alice.URI)
	waitPresence(t, dave, "dave sees alice on the phone", "sip:alice@", 5*time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "confirmed" && !p.Watch.Info.Dialogs[0].Held
	})
	if err := alice.Send(map[string]any{"id": "h", "cmd": "hold", "args": map[string]any{"call_id": first.Call.ID}}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, dave, "dave sees alice's call held", "sip:alice@", 2*time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "confirmed" && p.Watch.Info.Dialogs[0].Held
	})
	if err := alice.Send(map[string]any{"id": "d", "cmd": "dial", "args": map[string]any{"to": c.URI}}); err != nil {
		t.Fatal(err)
	}
	second, err := alice.WaitEvent(func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && ev.Call.ID != first.Call.ID && ev.Call.State == "active"
	}, 10*time.Second)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if err := alice.Send(map[string]any{"id": "conf", "cmd": "conference", "args": map[string]any{"call_id": first.Call.ID, "other_id": second.Call.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitEvent(func(ev Event) bool {
		return strings.Contains(ev.Raw, `"id":"conf"`) && strings.Contains(ev.Raw, `"ok":true`)
	}, 10*time.Second); err != nil {
		t.Fatalf("conference: %v\n%s", err, eventsRaw(alice))
	}
	waitPresence(t, dave, "dave sees alice in conference", "sip:alice@", 2*time.Second, func(p presenceEvent) bool {
		ds := p.Watch.Info.Dialogs
		return dialogStates(p) == "confirmed,confirmed" && ds[0].Conference && ds[1].Conference
	})
}
