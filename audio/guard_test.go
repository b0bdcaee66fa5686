package audio

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCard is a sound card paced like a real one (a frame every frame
// time) that a test can make fail or hang, as a sound server's client
// library does when the server dies.
type fakeCard struct {
	f      Format
	hang   chan struct{} // closed: reads never return (until release)
	fail   atomic.Bool   // reads and writes return an error
	closed atomic.Bool
	reads  atomic.Int64
	writes atomic.Int64
	value  int16 // every captured sample
}

var errCardGone = errors.New("card gone")

func newFakeCard(f Format, v int16) *fakeCard {
	return &fakeCard{f: f, hang: make(chan struct{}), value: v}
}

func (c *fakeCard) ReadFrame(dst []int16) error {
	time.Sleep(c.f.Frame)
	select {
	case <-c.hang:
		select {} // stuck for good, like Pa_ReadStream on a dead server
	default:
	}
	if c.fail.Load() {
		return errCardGone
	}
	for i := range dst {
		dst[i] = c.value
	}
	c.reads.Add(1)
	return nil
}

func (c *fakeCard) WriteFrame(src []int16) error {
	if c.fail.Load() {
		return errCardGone
	}
	c.writes.Add(1)
	return nil
}

func (c *fakeCard) Close() error { c.closed.Store(true); return nil }

// cardOpener hands out the cards a test queues; with none queued, or
// while down, it fails as an open against a dead server does.
type cardOpener struct {
	mu    sync.Mutex
	down  bool
	cards []*fakeCard
	opens int
}

func (o *cardOpener) open() (Source, Sink, io.Closer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	if o.down || len(o.cards) == 0 {
		return nil, nil, nil, errors.New("connection refused")
	}
	c := o.cards[0]
	o.cards = o.cards[1:]
	return c, c, c, nil
}

func (o *cardOpener) set(down bool, cards ...*fakeCard) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
	o.cards = append(o.cards, cards...)
}

// events records a guard's state changes.
type events struct {
	mu  sync.Mutex
	evs []DeviceEvent
	at  []time.Time
}

func (e *events) add(ev DeviceEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
	e.at = append(e.at, time.Now())
}

// waitState waits up to d for the state st after index from, returning
// when it was reached.
func (e *events) waitState(t *testing.T, st DeviceState, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		for i := len(e.evs) - 1; i >= 0; i-- {
			if e.evs[i].State == st {
				at := e.at[i]
				e.mu.Unlock()
				return at
			}
		}
		e.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t.Fatalf("no %v within %v; events %+v", st, d, e.evs)
	return time.Time{}
}

// pump plays the hub's part: it reads and writes a frame every frame
// time until stop, and counts frames that carried the card's value.
func pump(g *Guard, f Format, value int16, stop <-chan struct{}, heard *atomic.Int64) {
	buf := make([]int16, f.Samples())
	t := time.NewTicker(f.Frame)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		_ = g.ReadFrame(buf)
		if time.Since(start) > 3*f.Frame {
			panic("ReadFrame blocked")
		}
		if buf[0] == value {
			heard.Add(1)
		}
		_ = g.WriteFrame(buf)
	}
}

func TestGuardSurvivesLostDevice(t *testing.T) {
	for _, how := range []string{"hang", "fail"} {
		t.Run(how, func(t *testing.T) {
			f := Narrowband
			first := newFakeCard(f, 1000)
			op := &cardOpener{}
			op.set(false, first)
			var ev events
			g := NewGuard(op.open, nil, GuardOptions{Format: f, OnChange: ev.add})
			stop := make(chan struct{})
			var heard atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() { pump(g, f, 1000, stop, &heard) })
			defer func() { close(stop); wg.Wait() }()

			ev.waitState(t, DeviceOpen, time.Second)
			time.Sleep(300 * time.Millisecond)
			if heard.Load() < 5 {
				t.Fatalf("%s: heard %d frames of the card before the loss", how, heard.Load())
			}
			op.set(true) // the server is gone: opens fail
			lostAt := time.Now()
			if how == "hang" {
				close(first.hang)
			} else {
				first.fail.Store(true)
			}
			at := ev.waitState(t, DeviceLost, 2*time.Second)
			if d := at.Sub(lostAt); d > time.Second {
				t.Errorf("%s: loss noticed after %v, want within 1 s", how, d)
			}
			time.Sleep(500 * time.Millisecond) // reopen attempts fail meanwhile

			second := newFakeCard(f, 2000)
			back := time.Now()
			op.set(false, second)
			reopen := func() time.Time {
				deadline := time.Now().Add(3 * time.Second)
				for time.Now().Before(deadline) {
					if second.reads.Load() > 0 && g.State() == DeviceOpen {
						return time.Now()
					}
					time.Sleep(5 * time.Millisecond)
				}
				t.Fatalf("%s: device not reopened within 3 s; events %+v", how, ev.evs)
				return time.Time{}
			}()
			if d := reopen.Sub(back); d > 2*time.Second {
				t.Errorf("%s: reopened %v after the device came back, want within 2 s", how, d)
			}
			time.Sleep(200 * time.Millisecond)
			if second.writes.Load() == 0 {
				t.Errorf("%s: nothing played on the reopened device", how)
			}
			if how == "fail" && !first.closed.Load() {
				t.Errorf("%s: the failed device was not closed", how)
			}
			if how == "hang" && first.closed.Load() {
				t.Errorf("%s: the stuck device was closed under its blocked read", how)
			}

			start := time.Now()
			_ = g.Close()
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s: Close took %v", how, d)
			}
			if !second.closed.Load() {
				t.Errorf("%s: Close left the device open", how)
			}
		})
	}
}

