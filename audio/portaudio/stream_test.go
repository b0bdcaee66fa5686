package portaudio

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/anyphone/anyphone/audio"
)

// fakePort stands in for a PortAudio stream: Read fills buf with a sine at
// rate, Write appends buf to played. errs are returned by successive calls.
type fakePort struct {
	buf    []int16
	rate   int
	freq   float64
	phase  float64
	played []int16
	errs   []error
	calls  int
}

func (p *fakePort) next() error {
	p.calls++
	if len(p.errs) == 0 {
		return nil
	}
	err := p.errs[0]
	p.errs = p.errs[1:]
	return err
}

func (p *fakePort) Read() error {
	for i := range p.buf {
		p.buf[i] = int16(0.3 * math.MaxInt16 * math.Sin(p.phase))
		p.phase += 2 * math.Pi * p.freq / float64(p.rate)
	}
	return p.next()
}

func (p *fakePort) Write() error {
	p.played = append(p.played, p.buf...)
	return p.next()
}

// fakeStream returns a Stream over fake ports at device rate rate.
func fakeStream(rate int, freq float64) (*Stream, *fakePort, *fakePort, *int, *int) {
	n := rate / 50
	in := &fakePort{buf: make([]int16, n), rate: rate, freq: freq}
	out := &fakePort{buf: make([]int16, n), rate: rate}
	var aborts, releases int
	s := newStream(audio.Narrowband, in, in.buf, rate, out, out.buf, rate,
		func() { aborts++ }, func() error { releases++; return nil })
	return s, in, out, &aborts, &releases
}

func TestStreamResamples(t *testing.T) {
	tests := []struct {
		name string
		rate int
	}{
		{"device at 8 kHz", 8000},
		{"device at 16 kHz", 16000},
		{"device at 44.1 kHz", 44100},
		{"device at 48 kHz", 48000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, out, _, _ := fakeStream(tt.rate, 440)
			det := audio.NewToneDetector(audio.Narrowband, 0)
			tone := audio.NewTone(audio.Narrowband, 1000, 0.3)
			frame := make([]int16, audio.Narrowband.Samples())
			for i := range 100 {
				if err := s.ReadFrame(frame); err != nil {
					t.Fatalf("%s: read %d: %v", tt.name, i, err)
				}
				_ = det.WriteFrame(frame)
				_ = tone.ReadFrame(frame)
				if err := s.WriteFrame(frame); err != nil {
					t.Fatalf("%s: write %d: %v", tt.name, i, err)
				}
			}
			if !det.Detected(440, 0.9) {
				t.Errorf("%s: microphone 440 Hz not captured (ratio %g)", tt.name, det.Ratio(440))
			}
			// Two seconds at the device rate, give or take a buffer.
			if d := len(out.played) - 2*tt.rate; d > 0 || d < -2*tt.rate/50 {
				t.Errorf("%s: played %d samples, want about %d", tt.name, len(out.played), 2*tt.rate)
			}
			tail := out.played[len(out.played)/2:]
			if r := audio.Goertzel(tail, tt.rate, 1000) / audio.MeanSquare(tail); r < 0.9 {
				t.Errorf("%s: speaker share at 1000 Hz = %g", tt.name, r)
			}
		})
	}
}

func TestStreamXruns(t *testing.T) {
	boom := errors.New("device gone")
	tests := []struct {
		name           string
		inErrs         []error
		outErrs        []error
		wantReadErr    error
		wantWriteErr   error
		wantOverflows  uint64
		wantUnderflows uint64
	}{
		{"overflow counted", []error{errInputOverflowed}, nil, nil, nil, 1, 0},
		{"underflow counted", nil, []error{errOutputUnderflowed, errOutputUnderflowed}, nil, nil, 0, 2},
		{"read failure returned", []error{boom}, nil, boom, nil, 0, 0},
		{"write failure returned", nil, []error{boom}, nil, boom, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, in, out, _, _ := fakeStream(48000, 440)
			in.errs, out.errs = tt.inErrs, tt.outErrs
			frame := make([]int16, 160)
			var readErr, writeErr error
			for range 3 {
				readErr = errors.Join(readErr, s.ReadFrame(frame))
				writeErr = errors.Join(writeErr, s.WriteFrame(frame))
			}
			if !errors.Is(readErr, tt.wantReadErr) || (tt.wantReadErr == nil) != (readErr == nil) {
				t.Errorf("%s: read err %v, want %v", tt.name, readErr, tt.wantReadErr)
			}
			if !errors.Is(writeErr, tt.wantWriteErr) || (tt.wantWriteErr == nil) != (writeErr == nil) {
				t.Errorf("%s: write err %v, want %v", tt.name, writeErr, tt.wantWriteErr)
			}
			if got := s.InputOverflowed(); got != tt.wantOverflows {
				t.Errorf("%s: overflows %d, want %d", tt.name, got, tt.wantOverflows)
			}
			if got := s.OutputUnderflowed(); got != tt.wantUnderflows {
				t.Errorf("%s: underflows %d, want %d", tt.name, got, tt.wantUnderflows)
			}
		})
	}
}

