package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The chaos suite with peers that vanish instead of staying silent (issue
// 17): the sipp process is killed mid-dialog, so its UDP port answers with
// ICMP port unreachable and its TCP port refuses connections. Our requests
// must fail fast as transport errors (not after Timer B/F), the call must
// end as RFC 3261 §12.2.1.2 says, and the outcome must show as a
// request_outcome event.

// outcomeEvent is a request_outcome event line.
type outcomeEvent struct {
	Event   string  `json:"event"`
	CallID  string  `json:"call_id"`
	Method  string  `json:"method"`
	Outcome string  `json:"outcome"`
	Code    int     `json:"code"`
	Seconds float64 `json:"seconds"`
	Text    string  `json:"text"`
}

// isOutcome matches request_outcome events of call id for method.
func isOutcome(id, method string) func(Event) bool {
	return func(ev Event) bool {
		var o outcomeEvent
		return ev.Event == "request_outcome" && json.Unmarshal([]byte(ev.Raw), &o) == nil && o.CallID == id && o.Method == method
	}
}

func outcomeOf(t *testing.T, ev Event) outcomeEvent {
	t.Helper()
	var o outcomeEvent
	if err := json.Unmarshal([]byte(ev.Raw), &o); err != nil {
		t.Fatalf("request_outcome: %s: %v", ev.Raw, err)
	}
	return o
}

// vanish kills the peer at once (SIGKILL to its process group): its
// sockets close without a word.
func vanish(t *testing.T, p *proc) {
	t.Helper()
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	if _, err := p.Wait(5 * time.Second); err == nil {
		return
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not die", p.name)
	}
}

// tcpListening reports whether a TCP socket listens on port
// (/proc/net/tcp, state 0A).
func tcpListening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// TestChaosVanishedCalleeBye: the callee dies mid-call, then the user
// hangs up. The call ends for the user at once; the BYE ends as a
// transport error within about a second (UDP: ICMP port unreachable; TCP:
// connection refused), not after Timer F, and the outcome is reported;
// other calls go on and the endpoint stops within 2 s.
func TestChaosVanishedCalleeBye(t *testing.T) {
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			e := startEndpoint(t, "--name", "vera", "--stdin-eof", "exit", "--transport", tr)
			args := []string{"-m", "1"}
			to := ""
			peer := startSippOn(t, tr, chaosFile("uas_bye_silent.xml"), args...)
			to = fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
			if tr == "tcp" {
				to += ";transport=tcp"
			}
			id := placeCall(t, e, "d1", to)
			vanish(t, peer.proc)

			sent := time.Now()
			if err := e.Send(map[string]any{"id": "h1", "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
				t.Fatal(err)
			}
			end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 5*time.Second)
			if err != nil {
				t.Fatalf("the call never ended: %v", err)
			}
			if d := eventTime(t, end).Sub(sent); d > 100*time.Millisecond {
				t.Errorf("the call ended %s after the hangup command, want within 100 ms", d.Round(time.Millisecond))
			}
			ev, err := e.WaitEvent(isOutcome(id, "BYE"), 5*time.Second)
			if err != nil {
				t.Fatalf("no outcome for the BYE to the vanished callee: %v", err)
			}
			o := outcomeOf(t, ev)
			took := eventTime(t, ev).Sub(sent)
			t.Logf("%s: %s (event %s after the hangup)", tr, o.Text, took.Round(time.Millisecond))
			if o.Outcome != "transport_error" {
				t.Errorf("BYE outcome %q (%s), want transport_error", o.Outcome, o.Text)
			}
			if took > 1500*time.Millisecond {
				t.Errorf("the BYE's transport error came %s after the hangup, want within ~1 s", took.Round(time.Millisecond))
			}
			// The call's ladder shows it after the BYE.
			if err := e.Send(map[string]any{"id": "l1", "cmd": "ladder", "args": map[string]any{"call_id": id}}); err != nil {
				t.Fatal(err)
			}
			lad, _ := respTo(t, e, "l1", 2*time.Second)
			if !strings.Contains(lad.Raw, `"summary":"BYE: transport error after`) {
				t.Errorf("the ladder has no entry for the BYE's outcome:\n%s", tailString(lad.Raw, 2<<10))
			}
			otherCallWorksOn(t, e, tr)
			stopWithin(t, e, 2*time.Second)
		})
	}
}

