package interop

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone/phonetest/ports"
)

// needInterop skips under -short and otherwise returns nothing: interop tests
// never skip in a normal run, a missing peer or binary fails them.
func needInterop(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop test: skipped under -short")
	}
}

// anyphoneBin returns $ANYPHONE_BIN or fails the test.
func anyphoneBin(t *testing.T) string {
	t.Helper()
	needInterop(t)
	bin := os.Getenv("ANYPHONE_BIN")
	if bin == "" {
		t.Fatal("ANYPHONE_BIN is not set: run `make test`, or build with `make build` and export ANYPHONE_BIN=$PWD/bin/anyphone")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("ANYPHONE_BIN: %v", err)
	}
	return bin
}

// lookPeer returns the path of a peer program or fails the test (the
// Makefile installs every peer, so a missing one is an error, never a skip).
// Every peer runs against the endpoint, so it checks ANYPHONE_BIN first:
// a test then fails before it starts any process.
func lookPeer(t *testing.T, name string) string {
	t.Helper()
	anyphoneBin(t)
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("peer %s not installed (make test installs sip-tester baresip kamailio): %v", name, err)
	}
	return p
}

// portMu and usedPorts keep freePort from handing out a port twice in one
// test binary, so parallel tests cannot collide.
var (
	portMu    sync.Mutex
	usedPorts = map[int]bool{}
)

// freePort returns a port on 127.0.0.1 free for UDP and TCP such that the
// span ports after it are free too (sipp binds its media port and port+2:
// ask for span 4). The block lies below the kernel's ephemeral range, so
// no socket bound to port 0 by a test running beside this one (in this
// binary or another package's) takes a port in it before the peer binds
// it. It never returns 5060.
func freePort(t *testing.T, span int) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	base, err := ports.Free(span, func(p int) bool { return usedPorts[p] })
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	for p := base; p < base+span; p++ {
		usedPorts[p] = true
	}
	return base
}

// portFree reports whether p is bindable on 127.0.0.1 for UDP and TCP.
func portFree(p int) bool { return ports.IsFree(p) }

// proc is a peer process in its own process group, with stdout and stderr
// in a file under the test's temp dir. The test's cleanup stops it and, when
// the test failed, logs the tail of its output.
type proc struct {
	name    string
	cmd     *exec.Cmd
	outPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startProc starts name with args in dir (a temp dir when empty), with extra
// environment variables env.
func startProc(t *testing.T, name, dir string, env []string, args ...string) *proc {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	out, err := os.Create(filepath.Join(dir, filepath.Base(name)+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Logf("start %s %s", name, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: filepath.Base(name), cmd: cmd, outPath: out.Name(), done: make(chan struct{})}
	// The waiter goroutine is owned by p: it ends when the process exits,
	// which the cleanup below guarantees.
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("---- output of %s (%s):\n%s", p.name, p.outPath, tail(p.outPath, 16<<10))
		}
	})
	return p
}

// Wait waits up to timeout for the process to exit and returns its exit
// code; -1 and an error on timeout or when it was killed by a signal.
func (p *proc) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %v", p.name, timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	if p.waitErr != nil {
		return -1, p.waitErr
	}
	return 0, nil
}

