package interop

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/ctl"
)

// eventTime is the "time" of an endpoint event line.
func eventTime(t *testing.T, ev Event) time.Time {
	t.Helper()
	var v struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(ev.Raw), &v); err != nil || v.Time.IsZero() {
		t.Fatalf("event without time: %s", ev.Raw)
	}
	return v.Time
}

// TestChaosSilentTransferor (issue 17): the call-centre bot of seed 004
// sends the agent a held INVITE, then a REFER to the customer, and then
// answers nothing: not one NOTIFY. RFC 3515 does not make the transfer wait
// for the transferor: the customer must get the agent's call within a
// second of the REFER (diago alone waited on NOTIFY 100 for Timer F and
// never called), the referred leg must end as transferred, and a new call
// to the agent is answered at once while the NOTIFYs hang.
func TestChaosSilentTransferor(t *testing.T) {
	customer := startEndpoint(t, "--name", "customer")
	trace := filepath.Join(t.TempDir(), "agent.trace")
	agent := startEndpoint(t, "--name", "agent", "--trace-file", trace)
	bot := startSipp(t, filepath.Join("testdata", "chaos", "uac_refer_silent.xml"), agent.Addr, "-m", "1", "-s", "agent",
		"-key", "conn", "127.0.0.1", "-key", "dir", "sendonly", "-key", "target", customer.URI)

	ref, err := agent.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventReferReceived && m.Accepted }), 10*time.Second)
	if err != nil {
		t.Fatalf("no accepted refer: %v", err)
	}
	referAt := eventTime(t, ref)
	in, err := customer.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "incoming")(m) || midCallIs("", "active")(m)
	}), 3*time.Second)
	if err != nil {
		t.Fatalf("the customer never got the transferred call: %v", err)
	}
	if d := eventTime(t, in).Sub(referAt); d > time.Second {
		t.Errorf("the customer's call came %s after the REFER, want within 1 s", d)
	} else {
		t.Logf("the customer's call came %s after the REFER", d.Round(time.Millisecond))
	}
	first := mid(ref).CallID
	end, err := agent.WaitEvent(midPred(midCallIs(first, "ended")), 10*time.Second)
	if err != nil {
		t.Fatalf("the referred leg never ended: %v", err)
	}
	if e := mid(end).Call.End; e == nil || e.Cause != "transferred" {
		t.Errorf("the referred leg ended %s, want transferred", end.Raw)
	}

	// While the NOTIFYs to the silent bot are still unanswered, a new
	// call to the agent is answered at once.
	caller := startEndpoint(t, "--name", "caller", "--dial", agent.URI, "--hangup-after", "1s")
	placed, err := caller.WaitEvent(isCall("dialing"), 5*time.Second)
	if err != nil {
		t.Fatalf("caller: %v", err)
	}
	up, err := caller.WaitEvent(isCall("active"), 3*time.Second)
	if err != nil {
		t.Fatalf("a new call to the agent was not answered while the transfer's NOTIFYs hang: %v", err)
	}
	if d := eventTime(t, up).Sub(eventTime(t, placed)); d > time.Second {
		t.Errorf("a new call was answered after %s, want within 1 s", d)
	}
	code, err := bot.Wait(40 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("the silent bot: exit %d, %v\n%s", code, err, tailString(bot.Output(), 4<<10))
	}
}

// chaosFile returns the path of a scenario in testdata/chaos.
func chaosFile(name string) string { return filepath.Join("testdata", "chaos", name) }

// respTo waits for the response line to the command with id and returns it.
func respTo(t *testing.T, e *Endpoint, id string, timeout time.Duration) (Event, time.Time) {
	t.Helper()
	ev, err := e.WaitEvent(func(ev Event) bool {
		var r struct {
			ID string `json:"id"`
		}
		return ev.Event == "" && json.Unmarshal([]byte(ev.Raw), &r) == nil && r.ID == id
	}, timeout)
	if err != nil {
		t.Fatalf("no response to command %s: %v", id, err)
	}
	return ev, time.Now()
}