// TestChaosVanishedCalleeReInvite: the callee dies mid-call, then the user
// holds. RFC 3261 §12.2.1.2: a request in a dialog that gets no response
// ends the dialog; a vanished peer gives none, and we know it within about
// a second, so the hold fails and the call ends then, not after Timer B.
func TestChaosVanishedCalleeReInvite(t *testing.T) {
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			e := startEndpoint(t, "--name", "wanda", "--stdin-eof", "exit", "--transport", tr)
			peer := startSippOn(t, tr, chaosFile("uas_reinvite_silent.xml"), "-m", "1")
			to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
			if tr == "tcp" {
				to += ";transport=tcp"
			}
			id := placeCall(t, e, "d1", to)
			vanish(t, peer.proc)

			holdAt := time.Now()
			if err := e.Send(map[string]any{"id": "hold1", "cmd": "hold", "args": map[string]any{"call_id": id}}); err != nil {
				t.Fatal(err)
			}
			end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 10*time.Second)
			if err != nil {
				t.Fatalf("the call was kept after its peer vanished: %v", err)
			}
			took := eventTime(t, end).Sub(holdAt)
			t.Logf("%s: the call ended %s after the hold command: %s", tr, took.Round(time.Millisecond), end.Raw)
			if took > 1500*time.Millisecond {
				t.Errorf("the call ended %s after the hold, want within ~1 s", took.Round(time.Millisecond))
			}
			if c := mid(end).Call; c.End == nil || c.End.Code != 503 {
				t.Errorf("ended %s, want code 503 (transport error, RFC 3261 §8.1.3.1)", end.Raw)
			}
			resp, _ := respTo(t, e, "hold1", 5*time.Second)
			var r struct {
				OK bool `json:"ok"`
			}
			_ = json.Unmarshal([]byte(resp.Raw), &r)
			if r.OK {
				t.Errorf("hold succeeded with a vanished peer: %s", resp.Raw)
			}
			otherCallWorksOn(t, e, tr)
			stopWithin(t, e, 2*time.Second)
		})
	}
}

// startSippOn is startSipp over udp or tcp (sipp's -t t1: one TCP socket).
func startSippOn(t *testing.T, transport, scenario string, args ...string) *sipp {
	t.Helper()
	if transport == "tcp" {
		args = append([]string{"-t", "t1"}, args...)
	}
	return startSipp(t, scenario, args...)
}

// otherCallWorksOn is otherCallWorks with the other parties on transport.
func otherCallWorksOn(t *testing.T, e *Endpoint, transport string) {
	t.Helper()
	caller := startEndpoint(t, "--name", "other", "--transport", transport, "--dial", e.URI, "--hangup-after", "300ms")
	placed, err := caller.WaitEvent(isCall("dialing"), 5*time.Second)
	if err != nil {
		t.Fatalf("other caller: %v", err)
	}
	up, err := caller.WaitEvent(isCall("active"), 3*time.Second)
	if err != nil {
		t.Fatalf("a new call to the endpoint was not answered after its peer vanished: %v", err)
	}
	if d := eventTime(t, up).Sub(eventTime(t, placed)); d > time.Second {
		t.Errorf("a new call was answered after %s, want within 1 s", d)
	}
	callee := startEndpoint(t, "--name", "callee", "--transport", transport)
	id := placeCall(t, e, "other-dial", callee.URI)
	if err := e.Send(map[string]any{"id": "other-hangup", "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitEvent(midPred(midCallIs(id, "ended")), time.Second); err != nil {
		t.Fatalf("the other call did not end: %v", err)
	}
}

// TestChaosIgnoredCancel: the callee rings and then ignores our CANCEL
// (silent: no 200, no 487), or vanishes while it rings. The user's hang-up
// ends the call within cancelGrace (0.5 s) either way, not after Timer F
// and the 64*T1 wait for a 487; a vanished callee's CANCEL ends as a
// transport error within about a second; other calls go on and the
// endpoint stops within 2 s with the CANCEL still unanswered.
func TestChaosIgnoredCancel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vanish bool
	}{{"silent", false}, {"vanished", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEndpoint(t, "--name", "xena", "--stdin-eof", "exit")
			peer := startSipp(t, chaosFile("uas_cancel_silent.xml"), "-m", "1")
			to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
			if err := e.Send(map[string]any{"id": "d1", "cmd": "dial", "args": map[string]any{"to": to}}); err != nil {
				t.Fatal(err)
			}
			ring, err := e.WaitEvent(midPred(midCallIs("", "ringing")), 5*time.Second)
			if err != nil {
				t.Fatalf("the call never rang: %v", err)
			}
			id := mid(ring).Call.ID
			if tc.vanish {
				vanish(t, peer.proc)
			}
			sent := time.Now()
			if err := e.Send(map[string]any{"id": "h1", "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
				t.Fatal(err)
			}
			end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 5*time.Second)
			if err != nil {
				t.Fatalf("the cancelled call never ended: %v", err)
			}
			took := eventTime(t, end).Sub(sent)
			t.Logf("%s: the call ended %s after the hangup: %s", tc.name, took.Round(time.Millisecond), end.Raw)
			if took > 700*time.Millisecond {
				t.Errorf("the call ended %s after the hangup, want within 0.5 s", took.Round(time.Millisecond))
			}
			if c := mid(end).Call; c.End == nil || c.End.Cause != "local-hangup" {
				t.Errorf("ended %s, want cause local-hangup", end.Raw)
			}
			if tc.vanish {
				ev, err := e.WaitEvent(isOutcome(id, "CANCEL"), 3*time.Second)
				if err != nil {
					t.Fatalf("no outcome for the CANCEL to the vanished callee: %v", err)
				}
				o := outcomeOf(t, ev)
				t.Logf("%s: %s", tc.name, o.Text)
				if o.Outcome != "transport_error" {
					t.Errorf("CANCEL outcome %q, want transport_error", o.Outcome)
				}
			} else if peer.Exited() {
				t.Fatalf("the silent callee exited early:\n%s", tailString(peer.Output(), 4<<10))
			}
			otherCallWorks(t, e)
			stopWithin(t, e, 2*time.Second)
		})
	}
}

