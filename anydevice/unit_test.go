package anydevice

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

func TestPolicyCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      Policy
		dialed string
		rule   string
	}{
		{"national", Policy{}, "+4930123456", ""},
		{"national with 0", Policy{}, "030 123456", ""},
		{"premium", Policy{}, "0900 1234567", "premium"},
		{"premium allowed", Policy{Premium: true}, "+49900123456", ""},
		{"mass call", Policy{}, "+49137123456", "premium"},
		{"international", Policy{}, "+33123456789", "international"},
		{"international allowed", Policy{International: true}, "+33123456789", ""},
		{"pattern hit", Policy{Allow: []string{"+4989*"}}, "+4989123", ""},
		{"pattern miss", Policy{Allow: []string{"+4989*"}}, "+4930123", "pattern"},
		{"deny", Policy{Deny: []string{"+4930*"}}, "+4930123", "deny"},
		{"not a number", Policy{}, "alice", "not-a-number"},
		{"uri allowed", Policy{URIs: true}, "alice", ""},
		{"other home", Policy{HomeCountry: "+43"}, "01 234567", ""},
	} {
		n := tc.p.Normalize(tc.dialed)
		if got := tc.p.Check(n); got != tc.rule {
			t.Errorf("%s: Check(%q → %q) = %q, want %q", tc.name, tc.dialed, n, got, tc.rule)
		}
	}
}

func TestPortRelay(t *testing.T) {
	a, b := NewPort(), NewPort()
	frame := make([]int16, frameSamples)
	out := make([]int16, frameSamples)
	rb := NewRingback()
	a.SetFill(rb)
	// Unconnected: a sends its fill (ringback).
	_ = a.ReadFrame(out)
	if audio.MeanSquare(out) == 0 {
		t.Fatalf("no ringback from an unconnected port")
	}
	Connect(a, b)
	a.SetFill(nil)
	for i := range frame {
		frame[i] = int16(i)
	}
	_ = b.WriteFrame(frame) // b's leg received a frame: a sends it
	_ = a.ReadFrame(out)
	if out[5] != 5 {
		t.Fatalf("relayed frame wrong: %v", out[:8])
	}
	// Underrun: silence, counted.
	_ = a.ReadFrame(out)
	if audio.MeanSquare(out) != 0 || a.Stats().Underruns != 1 {
		t.Fatalf("underrun: %v %+v", out[:4], a.Stats())
	}
	// A writer ahead of the reader is bounded.
	for range 10 {
		_ = b.WriteFrame(frame)
	}
	if b.Stats().Dropped == 0 {
		t.Errorf("no frames dropped with 10 queued")
	}
	if n := testing.AllocsPerRun(100, func() { _ = b.WriteFrame(frame); _ = a.ReadFrame(out) }); n != 0 {
		t.Errorf("relay allocates %v per frame", n)
	}
}

func TestRingbackCadence(t *testing.T) {
	rb := NewRingback()
	frame := make([]int16, frameSamples)
	det := audio.NewToneDetector(audio.Narrowband, 500*time.Millisecond)
	on, off := 0, 0
	for i := range 250 { // 5 s
		_ = rb.ReadFrame(frame)
		if i < 40 {
			_ = det.WriteFrame(frame)
		}
		if audio.MeanSquare(frame) > 0.001 {
			on++
			if i >= 50 {
				t.Fatalf("tone at frame %d, want silence after 1 s", i)
			}
		} else {
			off++
		}
	}
	if !det.Detected(425, 0.5) {
		t.Errorf("ringback is not 425 Hz (ratio %.2f)", det.Ratio(425))
	}
	if on != 50 || off != 200 {
		t.Errorf("on %d off %d frames, want 50/200 (1 s on, 4 s off)", on, off)
	}
}

// TestPortShedsBacklog: a writer that stays a frame ahead of the reader
// (phase, or a burst after jitter) would add 20 ms or more for the whole
// call; after half a second the port drops one frame to shed it.
func TestPortShedsBacklog(t *testing.T) {
	a, b := NewPort(), NewPort()
	Connect(a, b)
	frame := make([]int16, frameSamples)
	out := make([]int16, frameSamples)
	_ = b.WriteFrame(frame) // one frame of standing backlog
	for i := range 100 {
		frame[0] = int16(i)
		_ = b.WriteFrame(frame)
		_ = a.ReadFrame(out)
	}
	b.mu.Lock()
	queued, shed := b.count, b.shrunk
	b.mu.Unlock()
	if queued != 0 || shed != 1 {
		t.Errorf("after 100 frames: %d queued, %d shed; want 0 queued after shedding 1", queued, shed)
	}
	if out[0] != 99 {
		t.Errorf("last frame read %d, want the newest (99)", out[0])
	}
}
