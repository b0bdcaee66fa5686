package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// wavBytes builds a WAV file by hand so tests do not depend on WriteWAV.
// fmtBody is the fmt chunk body; extra chunks go between fmt and data.
func wavBytes(fmtBody []byte, dataSize uint32, data []byte, extra ...[]byte) []byte {
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 0) // readers must not rely on it
	b = append(b, "WAVE"...)
	b = append(b, "fmt "...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(fmtBody)))
	b = append(b, fmtBody...)
	for _, e := range extra {
		b = append(b, e...)
	}
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, dataSize)
	return append(b, data...)
}

// pcmFmt returns a plain PCM fmt chunk body.
func pcmFmt(tag uint16, chans, rate, bits, align int) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint16(b, tag)
	b = le.AppendUint16(b, uint16(chans))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*align))
	b = le.AppendUint16(b, uint16(align))
	return le.AppendUint16(b, uint16(bits))
}

// extensibleFmt returns a WAVE_FORMAT_EXTENSIBLE fmt body with sub-format sub.
func extensibleFmt(chans, rate int, sub uint16) []byte {
	le := binary.LittleEndian
	b := pcmFmt(wavFormatExtensible, chans, rate, 16, 2*chans)
	b = le.AppendUint16(b, 22) // cbSize
	b = le.AppendUint16(b, 16) // valid bits
	b = le.AppendUint32(b, 4)  // channel mask
	b = le.AppendUint16(b, sub)
	return append(b, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71)
}

func TestReadWAV(t *testing.T) {
	data := []byte{1, 0, 2, 0, 0xFF, 0xFF, 0, 0x80} // 1, 2, -1, -32768
	samples := []int16{1, 2, -1, -32768}
	list := append([]byte("LIST"), 3, 0, 0, 0, 'a', 'b', 'c', 0) // odd size + pad byte
	tests := []struct {
		name     string
		in       []byte
		want     []int16
		wantInfo WAVInfo
		wantErr  error
	}{
		{"mono 8k", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 8, data), samples, WAVInfo{8000, 1, 16, false}, nil},
		{"stereo 48k", wavBytes(pcmFmt(1, 2, 48000, 16, 4), 8, data), samples, WAVInfo{48000, 2, 16, false}, nil},
		{"extensible PCM", wavBytes(extensibleFmt(1, 8000, 1), 8, data), samples, WAVInfo{8000, 1, 16, false}, nil},
		{"chunk before data skipped", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 8, data, list), samples, WAVInfo{8000, 1, 16, false}, nil},
		{"streaming size 0 reads to EOF", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0, data), samples, WAVInfo{8000, 1, 16, false}, nil},
		{"streaming size -1 reads to EOF", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0xFFFFFFFF, data), samples, WAVInfo{8000, 1, 16, false}, nil},
		{"declared size honoured", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 4, data), samples[:2], WAVInfo{8000, 1, 16, false}, nil},
		{"truncated keeps what is there", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 100, data[:7]), samples[:3], WAVInfo{8000, 1, 16, true}, nil},
		{"partial stereo frame dropped", wavBytes(pcmFmt(1, 2, 8000, 16, 4), 6, data[:6]), samples[:2], WAVInfo{8000, 2, 16, false}, nil},
		{"empty", nil, nil, WAVInfo{}, ErrBadWAV},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), nil, WAVInfo{}, ErrBadWAV},
		{"no fmt", append([]byte("RIFF\x00\x00\x00\x00WAVE"), "data\x00\x00\x00\x00"...), nil, WAVInfo{}, ErrBadWAV},
		{"no data", wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0, nil)[:36], nil, WAVInfo{}, ErrBadWAV},
		{"fmt too short", wavBytes(pcmFmt(1, 1, 8000, 16, 2)[:14], 8, data), nil, WAVInfo{}, ErrBadWAV},
		{"8-bit", wavBytes(pcmFmt(1, 1, 8000, 8, 1), 8, data), nil, WAVInfo{}, ErrUnsupportedWAV},
		{"24-bit", wavBytes(pcmFmt(1, 1, 8000, 24, 3), 6, data[:6]), nil, WAVInfo{}, ErrUnsupportedWAV},
		{"float", wavBytes(pcmFmt(3, 1, 8000, 16, 2), 8, data), nil, WAVInfo{}, ErrUnsupportedWAV},
		{"mu-law", wavBytes(pcmFmt(7, 1, 8000, 16, 2), 8, data), nil, WAVInfo{}, ErrUnsupportedWAV},
		{"extensible float", wavBytes(extensibleFmt(1, 8000, 3), 8, data), nil, WAVInfo{}, ErrUnsupportedWAV},
		{"zero channels", wavBytes(pcmFmt(1, 0, 8000, 16, 0), 8, data), nil, WAVInfo{}, ErrBadWAV},
		{"zero rate", wavBytes(pcmFmt(1, 1, 0, 16, 2), 8, data), nil, WAVInfo{}, ErrBadWAV},
		{"bad block align", wavBytes(pcmFmt(1, 1, 8000, 16, 4), 8, data), nil, WAVInfo{}, ErrBadWAV},
		{"skipped chunk cut short", append(wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0, nil)[:36], "LIST\xff\xff\x00\x00abc"...), nil, WAVInfo{}, ErrBadWAV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, info, err := ReadWAV(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: samples %v, want %v", tt.name, got, tt.want)
			}
			if info != tt.wantInfo {
				t.Errorf("%s: info %+v, want %+v", tt.name, info, tt.wantInfo)
			}
		})
	}
}

