package audio

import (
	"slices"
	"testing"
	"time"
)

// ramp returns n samples counting up from start.
func ramp(start, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(start + i)
	}
	return s
}

func TestEcho(t *testing.T) {
	f := Format{SampleRate: 200, Channels: 1, Frame: 20 * time.Millisecond} // 4 samples per frame
	type op struct {
		write []int16 // written when non-nil
		read  int     // samples to read when write is nil
		want  []int16 // expected read result
	}
	tests := []struct {
		name    string
		frames  int
		ops     []op
		dropped uint64
	}{
		{
			name: "empty reads silence",
			ops:  []op{{read: 4, want: []int16{0, 0, 0, 0}}},
		},
		{
			name: "in order",
			ops: []op{
				{write: ramp(1, 4)},
				{write: ramp(5, 4)},
				{read: 4, want: ramp(1, 4)},
				{read: 4, want: ramp(5, 4)},
				{read: 2, want: []int16{0, 0}},
			},
		},
		{
			name: "underflow pads with silence",
			ops: []op{
				{write: ramp(1, 3)},
				{read: 4, want: []int16{1, 2, 3, 0}},
			},
		},
		{
			name:   "overflow drops oldest",
			frames: 2,
			ops: []op{
				{write: ramp(1, 4)},
				{write: ramp(5, 4)},
				{write: ramp(9, 4)},
				{read: 8, want: ramp(5, 8)},
			},
			dropped: 4,
		},
		{
			name:   "wraps around",
			frames: 2,
			ops: []op{
				{write: ramp(1, 6)},
				{read: 5, want: ramp(1, 5)},
				{write: ramp(7, 6)},
				{read: 8, want: []int16{6, 7, 8, 9, 10, 11, 12, 0}},
			},
		},
		{
			name:   "write larger than ring keeps newest",
			frames: 1,
			ops: []op{
				{write: ramp(1, 10)},
				{read: 4, want: ramp(7, 4)},
			},
			dropped: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEcho(f, tt.frames)
			for i, o := range tt.ops {
				if o.write != nil {
					if err := e.WriteFrame(o.write); err != nil {
						t.Fatalf("%s op %d: write: %v", tt.name, i, err)
					}
					continue
				}
				got := make([]int16, o.read)
				for j := range got {
					got[j] = -1 // must be overwritten
				}
				if err := e.ReadFrame(got); err != nil {
					t.Fatalf("%s op %d: read: %v", tt.name, i, err)
				}
				if !slices.Equal(got, o.want) {
					t.Errorf("%s op %d: read %v, want %v", tt.name, i, got, o.want)
				}
			}
			if got := e.Dropped(); got != tt.dropped {
				t.Errorf("%s: dropped %d, want %d", tt.name, got, tt.dropped)
			}
		})
	}
}

// TestEchoCarriesTone is the "call hears itself" check: a tone written to
// the sink comes back out of the source.
func TestEchoCarriesTone(t *testing.T) {
	e := NewEcho(Narrowband, 0)
	tone := NewTone(Narrowband, 1000, 0.3)
	det := NewToneDetector(Narrowband, 0)
	frame := make([]int16, Narrowband.Samples())
	for range 50 {
		_ = tone.ReadFrame(frame)
		_ = e.WriteFrame(frame)
		_ = e.ReadFrame(frame)
		_ = det.WriteFrame(frame)
	}
	if !det.Detected(1000, 0.9) {
		t.Errorf("1000 Hz not heard back: ratio %g", det.Ratio(1000))
	}
}
