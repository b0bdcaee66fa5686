package audio

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readFrames reads n frames from src into a ToneDetector.
func readFrames(t *testing.T, src Source, n int) *ToneDetector {
	t.Helper()
	det := NewToneDetector(Narrowband, 0)
	frame := make([]int16, Narrowband.Samples())
	for i := range n {
		if err := src.ReadFrame(frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		_ = det.WriteFrame(frame)
	}
	return det
}

func TestOpenSources(t *testing.T) {
	dir := t.TempDir()
	wavPath := filepath.Join(dir, "tone.wav")
	writeFile(t, wavPath, Format{SampleRate: 16000, Channels: 2}, func() []int16 {
		m := sine(16000, 1000, 0.3, 1600)
		s := make([]int16, 0, 2*len(m))
		for _, v := range m {
			s = append(s, v, v)
		}
		return s
	}())
	tests := []struct {
		name     string
		spec     string
		freq     float64 // tone the source must carry; 0: silence
		wantType any
	}{
		{"null", "null", 0, (*Null)(nil)},
		{"tone", "tone:440", 440, (*Tone)(nil)},
		{"tone with amplitude", "tone:1000,0.8", 1000, (*Tone)(nil)},
		{"wav loops a short file", "wav:" + wavPath, 1000, (*WAVSource)(nil)},
		{"echo starts silent", "echo", 0, (*Echo)(nil)},
		{"pipe starts silent", "pipe", 0, (*Pipe)(nil)},
		{"record alone is silent", "record:" + filepath.Join(dir, "r.wav"), 0, (*Null)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, sink, closer, err := Open(tt.spec, Narrowband)
			if err != nil {
				t.Fatalf("%s: Open(%q): %v", tt.name, tt.spec, err)
			}
			defer closer.Close()
			if sink == nil {
				t.Fatalf("%s: nil sink", tt.name)
			}
			if err := sink.WriteFrame(make([]int16, 160)); err != nil {
				t.Errorf("%s: sink write: %v", tt.name, err)
			}
			if got, want := reflect.TypeOf(src), reflect.TypeOf(tt.wantType); got != want {
				t.Errorf("%s: source is %v, want %v", tt.name, got, want)
			}
			det := readFrames(t, src, 50) // one second: the WAV file loops ten times
			if tt.freq == 0 {
				if ms := det.MeanSquare(); ms != 0 {
					t.Errorf("%s: mean square %g, want silence", tt.name, ms)
				}
				return
			}
			if !det.Detected(tt.freq, 0.9) {
				t.Errorf("%s: %g Hz not detected (ratio %g)", tt.name, tt.freq, det.Ratio(tt.freq))
			}
			if err := closer.Close(); err != nil {
				t.Errorf("%s: Close: %v", tt.name, err)
			}
			if err := src.ReadFrame(make([]int16, 160)); !errors.Is(err, ErrClosed) {
				t.Errorf("%s: read after Close = %v, want ErrClosed", tt.name, err)
			}
		})
	}
}

func TestOpenWAVOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.wav")
	writeFile(t, path, Narrowband, sine(8000, 440, 0.3, 200))
	src, _, closer, err := Open("wav-once:"+path, Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	frame := make([]int16, 160)
	for i, want := range []error{nil, nil, io.EOF} {
		if err := src.ReadFrame(frame); !errors.Is(err, want) {
			t.Errorf("read %d: %v, want %v", i, err, want)
		}
	}
}