// TestGuardCloseAbandonsStuckRead: quitting with the device stuck in a
// read returns at once and never closes the device under the read.
func TestGuardCloseAbandonsStuckRead(t *testing.T) {
	f := Narrowband
	c := newFakeCard(f, 1)
	op := &cardOpener{}
	op.set(false, c)
	// A long Stall: Close must not rely on the loss being noticed first.
	g := NewGuard(op.open, nil, GuardOptions{Format: f, Stall: time.Hour})
	deadline := time.Now().Add(time.Second)
	for c.reads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(c.hang)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	_ = g.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a stuck read", d)
	}
	if c.closed.Load() {
		t.Error("the device was closed under a blocked read")
	}
}

// TestGuardLazy: a lazy guard opens the device only while needed and
// closes it after.
func TestGuardLazy(t *testing.T) {
	f := Narrowband
	op := &cardOpener{}
	a, b := newFakeCard(f, 1), newFakeCard(f, 2)
	op.set(false, a, b)
	var ev events
	g := NewGuard(op.open, nil, GuardOptions{Format: f, Lazy: true, OnChange: ev.add})
	defer g.Close()
	time.Sleep(200 * time.Millisecond)
	if op.opens != 0 || g.State() != DeviceIdle {
		t.Fatalf("idle lazy guard: %d opens, state %v", op.opens, g.State())
	}
	g.SetNeeded(true)
	ev.waitState(t, DeviceOpen, time.Second)
	g.SetNeeded(false)
	ev.waitState(t, DeviceIdle, time.Second)
	if !a.closed.Load() {
		t.Error("device still open with nothing needing it")
	}
	g.SetNeeded(true)
	deadline := time.Now().Add(time.Second)
	for b.reads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if b.reads.Load() == 0 {
		t.Error("device not opened again for the next call")
	}
}

// TestGuardReadNoStaleSilence: a reader that takes each frame as soon as it
// is captured (the hub, paced by the device) gets every frame and never a
// silent one slipped in: the wake-up of a frame already taken is stale.
// The peer heard dropouts after each reconnect from those silences.
func TestGuardReadNoStaleSilence(t *testing.T) {
	c := newFakeCard(Narrowband, 1000)
	g := NewGuard(func() (Source, Sink, io.Closer, error) { return c, c, c, nil }, nil, GuardOptions{})
	defer g.Close()
	buf := make([]int16, Narrowband.Samples())
	deadline := time.Now().Add(3 * time.Second)
	for c.reads.Load() < 3 { // the device is open and moving frames
		if time.Now().After(deadline) {
			t.Fatal("the device never delivered")
		}
		_ = g.ReadFrame(buf)
	}
	silent := 0
	for i := range 50 {
		if !g.Paced() {
			t.Fatalf("read %d: the guard is not pacing", i)
		}
		_ = g.ReadFrame(buf)
		if buf[0] == 0 {
			silent++
		}
		if i%5 == 0 {
			time.Sleep(Narrowband.Frame + Narrowband.Frame/4) // a late reader: a frame waits, its wake-up with it
		}
	}
	if silent > 0 {
		t.Errorf("%d of 50 frames silent, want none", silent)
	}
}

// xrunCard is a fakeCard that counts overflows and underflows.
type xrunCard struct {
	*fakeCard
	over, under atomic.Uint64
}

func (c *xrunCard) InputOverflowed() uint64   { return c.over.Load() }
func (c *xrunCard) OutputUnderflowed() uint64 { return c.under.Load() }

// TestGuardLogsXrunBurstOnce: a burst of overflows and underflows is one
// log line with its counts, not one per event.
func TestGuardLogsXrunBurstOnce(t *testing.T) {
	c := &xrunCard{fakeCard: newFakeCard(Narrowband, 1)}
	var mu sync.Mutex
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	g := NewGuard(func() (Source, Sink, io.Closer, error) { return c, c, c, nil }, nil, GuardOptions{Log: log})
	defer g.Close()
	time.Sleep(200 * time.Millisecond)
	for range 5 {
		c.over.Add(2)
		c.under.Add(1)
		time.Sleep(60 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "overflow/underflow burst"); n != 1 {
		t.Fatalf("%d burst lines, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "overflows=10 underflows=5") {
		t.Errorf("the burst line does not give its counts:\n%s", out)
	}
	// The settings pane's counts.
	if o, u := g.Xruns(); o != 10 || u != 5 {
		t.Errorf("Xruns() = %d, %d; want 10, 5", o, u)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
