package phonetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/phone"
)

// Events records a phone's events for assertions.
type Events struct {
	mu     sync.Mutex
	all    []phone.Event
	change chan struct{}
}

func newEvents() *Events { return &Events{change: make(chan struct{})} }

// Add records ev; it never blocks.
func (e *Events) Add(ev phone.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	close(e.change)
	e.change = make(chan struct{})
	e.mu.Unlock()
}

// All returns a copy of every event so far.
func (e *Events) All() []phone.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]phone.Event(nil), e.all...)
}

// WaitFor waits until pred matches an event and returns it, or fails t.
func (e *Events) WaitFor(t testing.TB, timeout time.Duration, what string, pred func(phone.Event) bool) phone.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		e.mu.Lock()
		for ; seen < len(e.all); seen++ {
			if pred(e.all[seen]) {
				ev := e.all[seen]
				e.mu.Unlock()
				return ev
			}
		}
		ch := e.change
		e.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; events: %s", timeout, what, e.summary())
			return nil
		}
	}
}

// WaitCall waits for a CallChanged of any call matching pred.
func (e *Events) WaitCall(t testing.TB, timeout time.Duration, what string, pred func(phone.CallInfo) bool) phone.CallInfo {
	t.Helper()
	ev := e.WaitFor(t, timeout, what, func(ev phone.Event) bool {
		cc, ok := ev.(phone.CallChanged)
		return ok && pred(cc.Call)
	})
	return ev.(phone.CallChanged).Call
}

// WaitState waits for call id (any call when id is "") to reach state.
func (e *Events) WaitState(t testing.TB, id phone.CallID, s phone.CallState) phone.CallInfo {
	t.Helper()
	return e.WaitCall(t, 10*time.Second, fmt.Sprintf("call %q %s", id, s), func(ci phone.CallInfo) bool {
		return (id == "" || ci.ID == id) && ci.State == s
	})
}

func (e *Events) summary() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := ""
	for _, ev := range e.all {
		switch v := ev.(type) {
		case phone.CallChanged:
			s += fmt.Sprintf("[%s %s %s]", v.Call.ID, v.Call.State, v.Call.Direction)
		default:
			s += fmt.Sprintf("[%T]", ev)
		}
	}
	return s
}

// Media gives each call of a test phone a tone source and a detector sink.
type Media struct {
	Tone float64 // Hz sent; 0 sends silence
	// Rate is the phone's Config.AudioRate: the rate of the tone and the
	// detector (0: 8000; phone.AudioRateCodec: the call's codec's).
	Rate int

	mu        sync.Mutex
	detectors map[phone.CallID]*audio.ToneDetector
}

// Func is the phone.MediaFunc.
func (m *Media) Func(ci phone.CallInfo) (audio.Source, audio.Sink, error) {
	spec := "null"
	if m.Tone > 0 {
		spec = fmt.Sprintf("tone:%g", m.Tone)
	}
	f := audio.Narrowband
	switch m.Rate {
	case 0:
	case phone.AudioRateCodec:
		f.SampleRate = phone.CodecRate(ci.Codec)
	default:
		f.SampleRate = m.Rate
	}
	src, _, _, err := audio.Open(spec, f)
	if err != nil {
		return nil, nil, err
	}
	det := audio.NewToneDetector(f, 500*time.Millisecond)
	m.mu.Lock()
	if m.detectors == nil {
		m.detectors = map[phone.CallID]*audio.ToneDetector{}
	}
	m.detectors[ci.ID] = det
	m.mu.Unlock()
	return src, det, nil
}

// Detector returns the detector of call id (nil before media started).
func (m *Media) Detector(id phone.CallID) *audio.ToneDetector {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.detectors[id]
}

// WaitTone waits until call id hears freq.
func (m *Media) WaitTone(t testing.TB, id phone.CallID, freq float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if d := m.Detector(id); d != nil && d.Detected(freq, 0.5) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := m.Detector(id)
	if d == nil {
		t.Fatalf("call %s: no media started within %s", id, timeout)
	}
	t.Fatalf("call %s: %g Hz not heard within %s (ratio %.2f, %d samples)", id, freq, timeout, d.Ratio(freq), d.Total())
}

// Phone is a started test phone with its events and media.
type Phone struct {
	*phone.Phone
	Events *Events
	Media  *Media
}

// NewPhone starts a phone on 127.0.0.1:0 sending tone Hz (0: silence) and
// closes it when the test ends. cfg may be nil.
func NewPhone(t testing.TB, tone float64, cfg *phone.Config) *Phone {
	t.Helper()
	var c phone.Config
	if cfg != nil {
		c = *cfg
	}
	ev := newEvents()
	m := &Media{Tone: tone, Rate: c.AudioRate}
	c.Events = ev.Add
	c.Media = m.Func
	if c.Logger == nil {
		level := slog.LevelWarn
		if os.Getenv("ANYPHONE_TEST_DEBUG") != "" {
			level = slog.LevelDebug
		}
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	p, err := phone.New(c)
	if err != nil {
		t.Fatalf("phone.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		cancel()
		t.Fatalf("phone.Start: %v", err)
	}
	t.Cleanup(func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = p.Shutdown(sctx)
		cancel()
	})
	return &Phone{Phone: p, Events: ev, Media: m}
}
