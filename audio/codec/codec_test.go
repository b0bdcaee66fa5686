package codec_test

import (
	"errors"
	"fmt"
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

// TestResampler: a 1 kHz tone keeps its frequency through every rate
// change, and a 6 kHz tone at 48 kHz leaves nothing (no 2 kHz alias) when
// brought down to 8 kHz.
func TestResampler(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		freq    float64
		pass    bool
	}{
		{48000, 8000, 1000, true}, {8000, 48000, 1000, true}, {16000, 8000, 1000, true},
		{8000, 16000, 1000, true}, {48000, 16000, 6000, true}, {48000, 8000, 6000, false},
	} {
		name := fmt.Sprintf("%d to %d at %g Hz", tc.in, tc.out, tc.freq)
		r := codec.NewResampler(tc.in, tc.out)
		tone := audio.NewTone(audio.Format{SampleRate: tc.in, Channels: 1}, tc.freq, 0.3)
		det := audio.NewToneDetector(audio.Format{SampleRate: tc.out, Channels: 1}, 500*time.Millisecond)
		in := make([]int16, tc.in/50)
		var out []int16
		n := 0
		for range 50 {
			_ = tone.ReadFrame(in)
			out = r.Process(out[:0], in)
			n += len(out)
			_ = det.WriteFrame(out)
		}
		_ = r.Close()
		if want := tc.out; n < want-tc.out/50 || n > want+2 {
			t.Errorf("%s: %d samples out of 1 s, want about %d", name, n, want)
		}
		if tc.pass {
			if r := det.Ratio(tc.freq); r < 0.9 {
				t.Errorf("%s: ratio %.3f, want >= 0.9", name, r)
			}
			continue
		}
		// Above the new Nyquist frequency: nothing may come through, in
		// particular no alias (6 kHz folds to 2 kHz at 8 kHz).
		if ms := det.MeanSquare(); ms > 1e-5 {
			t.Errorf("%s: %.2g mean square left (2 kHz alias ratio %.3f), want silence", name, ms, det.Ratio(2000))
		}
	}
}
