package audio

import (
	"math"
	"testing"
	"time"
)

// sine returns n samples of a sine of freq hertz and amplitude amp at rate.
func sine(rate int, freq, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.MaxInt16 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

// mix adds sample slices of equal length.
func mix(parts ...[]int16) []int16 {
	out := make([]int16, len(parts[0]))
	for _, p := range parts {
		for i := range out {
			out[i] += p[i]
		}
	}
	return out
}

func TestGoertzel(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
		freq    float64
		min     float64
		max     float64
	}{
		{"440 at 440", sine(8000, 440, 0.5, 8000), 440, 0.12, 0.13},
		{"440 at 500", sine(8000, 440, 0.5, 8000), 500, 0, 1e-4},
		{"440 at 1000", sine(8000, 440, 0.5, 8000), 1000, 0, 1e-4},
		{"1000 at 1000, non-integer cycles", sine(8000, 1000, 0.25, 1234), 1000, 0.029, 0.033},
		{"1000 at 440", sine(8000, 1000, 0.5, 8000), 440, 0, 1e-4},
		{"silence", make([]int16, 800), 440, 0, 0},
		{"empty", nil, 440, 0, 0},
		{"full scale 16 kHz", sine(16000, 2000, 1, 16000), 2000, 0.49, 0.51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rate := 8000
			if tt.name == "full scale 16 kHz" {
				rate = 16000
			}
			if got := Goertzel(tt.samples, rate, tt.freq); got < tt.min || got > tt.max {
				t.Errorf("%s: Goertzel = %g, want in [%g, %g]", tt.name, got, tt.min, tt.max)
			}
		})
	}
}

func TestToneDetector(t *testing.T) {
	const n = 8000
	tests := []struct {
		name     string
		feed     [][]int16 // written in 160-sample frames, in order
		freq     float64
		minRatio float64
		want     bool
	}{
		{"440 detected", [][]int16{sine(8000, 440, 0.3, n)}, 440, 0.9, true},
		{"440 is not 500", [][]int16{sine(8000, 440, 0.3, n)}, 500, 0.1, false},
		{"1000 detected", [][]int16{sine(8000, 1000, 0.3, n)}, 1000, 0.9, true},
		{"1000 is not 440", [][]int16{sine(8000, 1000, 0.3, n)}, 440, 0.1, false},
		{"silence", [][]int16{make([]int16, n)}, 440, 0.1, false},
		{"too short", [][]int16{sine(8000, 440, 0.3, 320)}, 440, 0.5, false},
		{"half of a mix", [][]int16{mix(sine(8000, 440, 0.3, n), sine(8000, 1000, 0.3, n))}, 440, 0.45, true},
		{"window slides to newer tone", [][]int16{sine(8000, 440, 0.3, n), sine(8000, 1000, 0.3, n)}, 1000, 0.9, true},
		{"window forgets older tone", [][]int16{sine(8000, 440, 0.3, n), sine(8000, 1000, 0.3, n)}, 440, 0.01, false},
		{"quiet but clean", [][]int16{sine(8000, 440, 0.01, n)}, 440, 0.9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewToneDetector(Narrowband, time.Second)
			for _, s := range tt.feed {
				for i := 0; i < len(s); i += 160 {
					if err := d.WriteFrame(s[i:min(i+160, len(s))]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := d.Detected(tt.freq, tt.minRatio); got != tt.want {
				t.Errorf("%s: Detected(%g, %g) = %v, want %v (ratio %g, power %g)",
					tt.name, tt.freq, tt.minRatio, got, tt.want, d.Ratio(tt.freq), d.Power(tt.freq))
			}
		})
	}
}

func TestToneDetectorReset(t *testing.T) {
	d := NewToneDetector(Narrowband, 0)
	_ = d.WriteFrame(sine(8000, 440, 0.3, 1600))
	if d.Len() != 1600 || d.Total() != 1600 {
		t.Fatalf("len %d total %d, want 1600", d.Len(), d.Total())
	}
	d.Reset()
	if d.Len() != 0 || d.Detected(440, 0.1) {
		t.Errorf("after Reset: len %d, detected %v", d.Len(), d.Detected(440, 0.1))
	}
}

func BenchmarkGoertzelFrame(b *testing.B) {
	frame := sine(8000, 440, 0.3, 160)
	b.ReportAllocs()
	for b.Loop() {
		_ = Goertzel(frame, 8000, 440)
	}
}

func BenchmarkToneDetectorDetected(b *testing.B) {
	d := NewToneDetector(Narrowband, time.Second)
	_ = d.WriteFrame(sine(8000, 440, 0.3, 8000))
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Detected(440, 0.9)
	}
}