func TestOpenEchoHearsItself(t *testing.T) {
	src, sink, closer, err := Open("echo", Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	tone := NewTone(Narrowband, 1000, 0.3)
	det := NewToneDetector(Narrowband, 0)
	frame := make([]int16, 160)
	for range 50 {
		_ = tone.ReadFrame(frame)
		_ = sink.WriteFrame(frame)
		_ = src.ReadFrame(frame)
		_ = det.WriteFrame(frame)
	}
	if !det.Detected(1000, 0.9) {
		t.Errorf("echo: 1000 Hz not heard back (ratio %g)", det.Ratio(1000))
	}
}

func TestOpenPipe(t *testing.T) {
	src, sink, closer, err := Open("pipe", Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	p, ok := src.(*Pipe)
	if !ok || sink != Sink(p) {
		t.Fatalf("pipe spec: source %T, sink %T, want the same *Pipe", src, sink)
	}
	_ = p.Push([]int16{5, 6})
	got := make([]int16, 3)
	_ = src.ReadFrame(got)
	_ = sink.WriteFrame(got)
	if r := p.Received(); len(r) != 3 || r[0] != 5 || r[1] != 6 || r[2] != 0 {
		t.Errorf("received %v, want [5 6 0]", r)
	}
}

func TestOpenRecord(t *testing.T) {
	tests := []struct {
		name string
		base string
	}{
		{"record alone", ""},
		{"echo plus record", "echo+"},
		{"tone plus record", "tone:440+"},
		{"null plus record, path with plus and colon", "null+"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a+b:c", "call.wav")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			_, sink, closer, err := Open(tt.base+"record:"+path, Narrowband)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			tone := NewTone(Narrowband, 1000, 0.3)
			frame := make([]int16, 160)
			for range 25 {
				_ = tone.ReadFrame(frame)
				if err := sink.WriteFrame(frame); err != nil {
					t.Fatalf("case %d: write: %v", i, err)
				}
			}
			if err := closer.Close(); err != nil {
				t.Fatalf("case %d: close: %v", i, err)
			}
			got, info := readFile(t, path)
			if info.SampleRate != 8000 || info.Channels != 1 || len(got) != 25*160 {
				t.Fatalf("case %d: recorded %d samples, %+v; want 4000 at 8 kHz mono", i, len(got), info)
			}
			if r := Goertzel(got, 8000, 1000) / MeanSquare(got); r < 0.95 {
				t.Errorf("case %d: recording share at 1000 Hz = %g", i, r)
			}
		})
	}
}

func TestOpenSpecErrors(t *testing.T) {
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "not.wav")
	if err := os.WriteFile(notWAV, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	eightBit := filepath.Join(dir, "8bit.wav")
	if err := os.WriteFile(eightBit, wavBytes(pcmFmt(1, 1, 8000, 8, 1), 4, []byte{1, 2, 3, 4}), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.wav")
	writeFile(t, empty, Narrowband, nil)
	tests := []struct {
		name string
		spec string
		kind error
	}{
		{"empty", "", ErrBadSpec},
		{"unknown", "speaker", ErrUnknownBackend},
		{"unknown with arg", "alsa:hw0", ErrUnknownBackend},
		{"null with arg", "null:1", ErrBadSpec},
		{"echo with arg", "echo:3", ErrBadSpec},
		{"pipe with arg", "pipe:x", ErrBadSpec},
		{"tone without freq", "tone", ErrBadSpec},
		{"tone not a number", "tone:abc", ErrBadSpec},
		{"tone above nyquist", "tone:4000", ErrBadSpec},
		{"tone negative", "tone:-5", ErrBadSpec},
		{"tone bad amplitude", "tone:440,2", ErrBadSpec},
		{"tone amplitude zero", "tone:440,0", ErrBadSpec},
		{"wav without path", "wav:", ErrBadSpec},
		{"wav missing file", "wav:" + filepath.Join(dir, "nope.wav"), os.ErrNotExist},
		{"wav not a wav", "wav:" + notWAV, ErrBadWAV},
		{"wav 8-bit", "wav:" + eightBit, ErrUnsupportedWAV},
		{"wav empty", "wav:" + empty, ErrEmptyWAV},
		{"record without path", "echo+record:", ErrBadSpec},
		{"record into missing dir", "record:" + filepath.Join(dir, "no", "x.wav"), os.ErrNotExist},
		{"auto without portaudio", "auto", ErrUnknownBackend},
		{"auto with arg", "auto:1", ErrBadSpec},
		{"bad base with record", "bogus+record:" + filepath.Join(dir, "x.wav"), ErrUnknownBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, closer, err := Open(tt.spec, Narrowband)
			if err == nil {
				closer.Close()
				t.Fatalf("%s: Open(%q) succeeded", tt.name, tt.spec)
			}
			var se *SpecError
			if !errors.As(err, &se) || se.Spec != tt.spec {
				t.Fatalf("%s: err %v is not a *SpecError for %q", tt.name, err, tt.spec)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("%s: err %v, want %v", tt.name, err, tt.kind)
			}
			if !strings.Contains(err.Error(), `"`+tt.spec+`"`) {
				t.Errorf("%s: message %q does not name the spec", tt.name, err)
			}
		})
	}
}

func TestOpenBadFormat(t *testing.T) {
	var se *SpecError
	if _, _, _, err := Open("null", Format{}); !errors.As(err, &se) || !errors.Is(err, ErrBadSpec) {
		t.Errorf("zero format: %v, want SpecError wrapping ErrBadSpec", err)
	}
}

func TestTee(t *testing.T) {
	a, b := NewCapture(0), NewCapture(0)
	closed := new(Null)
	_ = closed.Close()
	tests := []struct {
		name    string
		sinks   []Sink
		wantErr bool
	}{
		{"two", []Sink{a, b}, false},
		{"nil skipped", []Sink{nil, a, nil, b}, false},
		{"failure does not stop others", []Sink{closed, a, b}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Reset()
			b.Reset()
			err := Tee(tt.sinks...).WriteFrame([]int16{1, 2})
			if (err != nil) != tt.wantErr {
				t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, ErrClosed) {
				t.Errorf("%s: err %v does not wrap ErrClosed", tt.name, err)
			}
			if a.Len() != 2 || b.Len() != 2 {
				t.Errorf("%s: sinks got %d and %d samples, want 2 each", tt.name, a.Len(), b.Len())
			}
		})
	}
	if s := Tee(a); s != Sink(a) {
		t.Errorf("Tee of one sink should return it")
	}
}
