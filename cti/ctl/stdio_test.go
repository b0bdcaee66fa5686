package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// stdioPeer runs ServeStdio over pipes and reads its output line by line.
type stdioPeer struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *bufio.Scanner
	done chan struct{} // closed when ServeStdio returned
	err  error         // what it returned, once done is closed
}

// wait waits up to 5 s for ServeStdio to return and returns its error.
func (p *stdioPeer) wait() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(5 * time.Second):
		return false, nil
	}
}

func startStdio(t *testing.T, f *fakeController, opts StdioOptions) *stdioPeer {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	p := &stdioPeer{t: t, in: inW, out: bufio.NewScanner(outR), done: make(chan struct{})}
	p.out.Buffer(make([]byte, 1<<20), 1<<20)
	go func() {
		p.err = ServeStdio(ctx, f, inR, outW, opts)
		outW.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		go io.Copy(io.Discard, outR) // unblock a last write
		if ok, _ := p.wait(); !ok {
			t.Error("ServeStdio did not return")
		}
	})
	return p
}

func (p *stdioPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("write %q: %v", line, err)
	}
}

// next returns the next output line decoded into a generic map.
func (p *stdioPeer) next() map[string]any {
	p.t.Helper()
	if !p.out.Scan() {
		p.t.Fatalf("no more output: %v", p.out.Err())
	}
	var m map[string]any
	if err := json.Unmarshal(p.out.Bytes(), &m); err != nil {
		p.t.Fatalf("output line is not JSON: %v: %q", err, p.out.Text())
	}
	return m
}

func TestStdioRoundTrip(t *testing.T) {
	f := newFake()
	p := startStdio(t, f, StdioOptions{})

	p.send(`{"id":"1","cmd":"dial","args":{"to":"sip:bob@127.0.0.1:5070"}}`)
	if m := p.next(); m["id"] != "1" || m["ok"] != true || m["result"].(map[string]any)["call_id"] != "c9" {
		t.Errorf("dial response %v", m)
	}
	p.send(``)
	p.send(`# a comment`)
	p.send(`not json`)
	if m := p.next(); m["ok"] != false || m["error"].(map[string]any)["code"] != CodeBadRequest {
		t.Errorf("bad line response %v", m)
	}
	p.send(`{"id":"big","cmd":"ping","args":{"x":"` + strings.Repeat("y", 3*MaxLine) + `"}}`)
	if m := p.next(); m["ok"] != false || m["error"].(map[string]any)["code"] != CodeBadRequest || m["id"] != nil {
		t.Errorf("huge line response %v", m)
	}
	p.send(`{"id":"2","cmd":"ping"}`)
	if m := p.next(); m["id"] != "2" || m["ok"] != true {
		t.Errorf("ping after huge line %v", m)
	}
	p.send(`{"id":"3","cmd":"subscribe"}`)
	m := p.next()
	if m["id"] != "3" || m["ok"] != true || len(m["result"].(map[string]any)["calls"].([]any)) != 2 {
		t.Errorf("subscribe response %v", m)
	}
	f.notify("hello")
	if m := p.next(); m["event"] != "notice" || m["text"] != "hello" || m["level"] != "info" {
		t.Errorf("event %v", m)
	}
	p.send(`{"id":"4","cmd":"unsubscribe"}`)
	if m := p.next(); m["id"] != "4" || m["ok"] != true {
		t.Errorf("unsubscribe response %v", m)
	}
	f.notify("unheard")
	p.send(`{"id":"5","cmd":"ping"}`)
	if m := p.next(); m["id"] != "5" {
		t.Errorf("after unsubscribe got %v, want the ping response", m)
	}
	p.in.Close()
	if ok, err := p.wait(); !ok {
		t.Fatal("ServeStdio did not return at EOF")
	} else if err != nil {
		t.Errorf("ServeStdio at EOF = %v, want nil", err)
	}
	if got := f.recorded(); len(got) != 1 || got[0] != "Dial sip:bob@127.0.0.1:5070   0" {
		t.Errorf("controller calls %q", got)
	}
}

func TestStdioEventsNeverInterleave(t *testing.T) {
	f := newFake()
	p := startStdio(t, f, StdioOptions{Events: true, Now: func() time.Time { return fakeTime }})
	p.send(`{"cmd":"ping"}`) // once answered, the subscription exists
	p.next()
	const n = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for range n {
			f.notify(strings.Repeat("z", 2000))
		}
	})
	wg.Go(func() {
		for range n {
			p.send(`{"cmd":"status"}`)
		}
	})
	events, responses := 0, 0
	for events+responses < 2*n {
		m := p.next() // fails the test on a torn line
		switch {
		case m["event"] == "notice":
			events++
			if m["time"] != "2025-03-01T12:00:00Z" {
				t.Fatalf("event time %v", m["time"])
			}
		case m["ok"] == true:
			responses++
		default:
			t.Fatalf("unexpected line %v", m)
		}
	}
	wg.Wait()
}

func TestStdioEventsGoOnAfterEOF(t *testing.T) {
	f := newFake()
	p := startStdio(t, f, StdioOptions{Events: true})
	p.send(`{"cmd":"ping"}`)
	p.next()
	p.in.Close()
	f.notify("still here")
	if m := p.next(); m["event"] != "notice" || m["text"] != "still here" {
		t.Errorf("event after EOF %v", m)
	}
	select {
	case <-p.done:
		t.Fatalf("ServeStdio returned %v at EOF in events mode", p.err)
	default:
	}
}

func TestServeStdioEmitsOnSharedLineWriter(t *testing.T) {
	f := newFake()
	var buf bytes.Buffer
	lw := NewLineWriter(&buf)
	if err := lw.Emit("ready", map[string]string{"uri": "sip:a@127.0.0.1:5"}); err != nil {
		t.Fatal(err)
	}
	err := ServeStdio(t.Context(), f, strings.NewReader(`{"id":"1","cmd":"ping"}`), lw, StdioOptions{})
	if err != nil {
		t.Fatalf("ServeStdio = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"event":"ready","time":`) || lines[1] != `{"id":"1","ok":true,"result":{"pong":true}}` {
		t.Errorf("output %q", lines)
	}
}

func TestServeStdioContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	defer w.Close()
	done := make(chan error, 1)
	go func() { done <- ServeStdio(ctx, newFake(), r, io.Discard, StdioOptions{}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ServeStdio = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeStdio did not return when ctx ended")
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name  string
		in    string
		max   int
		lines []string // "!" marks a too-long line
	}{
		{"plain", "a\nb\n", 10, []string{"a", "b"}},
		{"no final newline", "a\nb", 10, []string{"a", "b"}},
		{"crlf", "a\r\n", 10, []string{"a"}},
		{"exactly max", "0123456789\n", 10, []string{"0123456789"}},
		{"over max", "0123456789a\nok\n", 10, []string{"!", "ok"}},
		{"over buffer and max", long + "\nok", 50, []string{"!", "ok"}},
		{"long within max", long + "\n", 200, []string{long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			var got []string
			for {
				b, err := readLine(br, tt.max)
				if errors.Is(err, io.EOF) {
					break
				}
				var e *Error
				if errors.As(err, &e) && e.Code == CodeBadRequest {
					got = append(got, "!")
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				got = append(got, string(b))
			}
			if strings.Join(got, "|") != strings.Join(tt.lines, "|") {
				t.Errorf("%s: lines %q, want %q", tt.name, got, tt.lines)
			}
		})
	}
}