// TestChaosInFlightBound: twelve calls to a callee that ignores BYE, all
// hung up, with --max-in-flight 4: every call ends for the user at once,
// four BYEs stay in flight to the silent peer and the other eight are not
// sent (request_outcome not_sent) instead of piling up goroutines and
// timers; other calls go on and the endpoint stops within 2 s.
func TestChaosInFlightBound(t *testing.T) {
	t.Parallel()
	const calls, limit = 12, 4
	e := startEndpoint(t, "--name", "yuri", "--stdin-eof", "exit", "--max-in-flight", fmt.Sprint(limit))
	peer := startSipp(t, chaosFile("uas_bye_silent.xml"), "-m", fmt.Sprint(calls))
	to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
	var ids []string
	for i := range calls {
		ids = append(ids, placeCall(t, e, fmt.Sprintf("d%d", i), to))
	}
	for i, id := range ids {
		sent := time.Now()
		if err := e.Send(map[string]any{"id": fmt.Sprintf("h%d", i), "cmd": "hangup", "args": map[string]any{"call_id": id}}); err != nil {
			t.Fatal(err)
		}
		end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 5*time.Second)
		if err != nil {
			t.Fatalf("call %d never ended: %v", i, err)
		}
		if d := eventTime(t, end).Sub(sent); d > 100*time.Millisecond {
			t.Errorf("call %d ended %s after its hangup, want within 100 ms", i, d.Round(time.Millisecond))
		}
	}
	notSent := 0
	for i, id := range ids {
		if i < limit {
			continue // in flight: their outcome comes with Timer F
		}
		ev, err := e.WaitEvent(isOutcome(id, "BYE"), 2*time.Second)
		if err != nil {
			t.Fatalf("no BYE outcome for call %d beyond the bound: %v", i, err)
		}
		if o := outcomeOf(t, ev); o.Outcome == "not_sent" {
			notSent++
		} else {
			t.Errorf("call %d: BYE outcome %s, want not_sent", i, o.Text)
		}
	}
	t.Logf("%d of %d BYEs not sent with %d in flight to the silent peer", notSent, calls, limit)
	otherCallWorks(t, e)
	stopWithin(t, e, 2*time.Second)
}

