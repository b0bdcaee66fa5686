package audio

import (
	"math"
	"testing"
)

func TestResampler(t *testing.T) {
	tests := []struct {
		name       string
		in, out    int
		freq       float64 // tone fed in
		wantFreq   float64 // where it must appear in the output
		wantRatio  float64 // minimum share of output power at wantFreq (0: expect absence)
		checkAlias float64 // when non-zero, power at this output frequency must be tiny
	}{
		{"48k to 8k keeps 440", 48000, 8000, 440, 440, 0.95, 0},
		{"48k to 8k keeps 3000", 48000, 8000, 3000, 3000, 0.9, 0},
		{"48k to 8k removes 5000 (would alias to 3000)", 48000, 8000, 5000, 0, 0, 3000},
		{"44.1k to 8k keeps 1000", 44100, 8000, 1000, 1000, 0.95, 0},
		{"16k to 8k keeps 1000", 16000, 8000, 1000, 1000, 0.95, 0},
		{"8k to 48k keeps 440", 8000, 48000, 440, 440, 0.95, 0},
		{"8k to 48k has no image at 7560", 8000, 48000, 440, 0, 0, 7560},
		{"8k to 44.1k keeps 1000", 8000, 44100, 1000, 1000, 0.95, 0},
		{"8k to 8k copies", 8000, 8000, 1000, 1000, 0.99, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResampler(tt.in, tt.out)
			src := sine(tt.in, tt.freq, 0.5, tt.in) // one second
			// Feed in 20 ms frames to exercise carried state.
			frame := tt.in / 50
			var out []int16
			for i := 0; i < len(src); i += frame {
				out = r.Process(out, src[i:min(i+frame, len(src))])
			}
			if d := len(out) - tt.out; d < -2 || d > 2 {
				t.Errorf("%s: %d output samples, want about %d", tt.name, len(out), tt.out)
			}
			tail := out[len(out)/4:] // skip the filter's start-up
			ms := MeanSquare(tail)
			if tt.wantRatio > 0 {
				if got := Goertzel(tail, tt.out, tt.wantFreq) / ms; got < tt.wantRatio {
					t.Errorf("%s: share at %g Hz = %g, want >= %g", tt.name, tt.wantFreq, got, tt.wantRatio)
				}
				if math.Abs(ms-0.125) > 0.02 {
					t.Errorf("%s: mean square %g, want about 0.125 (gain changed)", tt.name, ms)
				}
			}
			if tt.checkAlias > 0 {
				if got := Goertzel(tail, tt.out, tt.checkAlias); got > 0.125*1e-3 {
					t.Errorf("%s: power at %g Hz = %g, want < %g", tt.name, tt.checkAlias, got, 0.125*1e-3)
				}
			}
		})
	}
}

func TestResamplerNoAllocWithCapacity(t *testing.T) {
	r := NewResampler(48000, 8000)
	src := sine(48000, 440, 0.3, 960)
	dst := make([]int16, 0, r.MaxOut(len(src)))
	if n := testing.AllocsPerRun(50, func() { dst = r.Process(dst[:0], src) }); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
	if len(dst) > r.MaxOut(len(src)) {
		t.Errorf("produced %d samples, MaxOut says %d", len(dst), r.MaxOut(len(src)))
	}
}

func BenchmarkResampler48kTo8k(b *testing.B) {
	r := NewResampler(48000, 8000)
	src := sine(48000, 440, 0.3, 960)
	dst := make([]int16, 0, r.MaxOut(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Process(dst[:0], src)
	}
}
