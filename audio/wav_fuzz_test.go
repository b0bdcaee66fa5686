package audio

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzWAVReader checks that ReadWAV never panics or over-allocates on hostile
// input, that it reports only its documented error kinds, and that whatever
// it accepts survives a WriteWAV/ReadWAV round trip.
//
//	go test ./audio -run '^$' -fuzz FuzzWAVReader -fuzztime 30s
func FuzzWAVReader(f *testing.F) {
	data := []byte{1, 0, 2, 0, 0xFF, 0xFF, 0, 0x80}
	list := append([]byte("LIST"), 3, 0, 0, 0, 'a', 'b', 'c', 0)
	var tone bytes.Buffer
	_ = WriteWAV(&tone, Narrowband, sine(8000, 440, 0.3, 160))
	seeds := [][]byte{
		tone.Bytes(),
		wavBytes(pcmFmt(1, 2, 48000, 16, 4), 8, data),
		wavBytes(extensibleFmt(1, 8000, 1), 8, data),
		wavBytes(pcmFmt(1, 1, 8000, 16, 2), 8, data, list),
		wavBytes(pcmFmt(1, 1, 8000, 16, 2), 0xFFFFFFFF, data),
		wavBytes(pcmFmt(1, 1, 8000, 16, 2), 100, data[:7]),
		wavBytes(pcmFmt(1, 1, 8000, 8, 1), 8, data),
		[]byte("RIFF\x00\x00\x00\x00WAVE"),
		{},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		samples, info, err := ReadWAV(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadWAV) && !errors.Is(err, ErrUnsupportedWAV) && !errors.Is(err, ErrWAVTooLarge) {
				t.Fatalf("undocumented error kind: %v", err)
			}
			return
		}
		if info.Channels < 1 || info.SampleRate < 1 || info.BitsPerSample != 16 {
			t.Fatalf("accepted bad info %+v", info)
		}
		if len(samples)%info.Channels != 0 {
			t.Fatalf("%d samples for %d channels", len(samples), info.Channels)
		}
		if 2*len(samples) > len(in) {
			t.Fatalf("%d samples from %d bytes", len(samples), len(in))
		}
		var buf bytes.Buffer
		if err := WriteWAV(&buf, info.Format(), samples); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, info2, err := ReadWAV(&buf)
		if err != nil {
			t.Fatalf("reread: %v", err)
		}
		if info2.SampleRate != info.SampleRate || info2.Channels != info.Channels || !slices.Equal(again, samples) {
			t.Fatalf("round trip changed the audio: %+v -> %+v", info, info2)
		}
	})
}