// Exited reports whether the process has exited.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after 5 s.
func (p *proc) Stop() {
	if p.Exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Output returns everything the process wrote so far.
func (p *proc) Output() string {
	b, _ := os.ReadFile(p.outPath)
	return string(b)
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// waitFor polls cond every 50 ms until it is true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Event is one JSON line the endpoint writes to stdout. Only the fields the
// tests look at are decoded; Raw keeps the line.
type Event struct {
	Event        string   `json:"event"`
	Addr         string   `json:"addr"`
	URI          string   `json:"uri"`
	Transport    string   `json:"transport"`
	Call         *Call    `json:"call"`
	CallID       string   `json:"call_id"`
	Digit        string   `json:"digit"`
	Registration *Reg     `json:"registration"`
	Hz           float64  `json:"hz"`
	Detected     bool     `json:"detected"`
	Summary      *Summary `json:"-"`
	Raw          string   `json:"-"`
}

// Call is the call object of a "call" event.
type Call struct {
	ID        string   `json:"id"`
	SIPCallID string   `json:"sip_call_id"`
	Direction string   `json:"direction"`
	State     string   `json:"state"`
	Codec     string   `json:"codec"`
	End       *EndInfo `json:"end"`
}

// EndInfo says why a call ended.
type EndInfo struct {
	Cause  string `json:"cause"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Q850   int    `json:"q850"`
}

// Reg is the registration object of a "registration" event.
type Reg struct {
	AOR       string `json:"aor"`
	Registrar string `json:"registrar"`
	State     string `json:"state"`
	Expires   string `json:"expires"`
	Code      int    `json:"code"`
	Err       string `json:"err"`
}

// Summary is the last line the endpoint writes.
type Summary struct {
	Calls    int    `json:"calls"`
	Answered int    `json:"answered"`
	Ended    int    `json:"ended"`
	Failed   int    `json:"failed"`
	DTMF     string `json:"dtmf"`
	OK       bool   `json:"ok"`
	Why      string `json:"why"`
}

// Endpoint is a running `anyphone endpoint`.
type Endpoint struct {
	t    *testing.T
	proc *proc
	in   io.WriteCloser

	Addr string // SIP listen address from the ready event
	URI  string // our SIP URI from the ready event

	mu     sync.Mutex
	events []Event
	eof    bool
	change chan struct{} // closed and replaced on every new event; guarded by mu
}

// startEndpoint runs `$ANYPHONE_BIN endpoint --listen 127.0.0.1:0 args...`
// (a --listen in args wins) and waits for its ready event.
func startEndpoint(t *testing.T, args ...string) *Endpoint {
	t.Helper()
	return startEndpointEnv(t, nil, args...)
}

// startEndpointEnv is startEndpoint with extra environment variables.
func startEndpointEnv(t *testing.T, env []string, args ...string) *Endpoint {
	t.Helper()
	bin := anyphoneBin(t)
	full := []string{"endpoint"}
	if !hasFlag(args, "--listen") {
		full = append(full, "--listen", "127.0.0.1:0")
	}
	full = append(full, args...)
	if !hasFlag(args, "--log-level") {
		full = append(full, "--log-level", "debug")
	}
	dir := t.TempDir()
	errf, err := os.Create(filepath.Join(dir, "endpoint.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start anyphone %s", strings.Join(full, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start endpoint: %v", err)
	}
	e := &Endpoint{t: t, in: stdin, change: make(chan struct{})}
	p := &proc{name: "endpoint", cmd: cmd, outPath: errf.Name(), done: make(chan struct{})}
	e.proc = p
	readDone := make(chan struct{})
	// The reader goroutine is owned by e: it ends at stdout EOF, which the
	// process exit guarantees.
	go func() {
		defer close(readDone)
		e.read(stdout)
	}()
	// The waiter goroutine is owned by p; it ends when the process exits.
	go func() {
		<-readDone // Wait closes stdout: read it all first
		p.waitErr = cmd.Wait()
		errf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		e.in.Close()
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
		}
		p.Stop()
		if t.Failed() {
			e.mu.Lock()
			var b strings.Builder
			for _, ev := range e.events {
				b.WriteString(ev.Raw)
				b.WriteByte('\n')
			}
			e.mu.Unlock()
			t.Logf("---- endpoint stdout:\n%s", b.String())
			t.Logf("---- endpoint stderr (%s):\n%s", p.outPath, tail(p.outPath, 24<<10))
		}
	})
	ready, err := e.WaitEvent(func(ev Event) bool { return ev.Event == "ready" }, 10*time.Second)
	if err != nil {
		t.Fatalf("endpoint not ready: %v", err)
	}
	e.Addr, e.URI = ready.Addr, ready.URI
	if e.Addr == "" {
		t.Fatalf("ready event without addr: %s", ready.Raw)
	}
	return e
}

// hasFlag reports whether args hold flag (as "--flag" or "--flag=v").
func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// read decodes JSON lines from r until EOF. Lines that are not JSON are kept
// as events with an empty Event name, so the test log shows them.
func (e *Endpoint) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		ev := Event{Raw: line}
		if err := json.Unmarshal([]byte(line), &ev); err == nil && ev.Event == "summary" {
			var s Summary
			if json.Unmarshal([]byte(line), &s) == nil {
				ev.Summary = &s
			}
		}
		ev.Raw = line
		e.mu.Lock()
		e.events = append(e.events, ev)
		close(e.change)
		e.change = make(chan struct{})
		e.mu.Unlock()
	}
	e.mu.Lock()
	e.eof = true
	close(e.change)
	e.change = make(chan struct{})
	e.mu.Unlock()
}

// Events returns a copy of the events so far.
func (e *Endpoint) Events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.events...)
}

// WaitEvent returns the first event (since start) that satisfies pred,
// waiting up to timeout for it.
func (e *Endpoint) WaitEvent(pred func(Event) bool, timeout time.Duration) (Event, error) {
	evs, err := e.WaitEvents(pred, 1, timeout)
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// WaitEvents waits up to timeout until n events (since start) satisfy pred
// and returns them.
func (e *Endpoint) WaitEvents(pred func(Event) bool, n int, timeout time.Duration) ([]Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		var got []Event
		for _, ev := range e.events {
			if pred(ev) {
				got = append(got, ev)
			}
		}
		eof, ch := e.eof, e.change
		e.mu.Unlock()
		if len(got) >= n {
			return got[:n], nil
		}
		if eof {
			return got, fmt.Errorf("endpoint exited with %d of %d matching events", len(got), n)
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got, fmt.Errorf("timeout after %v with %d of %d matching events", timeout, len(got), n)
		}
	}
}

// Send writes one JSON-line command to the endpoint's stdin.
func (e *Endpoint) Send(cmd any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	_, err = e.in.Write(append(b, '\n'))
	return err
}

// Signal sends sig to the endpoint process.
func (e *Endpoint) Signal(sig syscall.Signal) error {
	return e.proc.cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the endpoint to exit and returns its exit
// code and its summary line (nil when it wrote none).
func (e *Endpoint) Wait(timeout time.Duration) (int, *Summary, error) {
	code, err := e.proc.Wait(timeout)
	if err != nil {
		return code, nil, err
	}
	for _, ev := range e.Events() {
		if ev.Summary != nil {
			return code, ev.Summary, nil
		}
	}
	return code, nil, nil
}

// isCall returns a predicate for call events in state (any state when "").
func isCall(state string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && (state == "" || ev.Call.State == state)
	}
}
