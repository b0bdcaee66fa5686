package audio

import (
	"context"
	"sync"
	"testing"
	"time"
)

// pacedDevice is a sound card that paces the hub: ReadPaced returns a
// frame every tick of its own clock, numbered in its first sample; the
// speaker records each frame's first sample with the number of the last
// frame captured before it was written.
type pacedDevice struct {
	n        int
	frame    time.Duration
	captured chan int // frame numbers, as they are captured

	mu     sync.Mutex
	seq    int
	played [][2]int // {captured frame number at write, sample[0] written}
	t0     time.Time
}

func (d *pacedDevice) Paced() bool { return true }

func (d *pacedDevice) ReadPaced(dst []int16) bool {
	d.mu.Lock()
	if d.t0.IsZero() {
		d.t0 = time.Now()
	}
	next := d.t0.Add(time.Duration(d.seq+1) * d.frame)
	d.mu.Unlock()
	time.Sleep(time.Until(next))
	d.mu.Lock()
	d.seq++
	seq := d.seq
	d.mu.Unlock()
	clear(dst)
	dst[0] = int16(seq)
	select {
	case d.captured <- seq:
	default:
	}
	return true
}

func (d *pacedDevice) ReadFrame(dst []int16) error {
	d.ReadPaced(dst)
	return nil
}

func (d *pacedDevice) WriteFrame(src []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.played = append(d.played, [2]int{d.seq, int(src[0])})
	return nil
}

// TestHubPacedPlayout: with a device that paces the capture, a call's
// port is told of each captured frame as it comes (a sender waiting on
// FrameReady sends it at once), and a frame the call receives a few
// milliseconds after a capture (an echo peer on the LAN) is played before
// the next capture, not a frame later; the speaker gets one frame per
// captured frame, so no frame piles up over time.
func TestHubPacedPlayout(t *testing.T) {
	dev := &pacedDevice{n: Narrowband.Samples(), frame: Narrowband.Frame, captured: make(chan int, 1)}
	h := NewHub(dev, dev, Narrowband)
	p := h.Port("a")
	h.SetLive("a", true)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()

	// The call: sends each captured frame when FrameReady says so, and
	// "receives" its echo 3 ms later.
	buf := make([]int16, dev.n)
	var sentLate int
	const frames = 100
	for i := 0; i < frames; i++ {
		var seq int
		select {
		case seq = <-dev.captured:
		case <-time.After(time.Second):
			t.Fatal("the device captured nothing")
		}
		select {
		case <-p.FrameReady():
		case <-time.After(dev.frame):
			sentLate++
			continue
		}
		if !p.Paced() {
			t.Fatal("port not paced by a pacing device")
		}
		if i == 0 {
			// A port that is not live gets no frames: its sender must
			// keep its own pace, not wait for FrameReady.
			if q := h.Port("held"); q.Paced() {
				t.Error("a port that is not live claims the device's pace")
			}
		}
		_ = p.ReadFrame(buf)
		time.Sleep(3 * time.Millisecond)
		echo := make([]int16, dev.n)
		echo[0] = int16(seq)
		_ = p.WriteFrame(echo)
	}
	cancel()
	<-done

	if sentLate > frames/10 {
		t.Errorf("FrameReady was late for %d of %d captured frames", sentLate, frames)
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	// Skip the first second's frames: the playout phase is learnt from
	// the arrivals.
	var sameFrame, later, writes int
	for _, pw := range dev.played {
		if pw[0] <= 50 {
			continue
		}
		writes++
		switch {
		case pw[1] == 0:
		case pw[1] == pw[0]:
			sameFrame++
		default:
			later++
		}
	}
	// Played at the capture (no phase), none would be: the echo comes 3 ms
	// after it. A loaded machine (-race, packages in parallel) delays
	// some arrivals past the learnt phase, so a third is the bar.
	if sameFrame*3 < sameFrame+later {
		t.Errorf("%d echoed frames played in the frame they came back in, %d later: want the playout just after the arrivals", sameFrame, later)
	}
	if captured := dev.seq - 50; writes < captured-2 || writes > captured+2 {
		t.Errorf("%d speaker writes for %d captured frames: the playout must follow the capture's clock", writes, captured)
	}
}
