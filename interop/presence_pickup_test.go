package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// TestDirectedPickup (issue 15): carol calls bob, whose phone rings (manual
// answer); alice watches bob and picks the call up (ctl pickup): an INVITE
// with Replaces built from bob's dialog state (call-id, tags, early-only)
// goes to carol, who answers it at once and CANCELs bob with Reason
// cause 200. alice and carol talk; bob's call ends answered elsewhere and
// his journal has no missed call.
func TestDirectedPickup(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bob.db")
	bob := startEndpoint(t, "--name", "bob", "--answer", "manual", "--journal", db)
	alice := startEndpoint(t, "--name", "alice", "--watch", bob.URI)
	waitPresence(t, alice, "alice sees bob idle", "sip:bob@", 5*time.Second, func(p presenceEvent) bool { return p.Watch.State == "active" })
	// --expect-calls 3: the picked-up call ends as failed; one expected
	// call would end the endpoint, and the new call with it.
	carol := startEndpoint(t, "--name", "carol", "--dial", bob.URI, "--expect-calls", "3", "--exit-after", "30s")
	in, err := bob.WaitEvent(isCall("incoming"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitPresence(t, alice, "alice sees bob ringing", "sip:bob@", 2*time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "early"
	})
	if err := alice.Send(map[string]any{"id": "pk", "cmd": "pickup", "args": map[string]any{"target": "bob"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitEvent(func(ev Event) bool {
		return strings.Contains(ev.Raw, `"id":"pk"`) && strings.Contains(ev.Raw, `"ok":true`)
	}, 5*time.Second); err != nil {
		t.Fatalf("pickup: %v\n%s", err, eventsRaw(alice))
	}
	if _, err := alice.WaitEvent(isCall("active"), 5*time.Second); err != nil {
		t.Fatalf("alice's pickup call never became active: %v", err)
	}
	if _, err := carol.WaitEvent(func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && ev.Call.Direction == "incoming" && ev.Call.State == "active"
	}, 5*time.Second); err != nil {
		t.Fatalf("carol never took the pickup call: %v", err)
	}
	end, err := bob.WaitEvent(isCall("ended"), 5*time.Second)
	if err != nil {
		t.Fatalf("bob's phone kept ringing: %v", err)
	}
	if end.Call.End == nil || end.Call.End.Cause != "answered-elsewhere" {
		t.Errorf("bob's call ended %+v, want answered-elsewhere", end.Call.End)
	}
	e := journalRow(t, db, in.Call.SIPCallID)
	if e.Missed || e.Outcome != journal.OutcomeAnsweredElsewhere {
		t.Errorf("bob's journal row: outcome %s missed %v; want answered elsewhere, not missed", e.Outcome, e.Missed)
	}
	waitPresence(t, alice, "alice sees bob idle again", "sip:bob@", 2*time.Second, func(p presenceEvent) bool {
		return dialogStates(p) == "terminated"
	})
	// alice and carol stay connected.
	time.Sleep(time.Second)
	for _, ev := range alice.Events() {
		if ev.Event == "call" && ev.Call != nil && ev.Call.State == "ended" {
			t.Errorf("alice's pickup call ended: %s", ev.Raw)
		}
	}
}

// TestDirectedPickupThroughKamailio (issue 15): alice, bob and carol are
// registered at kamailio, which serves the dialog state too. carol's AOR
// is in a domain that does not resolve (pickup.invalid): her From URI
// leads nowhere, only her Contact reaches her. carol calls bob through
// kamailio; alice picks the ringing call up from bob's dialog state: the
// INVITE with Replaces must go to the remote target (carol's Contact, the
// dialog-info's <remote><target>), not to her From URI.
func TestDirectedPickupThroughKamailio(t *testing.T) {
	port, k := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	aor := func(u string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", u, port) }
	bob := startEndpoint(t, "--name", "bob", "--account", aor("bob"), "--registrar", srv, "--presence-server", srv, "--answer", "manual")
	alice := startEndpoint(t, "--name", "alice", "--account", aor("alice"), "--registrar", srv, "--watch", aor("bob"))
	carol := startEndpoint(t, "--name", "carol", "--account", "sip:carol@pickup.invalid", "--registrar", srv,
		"--expect-calls", "3", "--exit-after", "30s")
	for _, ep := range []*Endpoint{bob, carol} {
		if _, err := ep.WaitEvent(func(ev Event) bool {
			return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
		}, 10*time.Second); err != nil {
			t.Fatalf("%s not registered: %v", ep.Addr, err)
		}
	}
	waitPresence(t, alice, "alice's watch of bob active", aor("bob"), 10*time.Second, func(p presenceEvent) bool { return p.Watch.State == "active" })
	if err := carol.Send(map[string]any{"id": "d", "cmd": "dial", "args": map[string]any{"to": aor("bob")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitEvent(isCall("incoming"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, alice, "alice sees bob ringing", aor("bob"), 2*time.Second, func(p presenceEvent) bool {
		return strings.Contains(dialogStates(p), "early")
	})
	if err := alice.Send(map[string]any{"id": "pk", "cmd": "pickup", "args": map[string]any{"target": aor("bob")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitEvent(isCall("active"), 8*time.Second); err != nil {
		t.Fatalf("alice's pickup call never became active: %v\n%s", err, eventsRaw(alice))
	}
	if _, err := carol.WaitEvent(func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && ev.Call.Direction == "incoming" && ev.Call.State == "active"
	}, 5*time.Second); err != nil {
		t.Fatalf("carol never took the pickup call: %v", err)
	}
	end, err := bob.WaitEvent(isCall("ended"), 5*time.Second)
	if err != nil {
		t.Fatalf("bob's phone kept ringing: %v", err)
	}
	if end.Call.End == nil || end.Call.End.Cause != "answered-elsewhere" {
		t.Errorf("bob's call ended %+v, want answered-elsewhere", end.Call.End)
	}
	if !strings.Contains(k.Output(), "REQ INVITE "+aor("bob")) {
		t.Errorf("carol's call did not pass kamailio")
	}
}
