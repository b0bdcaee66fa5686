package anydevice_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// recorder keeps a controller's events.
type recorder struct {
	mu     sync.Mutex
	all    []anydevice.Event
	change chan struct{}
}

func newRecorder() *recorder { return &recorder{change: make(chan struct{})} }

func (r *recorder) add(ev anydevice.Event) {
	r.mu.Lock()
	r.all = append(r.all, ev)
	close(r.change)
	r.change = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) events() []anydevice.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]anydevice.Event(nil), r.all...)
}

func (r *recorder) wait(t *testing.T, timeout time.Duration, what string, pred func(anydevice.Event) bool) anydevice.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.all); seen++ {
			if pred(r.all[seen]) {
				ev := r.all[seen]
				r.mu.Unlock()
				return ev
			}
		}
		ch := r.change
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
			return nil
		}
	}
}

func (r *recorder) waitSession(t *testing.T, id anydevice.SessionID, st anydevice.State) anydevice.SessionInfo {
	t.Helper()
	ev := r.wait(t, 10*time.Second, "session "+string(id)+" "+st.String(), func(ev anydevice.Event) bool {
		sc, ok := ev.(anydevice.SessionChanged)
		return ok && (id == "" || sc.Session.ID == id) && sc.Session.State == st
	})
	return ev.(anydevice.SessionChanged).Session
}

func (r *recorder) waitRefused(t *testing.T, rule string) anydevice.Refused {
	t.Helper()
	return r.wait(t, 5*time.Second, "refused "+rule, func(ev anydevice.Event) bool {
		x, ok := ev.(anydevice.Refused)
		return ok && x.Rule == rule
	}).(anydevice.Refused)
}

// newController starts a controller on 127.0.0.1:0 for users.
func newController(t *testing.T, users []anydevice.User, mod func(*anydevice.Config)) (*anydevice.Controller, *recorder) {
	t.Helper()
	rec := newRecorder()
	level := slog.LevelWarn
	if os.Getenv("ANYPHONE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg := anydevice.Config{
		Phone:  phone.Config{Name: "ctl", Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))},
		Users:  users,
		Events: rec.add,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := anydevice.New(cfg)
	if err != nil {
		t.Fatalf("anydevice.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = c.Shutdown(sctx)
		cancel()
	})
	return c, rec
}

// waitTrace waits until the trace file at path contains every want.
func waitTrace(t *testing.T, path string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, _ := os.ReadFile(path)
		missing := ""
		for _, w := range want {
			if !strings.Contains(string(raw), w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return string(raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s lacks %q", path, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answer waits for an incoming call on p and answers it after delay.
func answer(t *testing.T, p *phonetest.Phone, delay time.Duration) phone.CallInfo {
	t.Helper()
	in := p.Events.WaitState(t, "", phone.CallIncoming)
	time.Sleep(delay)
	if err := p.Answer(in.ID); err != nil {
		t.Fatalf("answer %s: %v", in.ID, err)
	}
	p.Events.WaitState(t, in.ID, phone.CallActive)
	return in
}

// dtmfDigits collects the digits p received on call id.
func dtmfDigits(p *phonetest.Phone, id phone.CallID) string {
	var b strings.Builder
	for _, ev := range p.Events.All() {
		if d, ok := ev.(phone.DTMFReceived); ok && d.CallID == id {
			b.WriteRune(d.Digit)
		}
	}
	return b.String()
}

func waitDigits(t *testing.T, p *phonetest.Phone, id phone.CallID, want string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for dtmfDigits(p, id) != want {
		if time.Now().After(deadline) {
			t.Fatalf("call %s received DTMF %q, want %q", id, dtmfDigits(p, id), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
