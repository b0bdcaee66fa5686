package codec_test

import (
	"errors"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/audio/codec"
)

// roundTrip sends one second of a freq tone through c, frame by frame, and
// returns how much of the decoded power is at freq.
func roundTrip(t *testing.T, c codec.Codec, freq float64) float64 {
	t.Helper()
	f := audio.Format{SampleRate: c.SampleRate(), Channels: 1, Frame: 20 * time.Millisecond}
	tone := audio.NewTone(f, freq, 0.3)
	det := audio.NewToneDetector(f, 500*time.Millisecond)
	frame := make([]int16, f.Samples())
	payload := make([]byte, 1500)
	out := make([]int16, 5760)
	for range 50 {
		_ = tone.ReadFrame(frame)
		n, err := c.Encode(payload, frame)
		if err != nil || n == 0 {
			t.Fatalf("encode: n=%d err=%v", n, err)
		}
		k, err := c.Decode(out, payload[:n])
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if k != len(frame) {
			t.Fatalf("decode gave %d samples, want %d", k, len(frame))
		}
		_ = det.WriteFrame(out[:k])
	}
	return det.Ratio(freq)
}

// TestCodecsCarryTones: each codec carries a 1 kHz tone; the wideband ones
// (G.722 up to 7 kHz, Opus up to 20 kHz) also a 6 kHz tone, which G.711
// (8 kHz sampling) cannot represent at all.
func TestCodecsCarryTones(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    int
		freq    float64
		min     float64
		payload int // bytes per 20 ms, 0: variable
	}{
		{"PCMU", 8000, 1000, 0.9, 160},
		{"PCMA", 8000, 1000, 0.9, 160},
		{"G722", 16000, 1000, 0.9, 160},
		{"G722", 16000, 6000, 0.8, 160},
		{"opus", 48000, 1000, 0.9, 0},
		{"opus", 48000, 6000, 0.8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := codec.New(tc.name)
			if err != nil {
				t.Fatalf("New(%q): %v", tc.name, err)
			}
			defer c.Close()
			if c.SampleRate() != tc.rate {
				t.Fatalf("%s: rate %d, want %d", tc.name, c.SampleRate(), tc.rate)
			}
			if r := roundTrip(t, c, tc.freq); r < tc.min {
				t.Fatalf("%s: %g Hz ratio %.3f after a round trip, want >= %.2f", tc.name, tc.freq, r, tc.min)
			}
			if tc.payload > 0 {
				pcm := make([]int16, tc.rate/50)
				buf := make([]byte, 1500)
				if n, _ := c.Encode(buf, pcm); n != tc.payload {
					t.Fatalf("%s: %d payload bytes per 20 ms, want %d", tc.name, n, tc.payload)
				}
			}
		})
	}
}

func TestNewNames(t *testing.T) {
	for _, name := range []string{"pcmu", "PCMA", "g722", "OPUS"} {
		c, err := codec.New(name)
		if err != nil {
			t.Errorf("New(%q): %v", name, err)
			continue
		}
		_ = c.Close()
	}
	if _, err := codec.New("GSM"); !errors.Is(err, codec.ErrUnknown) {
		t.Errorf("New(GSM) = %v, want ErrUnknown", err)
	}
}