// TestChaosIgnoredNotifyOutcome: we are the transferee and the transferor
// ignores our NOTIFYs (seed 004's bot). The transfer goes on at once
// (TestChaosSilentTransferor); here the fate of the unanswered NOTIFY is
// visible: a request_outcome for the referred leg's NOTIFY, given up after
// its 4 s bound, not a silent log line.
func TestChaosIgnoredNotifyOutcome(t *testing.T) {
	t.Parallel()
	customer := startEndpoint(t, "--name", "customer")
	agent := startEndpoint(t, "--name", "agent", "--stdin-eof", "exit")
	startSipp(t, chaosFile("uac_refer_silent.xml"), agent.Addr, "-m", "1", "-s", "agent",
		"-key", "conn", "127.0.0.1", "-key", "dir", "sendonly", "-key", "target", customer.URI)
	ref, err := agent.WaitEvent(midPred(func(m midEvent) bool { return m.Event == "refer_received" && m.Accepted }), 10*time.Second)
	if err != nil {
		t.Fatalf("no accepted refer: %v", err)
	}
	first := mid(ref).CallID
	ev, err := agent.WaitEvent(isOutcome(first, "NOTIFY"), 8*time.Second)
	if err != nil {
		t.Fatalf("no outcome for the unanswered NOTIFY: %v", err)
	}
	o := outcomeOf(t, ev)
	t.Logf("%s (%s after the REFER)", o.Text, eventTime(t, ev).Sub(eventTime(t, ref)).Round(time.Millisecond))
	if o.Outcome != "given_up" && o.Outcome != "timed_out" {
		t.Errorf("NOTIFY outcome %q (%s), want given_up or timed_out", o.Outcome, o.Text)
	}
	stopWithin(t, agent, 2*time.Second)
}

// TestChaosIgnoredRefer: we transfer a call and the transferee ignores the
// REFER (silent) or has vanished. The transfer command answers within
// about a second either way (it waited for Timer F before); a vanished
// transferee's REFER fails as a transport error, the transfer is reported
// failed and the call ends (RFC 3261 §12.2.1.2); the silent one keeps the
// call while the REFER is followed in the background; other calls go on
// and the endpoint stops within 2 s.
func TestChaosIgnoredRefer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vanish bool
	}{{"silent", false}, {"vanished", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEndpoint(t, "--name", "zoe", "--stdin-eof", "exit")
			peer := startSipp(t, chaosFile("uas_refer_ignored.xml"), "-m", "1")
			to := fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port)
			id := placeCall(t, e, "d1", to)
			target := startEndpoint(t, "--name", "target")
			if err := e.Send(map[string]any{"id": "x1", "cmd": "transfer", "args": map[string]any{"call_id": id, "target": target.URI}}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if tc.vanish {
				// The hold re-INVITE is answered; the REFER finds the peer gone.
				if _, err := e.WaitEvent(func(ev Event) bool {
					return ev.Event == "call" && strings.Contains(ev.Raw, `"local_hold":true`)
				}, 5*time.Second); err != nil {
					t.Fatalf("the transfer never held the call: %v", err)
				}
				vanish(t, peer.proc)
				start = time.Now()
			}
			resp, _ := respTo(t, e, "x1", 5*time.Second)
			took := time.Since(start)
			t.Logf("%s: the transfer command answered after %s: %s", tc.name, took.Round(time.Millisecond), resp.Raw)
			if took > 2500*time.Millisecond {
				t.Errorf("the transfer command took %s, want about 1 s (plus the hold)", took.Round(time.Millisecond))
			}
			if tc.vanish {
				ev, err := e.WaitEvent(isOutcome(id, "REFER"), 3*time.Second)
				if err != nil {
					t.Fatalf("no outcome for the REFER to the vanished transferee: %v", err)
				}
				if o := outcomeOf(t, ev); o.Outcome != "transport_error" {
					t.Errorf("REFER outcome %s, want transport_error", o.Text)
				}
				if _, err := e.WaitEvent(midPred(func(m midEvent) bool { return m.Event == "transfer_progress" && m.Final && !m.OK }), 3*time.Second); err != nil {
					t.Errorf("no failed transfer_progress: %v", err)
				}
				if _, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 3*time.Second); err != nil {
					t.Errorf("the call to the vanished transferee was kept: %v", err)
				}
			} else if ids := callsNow(t, e, "c1"); len(ids) != 1 {
				t.Errorf("calls while the REFER hangs: %v, want the one call", ids)
			}
			otherCallWorks(t, e)
			stopWithin(t, e, 2*time.Second)
		})
	}
}