// placeCall dials to from e with a stdin command and waits until the call
// is active; it returns the call's id.
func placeCall(t *testing.T, e *Endpoint, cmdID, to string) string {
	t.Helper()
	if err := e.Send(map[string]any{"id": cmdID, "cmd": "dial", "args": map[string]any{"to": to}}); err != nil {
		t.Fatal(err)
	}
	resp, _ := respTo(t, e, cmdID, 5*time.Second)
	var r struct {
		OK     bool `json:"ok"`
		Result struct {
			CallID string `json:"call_id"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(resp.Raw), &r); err != nil || !r.OK || r.Result.CallID == "" {
		t.Fatalf("dial %s: %s", to, resp.Raw)
	}
	if _, err := e.WaitEvent(midPred(midCallIs(r.Result.CallID, "active")), 5*time.Second); err != nil {
		t.Fatalf("call to %s never became active: %v", to, err)
	}
	return r.Result.CallID
}

// otherCallWorks checks that a new call from a fresh endpoint to e is
// answered within 1 s of being placed, and that e can place a call too.
func otherCallWorks(t *testing.T, e *Endpoint) {
	t.Helper()
	caller := startEndpoint(t, "--name", "other", "--dial", e.URI, "--hangup-after", "300ms")
	placed, err := caller.WaitEvent(isCall("dialing"), 5*time.Second)
	if err != nil {
		t.Fatalf("other caller: %v", err)
	}
	up, err := caller.WaitEvent(isCall("active"), 3*time.Second)
	if err != nil {
		t.Fatalf("a new call to the endpoint was not answered while the peer is silent: %v", err)
	}
	if d := eventTime(t, up).Sub(eventTime(t, placed)); d > time.Second {
		t.Errorf("a new call was answered after %s, want within 1 s", d)
	}
	callee := startEndpoint(t, "--name", "callee")
	id := placeCall(t, e, "other-dial", callee.URI)
	if err := e.Send(map[string]any{"id": "other-hangup", "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitEvent(midPred(midCallIs(id, "ended")), time.Second); err != nil {
		t.Fatalf("the other call did not end: %v", err)
	}
}

// stopWithin closes the endpoint's stdin (EOF ends its run) and fails
// unless it exits within d.
func stopWithin(t *testing.T, e *Endpoint, d time.Duration) {
	t.Helper()
	start := time.Now()
	e.in.Close()
	if _, _, err := e.Wait(10 * time.Second); err != nil {
		t.Fatalf("endpoint did not exit: %v", err)
	}
	took := time.Since(start)
	if took > d {
		t.Errorf("shutdown took %s with a silent peer, want within %s", took.Round(time.Millisecond), d)
	} else {
		t.Logf("shutdown took %s with a silent peer", took.Round(time.Millisecond))
	}
}

// TestChaosIgnoredBye (issue 17): the callee answers and then ignores our
// BYE. The user's hang-up ends the call for the user at once (the ended
// event within 100 ms of the command) while the BYE is retransmitted in the
// background; other calls proceed, and the endpoint shuts down within 2 s
// with the BYE still unanswered.
func TestChaosIgnoredBye(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "alice", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uas_bye_silent.xml"), "-m", "2")
	to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
	id := placeCall(t, e, "d1", to)

	sent := time.Now()
	if err := e.Send(map[string]any{"id": "h1", "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 10*time.Second)
	if err != nil {
		t.Fatalf("the call never ended: %v", err)
	}
	if d := eventTime(t, end).Sub(sent); d > 100*time.Millisecond {
		t.Errorf("the call ended %s after the hangup command, want within 100 ms", d.Round(time.Millisecond))
	} else {
		t.Logf("the call ended %s after the hangup command", d.Round(time.Millisecond))
	}
	if c := mid(end).Call; c.End == nil || c.End.Cause != "local-hangup" {
		t.Errorf("ended %s, want cause local-hangup", end.Raw)
	}
	respTo(t, e, "h1", time.Second)
	otherCallWorks(t, e)
	// A second call to the same peer stays up: Shutdown hangs it up, and
	// that BYE goes unanswered too.
	placeCall(t, e, "d2", to)
	if peer.Exited() {
		t.Fatalf("the silent peer exited early:\n%s", tailString(peer.Output(), 4<<10))
	}
	// The BYEs are still being retransmitted to the silent peer: shut down.
	stopWithin(t, e, 2*time.Second)
}

// callsNow asks the endpoint for its calls (the calls command) and returns
// the ids of those not ended.
func callsNow(t *testing.T, e *Endpoint, cmdID string) []string {
	t.Helper()
	if err := e.Send(map[string]any{"id": cmdID, "cmd": "calls"}); err != nil {
		t.Fatal(err)
	}
	resp, _ := respTo(t, e, cmdID, 2*time.Second)
	var r struct {
		Result struct {
			Calls []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"calls"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(resp.Raw), &r); err != nil {
		t.Fatalf("calls: %s: %v", resp.Raw, err)
	}
	var ids []string
	for _, c := range r.Result.Calls {
		if c.State != "ended" {
			ids = append(ids, c.ID+":"+c.State)
		}
	}
	return ids
}

// TestChaosNoAck (issue 17): callers get our 200 and never ACK it. RFC
// 3261 §13.3.1.4: after 64*T1 (32 s) without ACK the session SHOULD be
// terminated with a BYE. Of two such calls the first is left alone: it
// must end by Timer H (it went active and stayed up for ever), with a BYE
// the caller answers. The second is hung up by the user while we wait for
// its ACK: it ends for the user at once (the BYE follows Timer H, RFC 3261
// §15). Other calls proceed meanwhile. It waits for Timer H: it runs in
// parallel with the other chaos tests.
func TestChaosNoAck(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "bob", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uac_no_ack.xml"), e.Addr, "-m", "2", "-s", "bob")
	ins, err := e.WaitEvents(isCall("incoming"), 2, 5*time.Second)
	if err != nil {
		t.Fatalf("no incoming calls: %v", err)
	}
	left, hung := ins[0].Call.ID, ins[1].Call.ID
	start := eventTime(t, ins[0])
	if _, err := e.WaitEvent(midPred(midCallIs(hung, "answering")), 2*time.Second); err != nil {
		t.Fatalf("call %s not answering: %v", hung, err)
	}
	sent := time.Now()
	if err := e.Send(map[string]any{"id": "h1", "cmd": "hangup", "args": map[string]any{"call_id": hung}}); err != nil {
		t.Fatal(err)
	}
	end, err := e.WaitEvent(midPred(midCallIs(hung, "ended")), 40*time.Second)
	if err != nil {
		t.Fatalf("the hung-up call never ended: %v", err)
	}
	if d := eventTime(t, end).Sub(sent); d > 100*time.Millisecond {
		t.Errorf("the call hung up while its ACK is missing ended %s after the command, want within 100 ms", d.Round(time.Millisecond))
	} else {
		t.Logf("the call hung up while its ACK is missing ended %s after the command", d.Round(time.Millisecond))
	}
	otherCallWorks(t, e)

	end, err = e.WaitEvent(midPred(midCallIs(left, "ended")), 40*time.Second)
	if err != nil {
		t.Fatalf("the unacknowledged call never ended (Timer H is 32 s): %v; calls %v", err, callsNow(t, e, "calls"))
	}
	took := eventTime(t, end).Sub(start)
	t.Logf("the unacknowledged call ended %s after it came in: %s", took.Round(time.Millisecond), end.Raw)
	if took > 34*time.Second {
		t.Errorf("the unacknowledged call ended after %s, want by Timer H (32 s)", took)
	}
	if c := mid(end).Call; c.End == nil || c.End.Cause != "timeout" {
		t.Errorf("ended %s, want cause timeout", end.Raw)
	}
	for _, ev := range e.Events() {
		if ev.Event == "call" && ev.Call != nil && ev.Call.ID == left && ev.Call.State == "active" {
			t.Errorf("the unacknowledged call went active: %s", ev.Raw)
		}
	}
	if cs := callsNow(t, e, "calls2"); len(cs) > 0 {
		t.Errorf("calls left after the end: %v", cs)
	}
	sippOK(t, peer, 2, 10*time.Second) // both got our BYE and answered it
}

// TestChaosCancelNoAck (issue 17): a caller CANCELs while we ring and then
// never ACKs our 487. The call is ended for the user at once, nothing is
// left behind, and other calls proceed.
func TestChaosCancelNoAck(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "carol", "--answer", "manual", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uac_cancel_no_ack.xml"), e.Addr, "-m", "1", "-s", "carol")
	in, err := e.WaitEvent(isCall("incoming"), 5*time.Second)
	if err != nil {
		t.Fatalf("no incoming call: %v", err)
	}
	id := in.Call.ID
	end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 5*time.Second)
	if err != nil {
		t.Fatalf("the cancelled call never ended: %v", err)
	}
	took := eventTime(t, end).Sub(eventTime(t, in))
	t.Logf("the cancelled call ended %s after it came in (CANCEL sent after 300 ms): %s", took.Round(time.Millisecond), end.Raw)
	if took > time.Second {
		t.Errorf("the cancelled call ended after %s, want within 1 s", took)
	}
	if c := mid(end).Call; c.End == nil || c.End.Cause != "caller-cancelled" {
		t.Errorf("ended %s, want cause caller-cancelled", end.Raw)
	}
	if cs := callsNow(t, e, "calls"); len(cs) > 0 {
		t.Errorf("calls left after the CANCEL: %v", cs)
	}
	// Manual answer: answer the next call by command.
	caller := startEndpoint(t, "--name", "other", "--dial", e.URI, "--hangup-after", "300ms")
	next, err := e.WaitEvent(func(ev Event) bool { return isCall("incoming")(ev) && ev.Call.ID != id }, 5*time.Second)
	if err != nil {
		t.Fatalf("no second call: %v", err)
	}
	if err := e.Send(map[string]any{"id": "a1", "cmd": "answer", "args": map[string]any{"call_id": next.Call.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.WaitEvent(isCall("active"), 2*time.Second); err != nil {
		t.Fatalf("a new call was not answered while the 487 goes unacknowledged: %v", err)
	}
	if peer.Exited() {
		t.Fatalf("the silent caller exited early:\n%s", tailString(peer.Output(), 4<<10))
	}
	stopWithin(t, e, 2*time.Second)
}

// TestChaosSilentRegistrar (issue 17): the registrar takes every REGISTER
// and answers none. The registration shows it (retrying or failed, never
// registered), and a call placed or received meanwhile works at once.
func TestChaosSilentRegistrar(t *testing.T) {
	t.Parallel()
	reg := startSipp(t, chaosFile("registrar_silent.xml"), "-m", "1")
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", reg.Port)
	e := startEndpoint(t, "--name", "dave", "--account", "sip:dave@127.0.0.1", "--registrar", registrar, "--stdin-eof", "exit")
	first, err := e.WaitEvent(func(ev Event) bool { return ev.Event == "registration" && ev.Registration != nil }, 5*time.Second)
	if err != nil {
		t.Fatalf("no registration event: %v", err)
	}
	t.Logf("first registration event: %s", first.Raw)
	start := time.Now()
	otherCallWorks(t, e)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("calls with a silent registrar took %s", d)
	}
	gaveUp, err := e.WaitEvent(func(ev Event) bool {
		return ev.Event == "registration" && ev.Registration != nil && (ev.Registration.State == "retrying" || ev.Registration.State == "failed")
	}, 40*time.Second)
	if err != nil {
		t.Fatalf("the registration never showed retrying or failed: %v", err)
	}
	t.Logf("registration after the silence: %s (%s after start)", gaveUp.Raw, time.Since(start).Round(time.Millisecond))
	for _, ev := range e.Events() {
		if ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered" {
			t.Errorf("registered with a silent registrar: %s", ev.Raw)
		}
	}
	stopWithin(t, e, 2*time.Second)
}

// TestChaosIgnoredReInvite (issue 17): the callee ignores our hold
// re-INVITE. The hold command must not hold up other commands or calls:
// a calls command and a new call go through at once while the re-INVITE
// hangs. Timer B (64*T1) gives the re-INVITE up, the hold command fails
// visibly, and, RFC 3261 §12.2.1.2 (no response at all to a request inside
// a dialog: the UAC SHOULD terminate the dialog), the call ends with a BYE
// the callee answers. It waits for Timer B: it runs in parallel.
func TestChaosIgnoredReInvite(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "erin", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uas_reinvite_silent.xml"), "-m", "1")
	to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
	id := placeCall(t, e, "d1", to)
	holdAt := time.Now()
	if err := e.Send(map[string]any{"id": "hold1", "cmd": "hold", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the re-INVITE is out
	calls := time.Now()
	callsNow(t, e, "calls")
	if d := time.Since(calls); d > 500*time.Millisecond {
		t.Errorf("a calls command took %s while the hold re-INVITE hangs", d)
	}
	otherCallWorks(t, e)

	resp, _ := respTo(t, e, "hold1", 40*time.Second)
	took := time.Since(holdAt)
	t.Logf("the hold command answered after %s: %s", took.Round(time.Millisecond), resp.Raw)
	var r struct {
		OK bool `json:"ok"`
	}
	_ = json.Unmarshal([]byte(resp.Raw), &r)
	if r.OK {
		t.Errorf("hold succeeded without an answer to the re-INVITE: %s", resp.Raw)
	}
	end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 5*time.Second)
	if err != nil {
		t.Fatalf("the call was kept after its re-INVITE got no answer (RFC 3261 §12.2.1.2: terminate): %v", err)
	}
	t.Logf("the call ended %s after the hold command: %s", time.Since(holdAt).Round(time.Millisecond), end.Raw)
	if c := mid(end).Call; c.End == nil || c.End.Cause != "timeout" || c.End.Code != 408 {
		t.Errorf("ended %s, want cause timeout, code 408", end.Raw)
	}
	sippOK(t, peer, 1, 10*time.Second) // it got our BYE and answered it
}

// TestChaosShutdownDuringHold (issue 17): the endpoint stops while its
// hold re-INVITE to a silent callee is in flight: it exits within 2 s.
func TestChaosShutdownDuringHold(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "frank", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uas_reinvite_silent.xml"), "-m", "1")
	id := placeCall(t, e, "d1", fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port))
	if err := e.Send(map[string]any{"id": "hold1", "cmd": "hold", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the re-INVITE is out, unanswered
	stopWithin(t, e, 2*time.Second)
}

// TestChaosRegistrarGoneSilent (issue 17): the registrar grants our first
// REGISTER and then answers nothing: the endpoint, registered, is stopped
// with SIGTERM and its unregister goes unanswered. It exits within 2 s.
func TestChaosRegistrarGoneSilent(t *testing.T) {
	t.Parallel()
	reg := startSipp(t, chaosFile("registrar_then_silent.xml"), "-m", "1")
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", reg.Port)
	e := startEndpoint(t, "--name", "gina", "--account", "sip:gina@127.0.0.1", "--registrar", registrar)
	if _, err := e.WaitEvent(func(ev Event) bool {
		return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
	}, 5*time.Second); err != nil {
		t.Fatalf("never registered: %v", err)
	}
	start := time.Now()
	if err := e.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Wait(10 * time.Second); err != nil {
		t.Fatalf("endpoint did not exit: %v", err)
	}
	took := time.Since(start)
	t.Logf("SIGTERM to exit with the unregister unanswered: %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("shutdown took %s with a silent registrar, want within 2 s", took.Round(time.Millisecond))
	}
}
