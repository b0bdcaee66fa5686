package interop

import (
	"strings"
	"testing"
	"time"
)

// linphoneSRTP is the [sip] setting of a linphonec that requires SDES-SRTP.
// use_ipv6=0 with ipv6_migration_done=1 (else liblinphone's first start
// turns IPv6 on): otherwise linphonec's own offers name the host's IPv6
// address in c= (bind_address applies to SIP only).
const linphoneSRTP = "media_encryption=srtp\nmedia_encryption_mandatory=1\nuse_ipv6=0\nipv6_migration_done=1"

// TestSRTPAnyphoneCallsLinphonec: the endpoint (srtp = mandatory) calls an
// auto-answering linphonec that requires SRTP; tone both ways, no clear
// payload on the wire.
func TestSRTPAnyphoneCallsLinphonec(t *testing.T) {
	lp := startLinphonecWith(t, "lin", linphoneSRTP)
	heard := lp.lpFiles(t, 440)
	ep := startEndpoint(t, "--srtp", "mandatory", "--dial", lp.URI, "--audio", "tone:1000", "--hangup-after", "4s",
		"--expect-tone", "440", "--expect-calls", "1", "--exit-after", "20s")
	checkSRTPLinphone(t, ep, heard)
}

// TestSRTPLinphonecCallsAnyphone: linphonec (SRTP required) calls the
// endpoint (srtp = mandatory); tone both ways.
func TestSRTPLinphonecCallsAnyphone(t *testing.T) {
	lp := startLinphonecWith(t, "lin", linphoneSRTP)
	heard := lp.lpFiles(t, 440)
	ep := startEndpoint(t, "--srtp", "mandatory", "--audio", "tone:1000", "--hangup-after", "4s",
		"--expect-tone", "440", "--expect-calls", "1", "--exit-after", "20s")
	lp.Send(t, "call "+ep.URI)
	checkSRTPLinphone(t, ep, heard)
}

func checkSRTPLinphone(t *testing.T, ep *Endpoint, heard string) {
	t.Helper()
	code, sum, err := ep.Wait(20 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	if s := srtpOf(t, ep); !strings.HasPrefix(s, "AES_CM_128_HMAC_SHA1_") {
		t.Errorf("endpoint call srtp = %q, want an AES_CM_128 suite", s)
	}
	if _, err := ep.WaitEvent(toneEvent(440), time.Second); err != nil {
		t.Errorf("endpoint did not hear linphonec's 440 Hz: %v", err)
	}
	waitRecording(t, heard)
	if s := toneSeconds(t, heard, 1000, 0, 0); s < 2 {
		t.Errorf("linphonec heard %.1f s of the endpoint's 1000 Hz, want 2 s or more", s)
	}
}
