//go:build linux

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBencode(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"string", "spam", "4:spam"},
		{"empty string", "", "0:"},
		{"bytes", []byte("a:b"), "3:a:b"},
		{"int", 42, "i42e"},
		{"negative int64", int64(-7), "i-7e"},
		{"string list", []string{"origin", "session-connection"}, "l6:origin18:session-connectione"},
		{"mixed list", []any{"a", 1, []any{}}, "l1:ai1elee"},
		{"dict keys sorted", map[string]any{"sdp": "v=0", "command": "offer", "call-id": "c1"},
			"d7:call-id2:c17:command5:offer3:sdp3:v=0e"},
		{"nested dict", map[string]any{"a": map[string]any{"b": []string{"c"}}}, "d1:ad1:bl1:ceee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bencode(tt.in)
			if err != nil {
				t.Fatalf("%s: Bencode: %v", tt.name, err)
			}
			if string(got) != tt.want {
				t.Fatalf("%s: Bencode = %q, want %q", tt.name, got, tt.want)
			}
			back, err := Bdecode(got)
			if err != nil {
				t.Fatalf("%s: Bdecode(%q): %v", tt.name, got, err)
			}
			again, err := Bencode(back)
			if err != nil || string(again) != tt.want {
				t.Fatalf("%s: round trip = %q, %v; want %q", tt.name, again, err, tt.want)
			}
		})
	}
}

func TestBdecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"pong", "d6:result4:ponge", map[string]any{"result": "pong"}},
		{"reply with sdp and list", "d6:result2:ok3:sdp10:m=audio 1 8:warningsl1:xee",
			map[string]any{"result": "ok", "sdp": "m=audio 1 ", "warnings": []any{"x"}}},
		{"int", "i-12e", int64(-12)},
		{"binary string", "3:\x00:\xff", "\x00:\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bdecode([]byte(tt.in))
			if err != nil {
				t.Fatalf("%s: Bdecode(%q): %v", tt.name, tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s: Bdecode(%q) = %#v, want %#v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestBdecodeMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"unterminated int", "i12"},
		{"bad int", "i1x2e"},
		{"string too long", "5:abc"},
		{"negative length", "-1:a"},
		{"no colon", "12"},
		{"unterminated list", "l1:a"},
		{"unterminated dict", "d1:a1:b"},
		{"dict key not a string", "di1e1:ae"},
		{"dict without value", "d1:ae"},
		{"trailing bytes", "1:ax"},
		{"unknown type", "x"},
		{"too deep", string(bytes.Repeat([]byte("l"), 100)) + string(bytes.Repeat([]byte("e"), 100))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := Bdecode([]byte(tt.in)); !errors.Is(err, ErrBencode) {
				t.Fatalf("%s: Bdecode(%q) = %#v, %v; want ErrBencode", tt.name, tt.in, v, err)
			}
		})
	}
}

func TestBencodeUnsupported(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
	}{
		{"float", 1.5},
		{"in a list", []any{"a", struct{}{}}},
		{"in a dict", map[string]any{"a": true}},
	} {
		if _, err := Bencode(tt.in); !errors.Is(err, ErrBencode) {
			t.Errorf("%s: Bencode(%#v) = %v, want ErrBencode", tt.name, tt.in, err)
		}
	}
}

// fakeNG is an ng listener that answers like rtpengine: ping, and offer
// and answer with an SDP holding a port of its own per call and side. It
// drops the first datagram of a command named in drop, and sends a reply
// with a wrong cookie before each real one.
type fakeNG struct {
	conn *net.UDPConn
	drop map[string]bool

	mu   sync.Mutex
	seen []map[string]any // guarded by mu
	done chan struct{}
}

func newFakeNG(t *testing.T, drop ...string) *fakeNG {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNG{conn: conn, drop: map[string]bool{}, done: make(chan struct{})}
	for _, d := range drop {
		f.drop[d] = true
	}
	go f.serve() // owned by f; ends when the cleanup closes the socket
	t.Cleanup(func() { conn.Close(); <-f.done })
	return f
}

func (f *fakeNG) addr() string { return f.conn.LocalAddr().String() }

