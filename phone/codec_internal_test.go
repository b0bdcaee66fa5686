package phone

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/media"

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
			_ = dec.decode(payload[:n], func(f []int16, _ int) {
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
				_ = wideIn.decode(widePkt[:nw], func(f []int16, _ int) { _, _ = narrowOut.encode(out, f) })
				// narrowband leg → wideband leg
				_ = narrowIn.decode(narrowPkt[:nn], func(f []int16, _ int) { _, _ = wideOut.encode(out, f) })
			}
			perCall := b.Elapsed().Seconds() / float64(b.N) * 50 * 100 // % of a core per call
			b.ReportMetric(perCall, "cpu%/call")
		})
	}
}

// TestAnswerCodecs: Opus offered on a payload type other than 96 is
// answered on that payload type; everything else keeps diago's list.
func TestAnswerCodecs(t *testing.T) {
	withOpus, _ := sdpCodecs([]string{"opus", "PCMU"})
	without, _ := sdpCodecs([]string{"PCMU"})
	for _, tc := range []struct {
		name   string
		codecs []media.Codec
		offer  string
		pt     int // Opus's payload type in the answer list; 0: nil list
		chans  int
	}{
		{"111", withOpus, "m=audio 4000 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\n", 111, 2},
		{"no channels", withOpus, "m=audio 4000 RTP/AVP 107\r\na=rtpmap:107 OPUS/48000\r\n", 107, 1},
		{"96 is diago's", withOpus, "a=rtpmap:96 opus/48000/2\r\n", 0, 0},
		{"on telephone-event's 101", withOpus, "a=rtpmap:101 opus/48000/2\r\n", 0, 0},
		{"static range", withOpus, "a=rtpmap:9 opus/48000/2\r\n", 0, 0},
		{"no opus offered", withOpus, "a=rtpmap:0 PCMU/8000\r\n", 0, 0},
		{"we have no opus", without, "a=rtpmap:111 opus/48000/2\r\n", 0, 0},
	} {
		p := &Phone{codecs: tc.codecs}
		got := p.answerCodecs([]byte(tc.offer))
		if tc.pt == 0 {
			if got != nil {
				t.Errorf("%s: %v, want nil (diago's default list)", tc.name, got)
			}
			continue
		}
		if len(got) != len(tc.codecs) || !strings.EqualFold(got[0].Name, "opus") || int(got[0].PayloadType) != tc.pt || got[0].NumChannels != tc.chans {
			t.Errorf("%s: %v, want opus on %d with %d channels first", tc.name, got, tc.pt, tc.chans)
		}
		if tc.codecs[0].PayloadType != 96 {
			t.Errorf("%s: the phone's own list changed", tc.name)
		}
	}
}
