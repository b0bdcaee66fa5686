package interop

import (
	"path/filepath"
	"testing"
	"time"
)

// TestOpusDynamicPayloadType: sipp offers Opus on 111 and on 107 (not
// diago's fixed 96). The endpoint answers Opus on the offered payload type
// (sipp checks the answer) and hears its own 1 kHz tone back through
// sipp's RTP echo: encoded, sent on 111, echoed, decoded.
func TestOpusDynamicPayloadType(t *testing.T) {
	for _, pt := range []string{"111", "107"} {
		t.Run(pt, func(t *testing.T) {
			ep := startEndpoint(t, "--name", "agent", "--codecs", "opus,PCMU", "--audio", "tone:1000",
				"--expect-tone", "1000", "--expect-calls", "1", "--exit-after", "20s")
			uac := startSipp(t, filepath.Join("testdata", "codec_opus_pt_uac.xml"), ep.Addr, "-m", "1", "-s", "agent",
				"-key", "pt", pt, "-rtp_echo")
			active, err := ep.WaitEvent(isCall("active"), 10*time.Second)
			if err != nil {
				t.Fatalf("no active call: %v", err)
			}
			if active.Call.Codec != "opus" {
				t.Errorf("codec %q, want opus", active.Call.Codec)
			}
			sippOK(t, uac, 1, 20*time.Second)
			code, sum, err := ep.Wait(20 * time.Second)
			if err != nil {
				t.Fatalf("endpoint: %v", err)
			}
			if code != 0 || sum == nil || !sum.OK {
				t.Errorf("endpoint exit %d, summary %+v; want 0 (its 1 kHz back through Opus on %s)", code, sum, pt)
			}
		})
	}
}
