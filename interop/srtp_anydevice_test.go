package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSRTPAnyDeviceBridgesSRTPToRTP: the controller (srtp = optional) calls
// alice's mobile, baresip with mediaenc srtp, then the sipp destination,
// which answers plain RTP and echoes it. The relay decrypts the mobile's
// SRTP towards sipp and encrypts sipp's echo back: baresip hears its own
// 1000 Hz and gets its own DTMF back; on the wire the mobile's leg has no clear tone and sipp's leg
// has it in clear.
func TestSRTPAnyDeviceBridgesSRTPToRTP(t *testing.T) {
	bs := startBaresip(t, baresipOpts{User: "alice-mobile", Tone: 1000, MediaEnc: "srtp"})
	conf := strings.Replace(adCallbackConf, "allow_sources", "srtp = \"optional\"\nallow_sources", 1)
	ctl := startController(t, strings.ReplaceAll(conf, "{{MOBILE}}", bs.AOR))
	scen := adScenario(t, "dest_uas.xml", map[string]string{
		"OFFICE": adOffice, "RING_MS": "1000", "TALK_MS": "5000", "BYE_REASON": `Q\.850;cause=16`,
	}, "DEST_HANGS")
	dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
	mobileWire := startCapture(t, fmt.Sprintf("udp portrange %d-%d", bs.RTPPorts[0], bs.RTPPorts[1]))
	destWire := startCapture(t, fmt.Sprintf("udp portrange %d-%d", dest.MediaPort, dest.MediaPort+3))
	destURI := fmt.Sprintf("sip:+4930555@127.0.0.1:%d", dest.Port)

	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI); err != nil {
		t.Fatalf("callback: %v", err)
	}
	if _, err := bs.WaitEvent("CALL_INCOMING", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Command("accept", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ctl.WaitSession(t, "bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	// DTMF across: baresip's RFC 4733 digits go SRTP → relay → RTP to
	// sipp, whose echo brings them back the other way.
	time.Sleep(time.Second)
	const digits = "159"
	for _, d := range digits {
		if _, err := bs.Command("sndcode", string(d), 3*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond) // baresip sends one event at a time
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, err := dest.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp destination: exit %d, %v\n%s", code, err, tailString(dest.Output(), 4<<10))
	}
	invite := traceMessage(ctl.Trace, "INVITE sip:alice-mobile@")
	if !strings.Contains(invite, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>") {
		t.Errorf("INVITE to the mobile offers no SDES (or shows its key):\n%s", invite)
	}

	// The mobile's own tone came back: SRTP → relay → RTP → sipp's echo →
	// RTP → relay → SRTP.
	echo := segmentTone(t, bs.Heard(t), 1000, 2500*time.Millisecond, 0)
	t.Logf("talk segment: %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
	if echo.LoudSeconds < 1.5 || echo.Ratio < 0.5 {
		t.Errorf("the mobile did not hear its 1000 Hz back through the relay and sipp: %+v", echo)
	}
	var echoed string
	for _, m := range bsMessages(bs) {
		if m.Event && m.Type == "CALL_DTMF_START" {
			echoed += m.Param
		}
	}
	if echoed != digits {
		t.Errorf("baresip got its DTMF back as %q through the relay and sipp's echo, want %q", echoed, digits)
	}
	assertEncrypted(t, mobileWire.Payloads(), 200)
	audio, n := rtpAudio(destWire.Payloads(), 0)
	clear := 0
	for _, p := range audio {
		if looksClear(p) {
			clear++
		}
	}
	t.Logf("sipp's leg: %d PCMU RTP packets, %d with a clear tone", n, clear)
	if clear < 100 {
		t.Errorf("sipp's leg carried %d clear tone packets, want 100 or more (RTP in clear there)", clear)
	}
}
