package interop

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ctlRun runs `anyphone ctl --addr ADDR args...` and returns its stdout.
func ctlRun(t *testing.T, addr string, args ...string) string {
	t.Helper()
	full := append([]string{"ctl", "--addr", addr}, args...)
	out, err := exec.Command(anyphoneBin(t), full...).CombinedOutput()
	if err != nil {
		t.Fatalf("anyphone %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// TestCtlAgainstRunningEndpoint drives a running endpoint through its
// WebSocket control API with `anyphone ctl`: dial, status, dtmf, a live
// event tail, and hangup, while the peer checks what it received.
func TestCtlAgainstRunningEndpoint(t *testing.T) {
	needInterop(t)
	peer := startEndpoint(t, "--audio", "tone:1000", "--expect-dtmf", "42", "--expect-calls", "1", "--exit-after", "30s")
	me := startEndpoint(t, "--answer", "manual", "--audio", "tone:440", "--control", "127.0.0.1:0",
		"--journal", filepath.Join(t.TempDir(), "journal.db"))
	ready, err := me.WaitEvent(func(ev Event) bool { return ev.Event == "ready" }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Control string `json:"control"`
	}
	if err := json.Unmarshal([]byte(ready.Raw), &r); err != nil || r.Control == "" {
		t.Fatalf("ready line has no control address: %s", ready.Raw)
	}

	// A live tail in the background: it must see the call become active.
	tail := exec.Command(anyphoneBin(t), "ctl", "--addr", r.Control, "events", "--snapshot", "--count", "50")
	tailOut := &lockedBuffer{}
	tail.Stdout = tailOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tail.Process.Kill(); _ = tail.Wait() })
	// The snapshot line is printed once the tail has subscribed.
	if !waitFor(5*time.Second, func() bool { return tailOut.String() != "" }) {
		t.Fatal("ctl events --snapshot printed nothing")
	}

	out := ctlRun(t, r.Control, "dial", peer.URI)
	if !strings.Contains(out, "c1") {
		t.Fatalf("ctl dial printed %q, want the call id c1", out)
	}
	if _, err := me.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.State == "active" }, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Calls []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"calls"`
	}
	status := ctlRun(t, r.Control, "status", "--json")
	if err := json.Unmarshal([]byte(status), &snap); err != nil || len(snap.Calls) != 1 || snap.Calls[0].State != "active" {
		t.Fatalf("ctl status --json = %s (%v), want one active call", status, err)
	}
	ctlRun(t, r.Control, "dtmf", "c1", "42")
	if _, err := peer.WaitEvent(func(ev Event) bool { return ev.Event == "dtmf" && ev.Digit == "2" }, 5*time.Second); err != nil {
		t.Fatalf("peer never received the second digit: %v", err)
	}
	ctlRun(t, r.Control, "hangup", "c1")
	if _, err := me.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.State == "ended" }, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// Busy policy and journal over the same API.
	if out := ctlRun(t, r.Control, "policy", "--let-through", "5"); !strings.Contains(out, "override") {
		t.Errorf("ctl policy --let-through 5 printed %q, want the policy with its override", out)
	}
	var rows []struct {
		Outcome string `json:"outcome"`
	}
	if !waitFor(5*time.Second, func() bool {
		return json.Unmarshal([]byte(ctlRun(t, r.Control, "journal")), &rows) == nil && len(rows) == 1
	}) {
		t.Errorf("ctl journal: %d rows, want the one call", len(rows))
	} else if rows[0].Outcome != "answered" {
		t.Errorf("journal outcome %q, want answered", rows[0].Outcome)
	}
	code, err := peer.proc.Wait(15 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("peer exit %d (%v): it should have received DTMF 42 on one call", code, err)
	}
	if !waitFor(5*time.Second, func() bool { return strings.Contains(tailOut.String(), `"state":"active"`) }) {
		t.Errorf("ctl events tail never showed the active call:\n%s", tailOut.String())
	}
}

// lockedBuffer is an io.Writer a process writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
