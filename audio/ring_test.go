package audio

import (
	"context"
	"testing"
	"time"
)

// A queue that a burst left three frames deep, between a writer and a
// reader at the same rate, must not hold that delay for good: within a
// couple of windows it is down to one frame, and the frame dropped is the
// quietest.
func TestFrameRingTrimsStandingDepth(t *testing.T) {
	const n = 4
	r := newTrimRing(10, n, 0)
	frame := func(v int16) []int16 { return []int16{v, v, v, v} }
	for i := range 4 { // the burst: four frames at once
		r.push(frame(int16(100 + i)))
	}
	dst := make([]int16, n)
	for i := range 3 * trimWindow { // then one in, one out
		if !r.pop(dst) {
			t.Fatalf("pop %d: empty", i)
		}
		v := int16(200 + i)
		if i == trimWindow-3 {
			v = 1 // the quietest queued when the first window ends
		}
		r.push(frame(v))
		if dst[0] == 1 {
			t.Errorf("pop %d: the quietest frame was played, want it dropped", i)
		}
	}
	if r.count > 1 {
		t.Errorf("standing depth %d frames after %d pops, want at most 1 (the one just pushed)", r.count, 3*trimWindow)
	}
	if r.trimmed == 0 {
		t.Error("nothing trimmed")
	}

	// A ring without keep holds what it holds.
	u := newFrameRing(10, n)
	for range 4 {
		u.push(frame(7))
	}
	for range 3 * trimWindow {
		u.pop(dst)
		u.push(frame(7))
	}
	if u.count != 4 {
		t.Errorf("untrimmed ring: depth %d, want 4", u.count)
	}
}

// The echo reflector holds one frame at most for long, whatever a burst
// of received frames left in it.
func TestEchoTrimsStandingDelay(t *testing.T) {
	f := Narrowband
	e := NewEcho(f, 0)
	fr := make([]int16, f.Samples())
	for range 4 {
		_ = e.WriteFrame(fr)
	}
	for range 3 * trimWindow {
		_ = e.ReadFrame(fr)
		_ = e.WriteFrame(fr)
	}
	if e.n > f.Samples() {
		t.Errorf("echo holds %d samples after a burst, want at most the frame just written (%d)", e.n, f.Samples())
	}
}

// A burst of frames written to the speaker at once stays ahead of it for
// good unless the writer drops some: the limiter brings the lead down to
// a frame and a half, dropping quiet frames only while loud ones keep
// coming less than 4 windows.
func TestLeadLimiterBoundsSpeakerLead(t *testing.T) {
	frame := Narrowband.Frame
	l := leadLimiter{frame: frame}
	quiet := make([]int16, Narrowband.Samples())
	now := time.Unix(0, 0)
	played := time.Duration(0) // what went to the device
	write := func() {
		if !l.skip(now, quiet) {
			played += frame
		}
	}
	for range 5 { // the burst: 100 ms at once
		write()
	}
	start := now
	for range 6 * leadWindow {
		now = now.Add(frame)
		write()
	}
	lead := played - now.Sub(start)
	if lead > frame*leadKeep/2+frame {
		t.Errorf("the speaker is %v ahead after %d frames, want at most %v", lead, 6*leadWindow, frame*leadKeep/2+frame)
	}
	// Steady writes with no burst drop nothing.
	l2 := leadLimiter{frame: frame}
	for i := range 10 * leadWindow {
		if l2.skip(time.Unix(0, 0).Add(time.Duration(i)*frame), quiet) {
			t.Fatalf("write %d: a steady writer had a frame dropped", i)
		}
	}
}

// constSource captures frames of one value.
type constSource int16

func (c constSource) ReadFrame(dst []int16) error {
	for i := range dst {
		dst[i] = int16(c)
	}
	return nil
}

// A microphone delivered in bursts (PulseAudio re-rendering a source in
// blocks after a restart) reaches the call whole: a burst of 5 frames
// captured at once is sent as 5 frames, not cut to the queue's last 3 with
// silence after them (the dropouts the peer heard after a reconnect).
func TestHubCaptureBurstKept(t *testing.T) {
	h := NewHub(constSource(1000), new(Null), Narrowband)
	p := h.Port("c1")
	h.SetLive("c1", true)
	buf := make([]int16, Narrowband.Samples())
	for round := range 20 {
		for range 5 {
			_ = h.captureFrame()
		}
		for i := range 5 {
			_ = p.ReadFrame(buf)
			if buf[0] == 0 {
				t.Fatalf("round %d, frame %d of the burst: silence", round, i)
			}
		}
	}
}

// burstyPacer is a paced microphone that delivers a frame only every other
// read (a sound server handing over two frames every two frame times).
type burstyPacer struct{ n int }

func (b *burstyPacer) ReadFrame(dst []int16) error { // as the guard's: silence when late
	if !b.ReadPaced(dst) {
		clear(dst)
	}
	return nil
}

func (b *burstyPacer) Paced() bool { return true }

func (b *burstyPacer) ReadPaced(dst []int16) bool {
	time.Sleep(Narrowband.Frame / 4)
	b.n++
	if b.n%2 == 0 {
		return false
	}
	for i := range dst {
		dst[i] = 1000
	}
	return true
}

// A paced microphone that comes late sends nothing rather than a silent
// frame: the silence would go out and the frame after it be delayed (the
// peer heard up to 60 ms dropouts in a steady call).
func TestHubPacedCaptureNoSilence(t *testing.T) {
	h := NewHub(&burstyPacer{}, new(Null), Narrowband)
	p := h.Port("c1")
	h.SetLive("c1", true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = h.Run(ctx)
	buf := make([]int16, Narrowband.Samples())
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for p.tx.pop(buf) {
		n++
		if buf[0] == 0 {
			t.Fatalf("frame %d: silence queued for the call", n)
		}
	}
	if n == 0 {
		t.Fatal("nothing captured")
	}
}
