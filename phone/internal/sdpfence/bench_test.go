package sdpfence

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/anyphone/anyphone/phone/vocab"
)

func benchFixture(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "sdp", name))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkNormalize is the fence every incoming SDP body goes through.
func BenchmarkNormalize(b *testing.B) {
	body := benchFixture(b, "baresip_offer.sdp")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Normalize(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFenceIncoming chains the fences on an offer with video.
func BenchmarkFenceIncoming(b *testing.B) {
	body := benchFixture(b, "sfb_audio_video.sdp")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := FenceIncoming(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteHold turns an offer into an a=inactive hold.
func BenchmarkRewriteHold(b *testing.B) {
	body := benchFixture(b, "baresip_offer.sdp")
	b.ReportAllocs()
	for b.Loop() {
		_ = RewriteHold(body, vocab.HoldInactive)
	}
}
