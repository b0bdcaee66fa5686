package phone

import (
	"testing"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// FuzzSIPFragments feeds arbitrary text to the small parsers of header
// values and bodies that reach us from peers: INFO DTMF bodies, Replaces,
// target URIs, held-offer detection and telephone-event remapping. None
// may panic; Replaces that parses must carry its three parts.
func FuzzSIPFragments(f *testing.F) {
	for _, s := range []string{
		"Signal=5\r\nDuration=160\r\n",
		"Signal= #\nDuration=100",
		"abc@host;to-tag=1;from-tag=2;early-only",
		"abc@host;to-tag=;from-tag",
		"sip:alice@127.0.0.1:5060;transport=tcp",
		"<sips:[::1]:5061>",
		"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=inactive\r\n",
	} {
		f.Add(s, 101, 96)
	}
	f.Fuzz(func(t *testing.T, s string, from, to int) {
		_, _ = parseInfoDTMF("application/dtmf-relay", []byte(s))
		_, _ = parseInfoDTMF("application/dtmf", []byte(s))
		if r, err := parseReplaces(s); err == nil {
			if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
				t.Fatalf("parseReplaces(%q) = %+v without an error", s, r)
			}
		}
		if u, err := parseURI(s); err == nil && u.Host == "" {
			t.Fatalf("parseURI(%q) has no host", s)
		}
		_ = sdpfence.HeldOffer([]byte(s))
		_ = sdpfence.RemapPT([]byte(s), from, to)
	})
}
