package interop

// Issue 3 among anyphone instances: attended transfer with Replaces and the
// local three-way conference. The controlling party runs in-process
// (cti.Service), because the endpoint's stdin commands and --script steps
// have no consult, complete-transfer or conference; the other parties are
// `anyphone endpoint` processes.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
)

// ctiParty is an in-process anyphone on 127.0.0.1 with its event feed.
type ctiParty struct {
	*cti.Service
	sub *cti.Subscription
	log []cti.Event // every event read so far (owned by the test goroutine)
}

// startCTIParty starts a Service named name on a free UDP port; it needs
// ANYPHONE_BIN like every interop test, since its peers are endpoints.
func startCTIParty(t *testing.T, name string, media phone.MediaFunc) *ctiParty {
	t.Helper()
	anyphoneBin(t)
	s, err := cti.New(cti.Options{Phone: phone.Config{Name: name, Listen: "127.0.0.1:0", Transport: "udp", Media: media},
		SubscriberBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	p := &ctiParty{Service: s, sub: s.Subscribe()}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		if t.Failed() {
			for _, ev := range p.log {
				t.Logf("%s event: %#v", name, ev)
			}
		}
	})
	return p
}

// wait reads events until pred holds, failing t after timeout.
func (p *ctiParty) wait(t *testing.T, what string, timeout time.Duration, pred func(cti.Event) bool) cti.Event {
	t.Helper()
	for _, ev := range p.log {
		if pred(ev) {
			return ev
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.sub.C:
			if !ok {
				t.Fatalf("event feed closed waiting for %s", what)
			}
			p.log = append(p.log, ev)
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// callIn matches a CallChanged of call id in state.
func callIn(id cti.CallID, state cti.CallState) func(cti.Event) bool {
	return func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == id && cc.Call.State == state
	}
}

// recordingOf returns the recording of call id made with --record
// dir/heard-%c.wav.
func recordingOf(dir, id string) string { return filepath.Join(dir, "heard-"+id+".wav") }

// TestAttendedTransferThreeParties: A calls B, consults C (B is held),
// and completes the transfer: B is REFERred to C with Replaces naming the
// A-C dialog, calls C, C swaps B in for A, and B and C talk (each hears the
// other's tone) while both of A's calls are gone.
func TestAttendedTransferThreeParties(t *testing.T) {
	a := startCTIParty(t, "alice", nil)
	recB, recC := t.TempDir(), t.TempDir()
	b := startEndpoint(t, "--name", "bob", "--audio", "tone:440", "--record", recordingOf(recB, "%c"))
	c := startEndpoint(t, "--name", "carol", "--audio", "tone:1000", "--record", recordingOf(recC, "%c"))
	ctx := t.Context()

	ab, err := a.Dial(ctx, b.URI, cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, "A-B active", 5*time.Second, callIn(ab, cti.CallActive))
	ac, err := a.Consult(ctx, ab, c.URI)
	if err != nil {
		t.Fatalf("consult: %v", err)
	}
	a.wait(t, "A-C active", 5*time.Second, callIn(ac, cti.CallActive))
	if ci, _ := a.Call(ab); !ci.LocalHold {
		t.Errorf("A-B is not held during the consultation: %+v", ci)
	}
	// C's side of the consultation, to match the Replaces against.
	cFromA, err := c.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "active")(m) && m.Call.Direction == "incoming"
	}), 5*time.Second)
	if err != nil {
		t.Fatalf("C never answered A: %v", err)
	}
	cA := mid(cFromA).Call.ID
	time.Sleep(500 * time.Millisecond)

	if err := a.CompleteTransfer(ctx, ab, ac); err != nil {
		t.Fatalf("complete transfer: %v", err)
	}
	// B accepted a REFER with Replaces, from A, to C.
	ref, err := b.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventReferReceived }), 5*time.Second)
	if err != nil {
		t.Fatalf("B got no REFER: %v", err)
	}
	if m := mid(ref); !m.Accepted || !m.Replaces || !sameURI(m.Target, c.URI) || !strings.Contains(m.ReferredBy, "alice") {
		t.Errorf("B's refer event %s; want accepted, with Replaces, to %s, referred by alice", ref.Raw, c.URI)
	}
	// C took B's INVITE as replacing its call with A.
	cB, err := c.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "active")(m) && m.Call.ID != cA && m.Call.Direction == "incoming"
	}), 5*time.Second)
	if err != nil {
		t.Fatalf("C never got B's call: %v", err)
	}
	cBCall := mid(cB).Call
	if cBCall.Replaced != cA {
		t.Errorf("C's call from B replaced %q, want %q: %s", cBCall.Replaced, cA, cB.Raw)
	}
	bC, err := b.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "active")(m) && m.Call.Direction == "outgoing"
	}), 5*time.Second)
	if err != nil {
		t.Fatalf("B never got its call to C active: %v", err)
	}
	bCCall := mid(bC).Call
	// Both of A's calls end as transferred; C's call with A ends too.
	for _, id := range []cti.CallID{ab, ac} {
		ev := a.wait(t, fmt.Sprintf("A's call %s to end", id), 10*time.Second, callIn(id, cti.CallEnded)).(cti.CallChanged)
		if e := ev.Call.End; e == nil || e.Cause != phone.EndTransferred {
			t.Errorf("A's call %s ended %+v, want transferred", id, e)
		}
	}
	if n := len(a.Snapshot().Calls); n != 0 {
		t.Errorf("A still has %d calls: %+v", n, a.Snapshot().Calls)
	}
	if _, err := c.WaitEvent(midPred(midCallIs(cA, "ended")), 5*time.Second); err != nil {
		t.Errorf("C's call with A did not end: %v", err)
	}
	// B and C talk for three seconds, then B hangs up.
	time.Sleep(3 * time.Second)
	if err := b.Send(map[string]any{"id": "1", "cmd": "hangup", "args": map[string]string{"call_id": bCCall.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(midPred(midCallIs(bCCall.ID, "ended")), 5*time.Second); err != nil {
		t.Fatalf("B's call to C did not end: %v", err)
	}
	if _, err := c.WaitEvent(midPred(midCallIs(cBCall.ID, "ended")), 5*time.Second); err != nil {
		t.Fatalf("C's call from B did not end: %v", err)
	}
	assertTone(t, recordingOf(recB, bCCall.ID), 1000, 2*time.Second)
	assertTone(t, recordingOf(recC, cBCall.ID), 440, 2*time.Second)
}

// TestConferenceMixesTwoEndpoints: A calls B (440 Hz) and C (1000 Hz) and
// joins the calls in its local conference. Each of B and C must hear the
// other's tone through A's mix; when B hangs up, A's call with C goes on.
func TestConferenceMixesTwoEndpoints(t *testing.T) {
	a := startCTIParty(t, "alice", nil)
	recB, recC := t.TempDir(), t.TempDir()
	b := startEndpoint(t, "--name", "bob", "--audio", "tone:440", "--record", recordingOf(recB, "%c"))
	c := startEndpoint(t, "--name", "carol", "--audio", "tone:1000", "--record", recordingOf(recC, "%c"))
	ctx := t.Context()

	ab, err := a.Dial(ctx, b.URI, cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, "A-B active", 5*time.Second, callIn(ab, cti.CallActive))
	ac, err := a.Consult(ctx, ab, c.URI)
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, "A-C active", 5*time.Second, callIn(ac, cti.CallActive))
	if err := a.Conference(ctx, ab, ac); err != nil {
		t.Fatalf("conference: %v", err)
	}
	for _, p := range [][2]cti.CallID{{ab, ac}, {ac, ab}} {
		ci, _ := a.Call(p[0])
		if ci.Conference != p[1] || ci.LocalHold || ci.State != cti.CallActive {
			t.Errorf("call %s after Conference: %+v; want active, not held, conference %s", p[0], ci, p[1])
		}
	}
	time.Sleep(3 * time.Second)

	bCall, err := b.WaitEvent(midPred(midCallIs("", "active")), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bID := mid(bCall).Call.ID
	if err := b.Send(map[string]any{"id": "1", "cmd": "hangup", "args": map[string]string{"call_id": bID}}); err != nil {
		t.Fatal(err)
	}
	a.wait(t, "A-B ended", 5*time.Second, callIn(ab, cti.CallEnded))
	time.Sleep(500 * time.Millisecond)
	if ci, ok := a.Call(ac); !ok || ci.State != cti.CallActive || ci.Conference != "" {
		t.Errorf("A-C after B left: %+v (found %v); want active, out of the conference", ci, ok)
	}
	if err := a.Hangup(ctx, ac); err != nil {
		t.Errorf("hang up A-C: %v", err)
	}
	cCall, err := c.WaitEvent(midPred(midCallIs("", "ended")), 5*time.Second)
	if err != nil {
		t.Fatalf("C's call did not end: %v", err)
	}
	if e := mid(cCall).Call.End; e == nil || e.Cause != "remote-hangup" {
		t.Errorf("C's call ended %s; want remote-hangup (by A, not with B)", cCall.Raw)
	}
	assertTone(t, recordingOf(recB, bID), 1000, 2*time.Second)
	assertTone(t, recordingOf(recC, mid(cCall).Call.ID), 440, 2*time.Second)
}
