package interop

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestChaosTransferHoldIgnored (issue 17): we transfer a call whose peer
// ignores every re-INVITE, the transfer's hold among them, but honours
// the REFER. The REFER must not wait for the hold's answer (Timer B,
// 32 s): it goes out within about half a second of the command, so the
// transfer is done (the transferee's NOTIFY 200) within 1 s and the call
// ends as transferred; the unanswered hold does not keep it, and the
// endpoint stops within 2 s.
func TestChaosTransferHoldIgnored(t *testing.T) {
	t.Parallel()
	// Over TCP: sipp takes a retransmission of the ignored re-INVITE that
	// crosses its NOTIFY as an unexpected message and aborts; silence is
	// the same on either transport (Timer B).
	e := startEndpoint(t, "--name", "zoe", "--stdin-eof", "exit", "--transport", "tcp")
	peer := startSippOn(t, "tcp", chaosFile("uas_reinvite_silent_refer_ok.xml"), "-m", "1")
	id := placeCall(t, e, "d1", fmt.Sprintf("sip:silent@127.0.0.1:%d;transport=tcp", peer.Port))
	target := startEndpoint(t, "--name", "target")
	start := time.Now()
	if err := e.Send(map[string]any{"id": "x1", "cmd": "transfer", "args": map[string]any{"call_id": id, "target": target.URI}}); err != nil {
		t.Fatal(err)
	}
	resp, _ := respTo(t, e, "x1", 5*time.Second)
	t.Logf("the transfer command answered after %s: %s", time.Since(start).Round(time.Millisecond), resp.Raw)
	var r struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal([]byte(resp.Raw), &r); err != nil || !r.OK {
		t.Errorf("transfer: %s, want ok", resp.Raw)
	}
	done, err := e.WaitEvent(midPred(func(m midEvent) bool { return m.Event == "transfer_progress" && m.Final }), 5*time.Second)
	if err != nil {
		t.Fatalf("the transfer never finished while the hold hangs: %v", err)
	}
	took := eventTime(t, done).Sub(start)
	t.Logf("the transfer finished %s after the command: %s", took.Round(time.Millisecond), done.Raw)
	if m := mid(done); !m.OK {
		t.Errorf("transfer_progress %s, want ok", done.Raw)
	}
	if took > time.Second {
		t.Errorf("the transfer finished %s after the command, want within 1 s", took.Round(time.Millisecond))
	}
	end, err := e.WaitEvent(midPred(midCallIs(id, "ended")), 3*time.Second)
	if err != nil {
		t.Fatalf("the transferred call did not end: %v", err)
	}
	if c := mid(end).Call; c.End == nil || c.End.Cause != "transferred" {
		t.Errorf("the call ended %s, want transferred", end.Raw)
	}
	// The hold re-INVITE went unanswered and is given up with the call;
	// the transferee saw the REFER while it still waited.
	if ev, err := e.WaitEvent(isOutcome(id, "re-INVITE"), 200*time.Millisecond); err == nil {
		if o := outcomeOf(t, ev); o.Outcome == "answered" {
			t.Errorf("hold outcome %s, want it unanswered", o.Text)
		}
	}
	sippOK(t, peer, 1, 10*time.Second)
	stopWithin(t, e, 2*time.Second)
}

// TestChaosConsultHoldIgnored (issue 17): the user consults while the
// first call's peer ignores re-INVITEs. The consultation must not wait
// for the hold's answer (Timer B, 32 s): the target's phone rings within
// 1 s of the command, and a toggle to the consultation (which holds the
// silent call again: its hold is still unanswered) answers within about a
// second too.
func TestChaosConsultHoldIgnored(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "zoe", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uas_reinvite_silent.xml"), "-m", "1")
	id := placeCall(t, e, "d1", fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port))
	target := startEndpoint(t, "--name", "target")
	start := time.Now()
	if err := e.Send(map[string]any{"id": "c1", "cmd": "consult", "args": map[string]any{"call_id": id, "target": target.URI}}); err != nil {
		t.Fatal(err)
	}
	ring, err := target.WaitEvent(isCall("incoming"), 5*time.Second)
	if err != nil {
		t.Fatalf("the consultation never reached the target while the hold hangs: %v", err)
	}
	took := eventTime(t, ring).Sub(start)
	t.Logf("the consultation reached the target %s after the command", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the consultation reached the target %s after the command, want within 1 s", took.Round(time.Millisecond))
	}
	resp, _ := respTo(t, e, "c1", 5*time.Second)
	var r struct {
		OK     bool `json:"ok"`
		Result struct {
			CallID string `json:"call_id"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(resp.Raw), &r); err != nil || !r.OK || r.Result.CallID == "" {
		t.Fatalf("consult: %s", resp.Raw)
	}
	if _, err := e.WaitEvent(midPred(midCallIs(r.Result.CallID, "active")), 5*time.Second); err != nil {
		t.Fatalf("the consultation never became active: %v", err)
	}
	start = time.Now()
	if err := e.Send(map[string]any{"id": "t1", "cmd": "toggle", "args": map[string]any{"call_id": r.Result.CallID}}); err != nil {
		t.Fatal(err)
	}
	tr, _ := respTo(t, e, "t1", 5*time.Second)
	t.Logf("toggle answered after %s: %s", time.Since(start).Round(time.Millisecond), tr.Raw)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("toggle answered after %s, want within ~1 s", d.Round(time.Millisecond))
	}
	for _, c := range []string{id, r.Result.CallID} {
		_ = e.Send(map[string]any{"id": "h-" + c, "cmd": "hangup", "args": map[string]any{"call_id": c}})
	}
	stopWithin(t, e, 2*time.Second)
}

// TestChaosSplitHoldIgnored (issue 17): the user splits a local conference
// whose other party ignores re-INVITEs: the split holds that party, and
// the command answers within about a second instead of after Timer B; the
// call taken out stays active.
func TestChaosSplitHoldIgnored(t *testing.T) {
	t.Parallel()
	e := startEndpoint(t, "--name", "zoe", "--stdin-eof", "exit")
	peer := startSipp(t, chaosFile("uas_reinvite_silent.xml"), "-m", "1")
	silent := placeCall(t, e, "d1", fmt.Sprintf("sip:silent@127.0.0.1:%d", peer.Port))
	other := startEndpoint(t, "--name", "other")
	id := placeCall(t, e, "d2", other.URI)
	if err := e.Send(map[string]any{"id": "k1", "cmd": "conference", "args": map[string]any{"call_id": silent, "other_id": id}}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := respTo(t, e, "k1", 5*time.Second); !strings.Contains(resp.Raw, `"ok":true`) {
		t.Fatalf("conference: %s", resp.Raw)
	}
	start := time.Now()
	if err := e.Send(map[string]any{"id": "s1", "cmd": "split", "args": map[string]any{"call_id": id}}); err != nil {
		t.Fatal(err)
	}
	resp, _ := respTo(t, e, "s1", 40*time.Second)
	took := time.Since(start)
	t.Logf("split answered after %s: %s", took.Round(time.Millisecond), resp.Raw)
	if took > 1500*time.Millisecond {
		t.Errorf("split answered after %s, want within ~1 s", took.Round(time.Millisecond))
	}
	if ids := callsNow(t, e, "st"); len(ids) != 2 {
		t.Errorf("calls after the split: %v, want both", ids)
	}
	for _, c := range []string{silent, id} {
		_ = e.Send(map[string]any{"id": "h-" + c, "cmd": "hangup", "args": map[string]any{"call_id": c}})
	}
	stopWithin(t, e, 2*time.Second)
}