func (f *fakeNG) serve() {
	defer close(f.done)
	buf := make([]byte, 65536)
	ports := map[string]int{"offer": 30000, "answer": 40000}
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		cookie, body, _ := bytes.Cut(buf[:n], []byte(" "))
		v, err := Bdecode(body)
		req, _ := v.(map[string]any)
		if err != nil || req == nil {
			continue
		}
		cmd, _ := req["command"].(string)
		f.mu.Lock()
		f.seen = append(f.seen, req)
		dropIt := f.drop[cmd]
		delete(f.drop, cmd)
		f.mu.Unlock()
		if dropIt {
			continue
		}
		var reply map[string]any
		switch cmd {
		case "ping":
			reply = map[string]any{"result": "pong"}
		case "offer", "answer":
			ports[cmd] += 4
			reply = map[string]any{"result": "ok", "sdp": string(Offer(ports[cmd]))}
		case "delete":
			reply = map[string]any{"result": "ok"}
		default:
			reply = map[string]any{"result": "error", "error-reason": "Unrecognized command"}
		}
		stale, _ := Bencode(map[string]any{"result": "error", "error-reason": "stale"})
		_, _ = f.conn.WriteToUDP(append([]byte("old_0 "), stale...), from)
		out, _ := Bencode(reply)
		_, _ = f.conn.WriteToUDP(append(append(bytes.Clone(cookie), ' '), out...), from)
	}
}

func (f *fakeNG) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.seen...)
}

func TestNGClientBridge(t *testing.T) {
	tests := []struct {
		name       string
		drop       []string
		wantCaller int
		wantCallee int
		wantSent   int // datagrams the fake saw
	}{
		{"clean", nil, 40004, 30004, 2},
		{"offer resent after a lost datagram", []string{"offer"}, 40004, 30004, 3},
		{"answer resent after a lost datagram", []string{"answer"}, 40004, 30004, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeNG(t, tt.drop...)
			c, err := DialNG(f.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			caller, callee, err := c.Bridge(ctx, "call-1", 5000, 6000)
			if err != nil {
				t.Fatalf("%s: Bridge: %v", tt.name, err)
			}
			if caller != tt.wantCaller || callee != tt.wantCallee {
				t.Fatalf("%s: Bridge = %d, %d; want %d, %d", tt.name, caller, callee, tt.wantCaller, tt.wantCallee)
			}
			reqs := f.requests()
			if len(reqs) != tt.wantSent {
				t.Fatalf("%s: fake saw %d requests, want %d", tt.name, len(reqs), tt.wantSent)
			}
			offer, answer := reqs[0], reqs[len(reqs)-1]
			for i, want := range []map[string]any{
				{"command": "offer", "call-id": "call-1", "from-tag": ngFromTag, "sdp": string(Offer(5000))},
				{"command": "answer", "call-id": "call-1", "from-tag": ngFromTag, "to-tag": ngToTag, "sdp": string(Offer(6000))},
			} {
				got := []map[string]any{offer, answer}[i]
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s: %s[%q] = %#v, want %#v", tt.name, want["command"], k, got[k], v)
					}
				}
			}
			if _, ok := answer["to-tag"]; !ok {
				t.Errorf("%s: answer without to-tag", tt.name)
			}
			if _, ok := offer["to-tag"]; ok {
				t.Errorf("%s: offer with a to-tag", tt.name)
			}
		})
	}
}

