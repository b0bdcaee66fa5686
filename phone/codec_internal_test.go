package phone

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// TestTranscoderFrames: a resampling transcoder delivers whole 20 ms
// frames at the Media rate and encodes a full codec frame from each.
func TestTranscoderFrames(t *testing.T) {
	for _, tc := range []struct {
		codec string
		rate  int
	}{{"opus", 8000}, {"G722", 8000}, {"PCMU", 48000}, {"G722", 48000}} {
		enc, err := newTranscoder(tc.codec, tc.rate)
		if err != nil {
			t.Fatalf("%s at %d: %v", tc.codec, tc.rate, err)
		}
		dec, _ := newTranscoder(tc.codec, tc.rate)
		tone := audio.NewTone(audio.Format{SampleRate: tc.rate, Channels: 1, Frame: 20 * time.Millisecond}, 1000, 0.3)
		det := audio.NewToneDetector(audio.Format{SampleRate: tc.rate, Channels: 1}, 500*time.Millisecond)
		frame := make([]int16, tc.rate/50)
		payload := make([]byte, 1500)
		for range 50 {
			_ = tone.ReadFrame(frame)
			n, err := enc.encode(payload, frame)
			if err != nil || n == 0 {
				t.Fatalf("%s at %d: encode n=%d err=%v", tc.codec, tc.rate, n, err)
			}
			_ = dec.decode(payload[:n], func(f []int16) {
				if len(f) != tc.rate/50 {
					t.Fatalf("%s at %d: delivered %d samples, want %d", tc.codec, tc.rate, len(f), tc.rate/50)
				}
				_ = det.WriteFrame(f)
			})
		}
		if !det.Detected(1000, 0.8) {
			t.Errorf("%s at %d: 1 kHz ratio %.2f after encode, decode and resampling", tc.codec, tc.rate, det.Ratio(1000))
		}
		enc.close()
		dec.close()
	}
}

// BenchmarkTranscodeCall is the relay's work per 20 ms for one transcoded
// call, both directions, with the legs meeting at 8 kHz (anydevice's
// PCM): decode the wideband leg, resample to 8 kHz, encode G.711, and
// back. b.N counts 20 ms frames; 50 a second make one call.
func BenchmarkTranscodeCall(b *testing.B) {
	for _, tc := range []struct{ wide, narrow string }{{"opus", "PCMU"}, {"G722", "PCMA"}, {"PCMU", "PCMA"}} {
		b.Run(tc.wide+"-"+tc.narrow, func(b *testing.B) {
			wideIn, _ := newTranscoder(tc.wide, 8000)
			wideOut, _ := newTranscoder(tc.wide, 8000)
			narrowIn, _ := newTranscoder(tc.narrow, 8000)
			narrowOut, _ := newTranscoder(tc.narrow, 8000)
			src, _ := newTranscoder(tc.wide, 8000)
			defer func() {
				for _, x := range []*transcoder{wideIn, wideOut, narrowIn, narrowOut, src} {
					x.close()
				}
			}()
			tone := audio.NewTone(audio.Narrowband, 440, 0.3)
			pcm := make([]int16, 160)
			widePkt, narrowPkt, out := make([]byte, 1500), make([]byte, 1500), make([]byte, 1500)
			_ = tone.ReadFrame(pcm)
			nw, _ := src.encode(widePkt, pcm) // what the wideband leg sends
			nn, _ := narrowOut.encode(narrowPkt, pcm)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				// wideband leg → narrowband leg
				_ = wideIn.decode(widePkt[:nw], func(f []int16) { _, _ = narrowOut.encode(out, f) })
				// narrowband leg → wideband leg
				_ = narrowIn.decode(narrowPkt[:nn], func(f []int16) { _, _ = wideOut.encode(out, f) })
			}
			perCall := b.Elapsed().Seconds() / float64(b.N) * 50 * 100 // % of a core per call
			b.ReportMetric(perCall, "cpu%/call")
		})
	}
}
