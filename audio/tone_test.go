package audio

import (
	"errors"
	"math"
	"testing"
)

func TestToneFrequency(t *testing.T) {
	tests := []struct {
		name      string
		freq      float64
		neighbour float64
	}{
		{"440 vs 500", 440, 500},
		{"1000 vs 1100", 1000, 1100},
		{"350 vs 440", 350, 440},
		{"3000 vs 2900", 3000, 2900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tone := NewTone(Narrowband, tt.freq, 0.5)
			samples := make([]int16, 0, 8000)
			frame := make([]int16, Narrowband.Samples())
			for range 50 {
				if err := tone.ReadFrame(frame); err != nil {
					t.Fatalf("%s: ReadFrame: %v", tt.name, err)
				}
				samples = append(samples, frame...)
			}
			want := 0.5 * 0.5 / 2
			if got := Goertzel(samples, 8000, tt.freq); math.Abs(got-want) > 0.01 {
				t.Errorf("%s: power at %g Hz = %g, want about %g", tt.name, tt.freq, got, want)
			}
			if got := Goertzel(samples, 8000, tt.neighbour); got > want*1e-3 {
				t.Errorf("%s: power at neighbour %g Hz = %g, want < %g", tt.name, tt.neighbour, got, want*1e-3)
			}
		})
	}
}

// TestTonePhaseContinuous checks that frames join without a discontinuity:
// many small reads give the same samples as one long read.
func TestTonePhaseContinuous(t *testing.T) {
	long := make([]int16, 1600)
	if err := NewTone(Narrowband, 440, 0.3).ReadFrame(long); err != nil {
		t.Fatal(err)
	}
	tone := NewTone(Narrowband, 440, 0.3)
	var joined []int16
	for _, n := range []int{160, 7, 33, 400, 1000} {
		buf := make([]int16, n)
		if err := tone.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
		joined = append(joined, buf...)
	}
	for i := range long {
		if d := int(long[i]) - int(joined[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d: long read %d, frame reads %d", i, long[i], joined[i])
		}
	}
}

func TestToneStereo(t *testing.T) {
	f := Format{SampleRate: 8000, Channels: 2, Frame: Narrowband.Frame}
	buf := make([]int16, f.Samples()+1) // odd length: last sample is silence
	if err := NewTone(f, 440, 0.5).ReadFrame(buf); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < f.Samples(); i += 2 {
		if buf[i] != buf[i+1] {
			t.Fatalf("sample frame %d: channels differ: %d %d", i/2, buf[i], buf[i+1])
		}
	}
	if buf[len(buf)-1] != 0 {
		t.Errorf("trailing partial sample = %d, want 0", buf[len(buf)-1])
	}
}

func TestClosedSources(t *testing.T) {
	tests := []struct {
		name string
		src  interface {
			Source
			Close() error
		}
	}{
		{"null", new(Null)},
		{"tone", NewTone(Narrowband, 440, 0.3)},
		{"echo", NewEcho(Narrowband, 0)},
		{"pipe", NewPipe(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]int16, 160)
			if err := tt.src.ReadFrame(buf); err != nil {
				t.Fatalf("%s: ReadFrame before Close: %v", tt.name, err)
			}
			if err := tt.src.Close(); err != nil {
				t.Fatalf("%s: Close: %v", tt.name, err)
			}
			if err := tt.src.ReadFrame(buf); !errors.Is(err, ErrClosed) {
				t.Errorf("%s: ReadFrame after Close = %v, want ErrClosed", tt.name, err)
			}
			if s, ok := tt.src.(Sink); ok {
				if err := s.WriteFrame(buf); !errors.Is(err, ErrClosed) {
					t.Errorf("%s: WriteFrame after Close = %v, want ErrClosed", tt.name, err)
				}
			}
		})
	}
}

// TestFramePathsDoNotAllocate guards the per-frame paths that run 50 times a
// second per call.
func TestFramePathsDoNotAllocate(t *testing.T) {
	frame := make([]int16, Narrowband.Samples())
	tone := NewTone(Narrowband, 440, 0.3)
	echo := NewEcho(Narrowband, 0)
	null := new(Null)
	det := NewToneDetector(Narrowband, 0)
	tee := Tee(null, echo, det)
	tests := []struct {
		name string
		fn   func()
	}{
		{"tone read", func() { _ = tone.ReadFrame(frame) }},
		{"null read", func() { _ = null.ReadFrame(frame) }},
		{"null write", func() { _ = null.WriteFrame(frame) }},
		{"echo write+read", func() { _ = echo.WriteFrame(frame); _ = echo.ReadFrame(frame) }},
		{"detector write", func() { _ = det.WriteFrame(frame) }},
		{"tee write", func() { _ = tee.WriteFrame(frame) }},
		{"goertzel", func() { _ = Goertzel(frame, 8000, 440) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Errorf("%s: %v allocations per frame, want 0", tt.name, n)
			}
		})
	}
}

func BenchmarkToneReadFrame(b *testing.B) {
	tone := NewTone(Narrowband, 440, 0.3)
	frame := make([]int16, Narrowband.Samples())
	b.ReportAllocs()
	for b.Loop() {
		if err := tone.ReadFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEchoFrame(b *testing.B) {
	echo := NewEcho(Narrowband, 0)
	frame := make([]int16, Narrowband.Samples())
	b.ReportAllocs()
	for b.Loop() {
		_ = echo.WriteFrame(frame)
		_ = echo.ReadFrame(frame)
	}
}