func TestNGClientErrors(t *testing.T) {
	f := newFakeNG(t)
	c, err := DialNG(f.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	_, err = c.Do(ctx, map[string]any{"command": "frobnicate"})
	var ng *NGError
	if !errors.As(err, &ng) || ng.Command != "frobnicate" || ng.Reason != "Unrecognized command" {
		t.Fatalf("unknown command: %v, want an *NGError", err)
	}

	// Nothing listening: resends until the context ends.
	dead, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.LocalAddr().String()
	dead.Close()
	c2, err := DialNG(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	short, done := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer done()
	if err := c2.Ping(short); !errors.Is(err, ErrNGTimeout) {
		t.Fatalf("ping to nothing: %v, want ErrNGTimeout", err)
	}
}

// TestRtpengineBridge runs the real daemon (Debian rtpengine-daemon; make
// deps installs it): two calls bridged through it carry content frames
// both ways, and its CPU is readable from /proc. Skipped under -short like
// the interop tests; otherwise a missing rtpengine fails it.
func TestRtpengineBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs rtpengine: skipped under -short")
	}
	re, err := StartRtpengine(t.Context(), t.TempDir(), 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Stop()
	c, err := DialNG(re.NG)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		sink, err := NewRTPSink(true)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		gen, err := newRelayGen(100)
		if err != nil {
			t.Fatal(err)
		}
		defer gen.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		callID := "test-" + strconv.Itoa(i)
		caller, callee, err := c.Bridge(ctx, callID, gen.port(), sink.Port())
		cancel()
		if err != nil {
			t.Fatalf("call %d: Bridge: %v", i, err)
		}
		if caller < re.PortMin || caller > re.PortMax || callee < re.PortMin || callee > re.PortMax || caller == callee {
			t.Fatalf("call %d: ports %d, %d outside %d-%d or equal", i, caller, callee, re.PortMin, re.PortMax)
		}
		gen.target = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: caller}
		gen.record(true)
		gen.start()
		time.Sleep(400 * time.Millisecond) // the thing under test: 400 ms of media through rtpengine
		gen.stop()
		time.Sleep(100 * time.Millisecond) // frames still in flight arrive
		sent, got, _, _, _ := gen.results()
		if sent < 10 || got < sent-2 {
			t.Fatalf("call %d: sent %d content frames, got %d back through rtpengine", i, sent, got)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
		err = c.Delete(ctx, callID)
		cancel()
		if err != nil {
			t.Fatalf("call %d: delete: %v", i, err)
		}
	}
	if _, err := ReadProc(re.Proc.PID()); err != nil {
		t.Fatalf("rtpengine CPU: %v", err)
	}
}

// rtpengineCPU is the core BenchmarkRelay pins rtpengine to: the last one
// ($BENCH_RTPENGINE_CPU overrides it; -1 leaves it unpinned).
func rtpengineCPU() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_RTPENGINE_CPU")); err == nil {
		return v
	}
	return runtime.NumCPU() - 1
}

// rtpengineMissingFails says whether a missing rtpengine fails the
// benchmark: under CI always, elsewhere it prints the error row only.
func rtpengineMissingFails() bool { return os.Getenv("CI") == "true" }

var rtpengineCallSeq atomic.Int64

// setupRtpengineCalls starts rtpengine (userspace, one worker thread,
// pinned with taskset) and bridges each generator to its echo sink through
// it with an ng offer and answer: two rtpengine ports per call. It returns
// the daemon's PID (its CPU counts in the run) and the teardown: delete
// every call, stop the daemon by its PID.
func setupRtpengineCalls(b *testing.B, gens []*relayGen, sinks []*RTPSink) (pid int, pinned string, teardown func(), err error) {
	b.Helper()
	ctx := context.Background()
	re, err := StartRtpengine(ctx, benchDir(), len(gens), rtpengineCPU())
	if err != nil {
		return 0, "", nil, err
	}
	c, err := DialNG(re.NG)
	if err != nil {
		re.Stop()
		return 0, "", nil, err
	}
	var ids []string
	teardown = func() {
		for _, id := range ids {
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_ = c.Delete(dctx, id)
			cancel()
		}
		c.Close()
		re.Stop()
	}
	for i, g := range gens {
		id := fmt.Sprintf("bench-%d-%d", rtpengineCallSeq.Add(1), i)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		caller, _, err := c.Bridge(cctx, id, g.port(), sinks[i].Port())
		cancel()
		if err != nil {
			teardown()
			return 0, "", nil, fmt.Errorf("call %d: %w (see %s)", i, err, re.Log)
		}
		ids = append(ids, id)
		g.target = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: caller}
	}
	pinned = "not pinned"
	if re.CPU >= 0 {
		pinned = fmt.Sprintf("pinned to CPU %d", re.CPU)
	}
	b.Logf("rtpengine pid %d, %s, ng %s, ports %d-%d, log %s", re.Proc.PID(), pinned, re.NG, re.PortMin, re.PortMax, re.Log)
	return re.Proc.PID(), pinned, teardown, nil
}