func TestReadWAVHugeDeclaredSize(t *testing.T) {
	// A 2 GiB data chunk that is not there must not be allocated up front.
	in := wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0x7FFFFFFF, []byte{1, 0})
	before := totalAlloc()
	got, info, err := ReadWAV(bytes.NewReader(in))
	allocated := totalAlloc() - before
	if err != nil || len(got) != 1 || !info.Truncated {
		t.Fatalf("got %v %+v %v, want one sample, truncated", got, info, err)
	}
	if allocated > 1<<20 {
		t.Errorf("allocated %d bytes for a 2-byte data chunk", allocated)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		f       Format
		samples []int16
	}{
		{"narrowband tone", Narrowband, sine(8000, 440, 0.5, 800)},
		{"extremes", Narrowband, []int16{-32768, -1, 0, 1, 32767}},
		{"stereo 16k", Format{SampleRate: 16000, Channels: 2, Frame: 20 * time.Millisecond}, ramp(-100, 200)},
		{"empty", Narrowband, []int16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteWAV(&buf, tt.f, tt.samples); err != nil {
				t.Fatalf("%s: write: %v", tt.name, err)
			}
			if buf.Len() != 44+2*len(tt.samples) {
				t.Errorf("%s: %d bytes, want %d", tt.name, buf.Len(), 44+2*len(tt.samples))
			}
			got, info, err := ReadWAV(&buf)
			if err != nil {
				t.Fatalf("%s: read: %v", tt.name, err)
			}
			if info.SampleRate != tt.f.SampleRate || info.Channels != tt.f.Channels {
				t.Errorf("%s: info %+v, want %+v", tt.name, info, tt.f)
			}
			if !slices.Equal(got, tt.samples) {
				t.Errorf("%s: samples differ", tt.name)
			}
		})
	}
}

func TestLoadWAVConverts(t *testing.T) {
	dir := t.TempDir()
	stereo := func(rate int, freq float64) []int16 {
		m := sine(rate, freq, 0.4, rate)
		s := make([]int16, 2*len(m))
		for i, v := range m {
			s[2*i], s[2*i+1] = v, v
		}
		return s
	}
	tests := []struct {
		name    string
		f       Format
		samples []int16
		freq    float64
		wantLen int
	}{
		{"mono 8k as is", Format{8000, 1, 0}, sine(8000, 440, 0.4, 8000), 440, 8000},
		{"stereo 48k to mono 8k", Format{48000, 2, 0}, stereo(48000, 1000), 1000, 8000},
		{"mono 16k to mono 8k", Format{16000, 1, 0}, sine(16000, 440, 0.4, 16000), 440, 8000},
		{"stereo 8k to mono 8k", Format{8000, 2, 0}, stereo(8000, 440), 440, 8000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".wav")
			writeFile(t, path, tt.f, tt.samples)
			got, err := LoadWAV(path, Narrowband)
			if err != nil {
				t.Fatalf("case %d %s: %v", i, tt.name, err)
			}
			if d := len(got) - tt.wantLen; d < -2 || d > 2 {
				t.Errorf("%s: %d samples, want about %d", tt.name, len(got), tt.wantLen)
			}
			tail := got[len(got)/4:]
			if r := Goertzel(tail, 8000, tt.freq) / MeanSquare(tail); r < 0.95 {
				t.Errorf("%s: share at %g Hz = %g, want >= 0.95", tt.name, tt.freq, r)
			}
		})
	}
}