func TestStreamClose(t *testing.T) {
	s, _, _, aborts, releases := fakeStream(8000, 440)
	frame := make([]int16, 160)
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close %d: %v", i, err)
		}
	}
	if *aborts != 1 || *releases != 1 {
		t.Errorf("abort called %d times, release %d times; want 1 each", *aborts, *releases)
	}
	if err := s.ReadFrame(frame); !errors.Is(err, audio.ErrClosed) {
		t.Errorf("ReadFrame after Close = %v, want ErrClosed", err)
	}
	if err := s.WriteFrame(frame); !errors.Is(err, audio.ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
}

func TestStreamFramesDoNotAllocate(t *testing.T) {
	s, _, out, _, _ := fakeStream(48000, 440)
	out.played = make([]int16, 0, 1<<20) // the fake's own recording must not count
	frame := make([]int16, 160)
	if n := testing.AllocsPerRun(100, func() { _ = s.ReadFrame(frame); _ = s.WriteFrame(frame) }); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

func TestParseDevices(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		in, out string
		wantErr bool
	}{
		{"defaults", "", "", "", false},
		{"one device both ways", "USB Headset", "USB Headset", "USB Headset", false},
		{"index", "3", "3", "3", false},
		{"name with colon and comma", "HDA Intel: ALC892 (hw:0,0)", "HDA Intel: ALC892 (hw:0,0)", "HDA Intel: ALC892 (hw:0,0)", false},
		{"both keyed", "in=2;out=USB", "2", "USB", false},
		{"only out", "out=USB", "", "USB", false},
		{"only in", "in=Mic", "Mic", "", false},
		{"spaces trimmed", " in= 1 ; out = 2 ", "1", "2", false},
		{"unknown key", "in=1;speaker=2", "", "", true},
		{"duplicate key", "in=1;in=2", "", "", true},
		{"missing equals", "in=1;out", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out, err := ParseDevices(tt.arg)
			if tt.wantErr {
				if !errors.Is(err, ErrBadArg) {
					t.Errorf("%s: err %v, want ErrBadArg", tt.name, err)
				}
				return
			}
			if err != nil || in != tt.in || out != tt.out {
				t.Errorf("%s: ParseDevices(%q) = %q, %q, %v; want %q, %q", tt.name, tt.arg, in, out, err, tt.in, tt.out)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(audio.Backends(), Name) {
		t.Fatalf("backends %v lack %q", audio.Backends(), Name)
	}
	// A bad device argument is reported through audio.Open with the spec.
	_, _, _, err := audio.Open("portaudio:in=1;bogus=2", audio.Narrowband)
	var se *audio.SpecError
	if !errors.As(err, &se) || se.Spec != "portaudio:in=1;bogus=2" || !errors.Is(err, ErrBadArg) {
		t.Errorf("audio.Open with bad argument: %v", err)
	}
}

// TestStreamNamesSilentErrors: PortAudio's ALSA host API fails with an
// empty error text when the sound server dies; the stream names it.
func TestStreamNamesSilentErrors(t *testing.T) {
	s, in, out, _, _ := fakeStream(8000, 440)
	in.errs = []error{errors.New("")}
	out.errs = []error{errors.New("")}
	frame := make([]int16, audio.Narrowband.Samples())
	if err := s.ReadFrame(frame); !errors.Is(err, errNoText) || err.Error() == "portaudio: read: " {
		t.Errorf("read: %q", err)
	}
	if err := s.WriteFrame(frame); !errors.Is(err, errNoText) {
		t.Errorf("write: %q", err)
	}
}