func TestConvertPCMChannels(t *testing.T) {
	stereo := Format{SampleRate: 8000, Channels: 2}
	tests := []struct {
		name    string
		in      []int16
		chans   int
		to      Format
		want    []int16
		wantErr error
	}{
		{"downmix averages", []int16{10, 20, -4, 4}, 2, Narrowband, []int16{15, 0}, nil},
		{"upmix duplicates", []int16{1, 2}, 1, stereo, []int16{1, 1, 2, 2}, nil},
		{"same copies", []int16{1, 2}, 1, Narrowband, []int16{1, 2}, nil},
		{"3 to 2 refused", []int16{1, 2, 3}, 3, stereo, nil, ErrUnsupportedWAV},
		{"zero channels refused", []int16{1}, 0, Narrowband, nil, ErrUnsupportedWAV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got, err := ConvertPCM(in, 8000, tt.chans, tt.to)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: err %v, want %v", tt.name, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("%s: input modified", tt.name)
			}
		})
	}
}

// writeFile writes a WAV file for a test.
func writeFile(t *testing.T, path string, f Format, samples []int16) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteWAV(&buf, f, samples); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFile reads a WAV file for a test.
func readFile(t *testing.T, path string) ([]int16, WAVInfo) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, info, err := ReadWAV(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return s, info
}

func TestWAVWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := NewWAVWriter(path, Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	tone := NewTone(Narrowband, 440, 0.3)
	frame := make([]int16, 160)
	var want []int16
	for range 75 { // 1.5 s: one header fix-up happens on the way
		_ = tone.ReadFrame(frame)
		want = append(want, frame...)
		if err := w.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}

	// Before Close, as after a crash: the header covers the first second.
	crashed, info := readFile(t, path)
	if len(crashed) < 8000 || !slices.Equal(crashed, want[:len(crashed)]) {
		t.Errorf("unclosed file: %d samples, want at least 8000 matching the start", len(crashed))
	}
	if info.SampleRate != 8000 || info.Channels != 1 {
		t.Errorf("unclosed file info %+v", info)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WriteFrame(frame); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	got, _ := readFile(t, path)
	if !slices.Equal(got, want) {
		t.Errorf("closed file: %d samples, want %d equal", len(got), len(want))
	}
	raw, _ := os.ReadFile(path)
	if riff := binary.LittleEndian.Uint32(raw[4:8]); int(riff) != len(raw)-8 {
		t.Errorf("RIFF size %d, want %d", riff, len(raw)-8)
	}
}

func TestWAVWriterNoAlloc(t *testing.T) {
	w, err := NewWAVWriter(filepath.Join(t.TempDir(), "a.wav"), Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	frame := make([]int16, 160)
	if n := testing.AllocsPerRun(100, func() { _ = w.WriteFrame(frame) }); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

func TestWAVWriterBadPath(t *testing.T) {
	if _, err := NewWAVWriter(filepath.Join(t.TempDir(), "no", "such", "dir.wav"), Narrowband); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestWAVSource(t *testing.T) {
	tests := []struct {
		name  string
		data  []int16
		loop  bool
		reads int
		want  []int16 // all reads concatenated
		last  error   // error of one more read
	}{
		{"loops", []int16{1, 2, 3}, true, 3, []int16{1, 2, 3, 1, 2, 3}, nil},
		{"loop shorter than frame", []int16{7}, true, 1, []int16{7, 7}, nil},
		{"once pads then EOF", []int16{1, 2, 3}, false, 2, []int16{1, 2, 3, 0}, io.EOF},
		{"once exact then EOF", []int16{1, 2, 3, 4}, false, 2, []int16{1, 2, 3, 4}, io.EOF},
		{"once empty is EOF", nil, false, 0, nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewWAVSource(tt.data, tt.loop)
			if err != nil {
				t.Fatal(err)
			}
			var got []int16
			buf := make([]int16, 2)
			for i := range tt.reads {
				if err := s.ReadFrame(buf); err != nil {
					t.Fatalf("%s read %d: %v", tt.name, i, err)
				}
				got = append(got, buf...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
			if err := s.ReadFrame(buf); !errors.Is(err, tt.last) {
				t.Errorf("%s: next read err %v, want %v", tt.name, err, tt.last)
			}
		})
	}
	if _, err := NewWAVSource(nil, true); !errors.Is(err, ErrEmptyWAV) {
		t.Errorf("empty looping source: %v, want ErrEmptyWAV", err)
	}
}

// totalAlloc returns the cumulative bytes allocated by the process.
func totalAlloc() uint64 {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.TotalAlloc
}
