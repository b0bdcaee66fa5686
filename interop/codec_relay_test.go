package interop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// TestAnyDeviceTranscodes: the controller calls alice's mobile, baresip
// offering only a wideband codec, then a sipp destination that answers
// only G.711 (with telephone-event) and echoes every RTP packet back. The
// legs differ, so the relay transcodes (Opus ↔ PCMU, G.722 ↔ PCMA):
// baresip hears its own 1 kHz tone back after the round trip through both
// transcodings, and the digits it sends cross to sipp as RFC 4733 events
// and come back to it. Issue 16's case: the mobile on Opus with mandatory
// SRTP, the destination on PCMU in clear (the relay decrypts, transcodes,
// encrypts; no clear payload on the mobile's leg).
func TestAnyDeviceTranscodes(t *testing.T) {
	for _, tc := range []struct {
		mobile, baresip, dest, destPT string
		rate                          int
		stereo                        bool
		srtp                          bool
	}{
		{"opus", "opus/48000/2", "PCMU", "0", 48000, true, false},
		{"G722", "G722/16000/1", "PCMA", "8", 16000, false, false},
		{"opus", "opus/48000/2", "PCMU", "0", 48000, true, true},
	} {
		name := tc.mobile + " to " + tc.dest
		if tc.srtp {
			name = tc.mobile + "+SRTP to " + tc.dest
		}
		t.Run(name, func(t *testing.T) {
			transcodes(t, tc.mobile, tc.baresip, tc.dest, tc.destPT, tc.rate, tc.stereo, tc.srtp)
		})
	}
}

func transcodes(t *testing.T, mobileCodec, baresipCodec, destCodec, destPT string, rate int, stereo, srtp bool) {
	const digits = "159#"
	opts := baresipOpts{User: "alice-mobile", Tone: 1000, ToneRate: rate, ToneStereo: stereo, Codecs: baresipCodec}
	extra := fmt.Sprintf("codecs = [%q, %q]\n", mobileCodec, destCodec)
	if srtp {
		opts.MediaEnc = "srtp-mand"
		extra += "srtp = \"optional\"\n"
	}
	bs := startBaresip(t, opts)
	conf := strings.Replace(strings.ReplaceAll(adCallbackConf, "{{MOBILE}}", bs.AOR),
		"allow_sources = [", extra+"allow_sources = [", 1)
	ctl := startController(t, conf)
	scen := adScenario(t, "dest_g711_te_uas.xml", map[string]string{
		"OFFICE": adOffice, "RING_MS": "500", "TALK_MS": "7000", "BYE_REASON": "",
		"CODEC": destCodec, "PT": destPT,
	}, "DEST_HANGS")
	dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
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
	time.Sleep(1500 * time.Millisecond)
	for _, d := range digits {
		if _, err := bs.Command("sndcode", string(d), 3*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // baresip sends one event at a time
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, err := dest.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp destination: exit %d, %v\n%s", code, err, tailString(dest.Output(), 4<<10))
	}

	// The legs really differ: baresip encodes the wideband codec (it
	// offers nothing else), sipp's answer has G.711 alone.
	if out := bs.Output(); !strings.Contains(out, "Set audio encoder: "+mobileCodec) {
		t.Errorf("baresip did not use %s:\n%s", mobileCodec, tailString(out, 4<<10))
	}

	wav := bs.Heard(t)
	echo := segmentTone(t, wav, 1000, 1500*time.Millisecond, 0)
	t.Logf("talk segment: %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
	if echo.LoudSeconds < 2 || echo.Ratio < 0.5 {
		t.Errorf("the mobile did not hear its 1000 Hz back through %s→%s→sipp→%s→%s: %+v", mobileCodec, destCodec, destCodec, mobileCodec, echo)
	}
	var heard string
	for _, m := range bsMessages(bs) {
		if m.Event && m.Type == "CALL_DTMF_START" {
			heard += m.Param
		}
	}
	if heard != digits {
		t.Errorf("baresip got back DTMF %q through the relay and sipp's echo, want %q", heard, digits)
	}
	if srtp {
		// baresip with srtp-mand takes no call in clear and refuses SDES
		// in RTP/AVP: the controller's optional offer is retried as
		// RTP/SAVP; the mobile's leg is Opus and SRTP, the destination's
		// PCMU in clear.
		if b, _ := os.ReadFile(ctl.Trace); !strings.Contains(string(b), "RTP/SAVP 96") {
			t.Errorf("no RTP/SAVP offer to the mobile in the controller's trace")
		}
		s := ctl.WaitSession(t, "the legs' media", 5*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" && len(s.Session.Legs) == 2 })
		if dev, rem := s.Session.Legs[0].Call, s.Session.Legs[1].Call; dev.Codec != mobileCodec || dev.SRTP == "" || rem.Codec != destCodec || rem.SRTP != "" {
			t.Errorf("legs: mobile %s srtp %q, destination %s srtp %q; want %s with SRTP, %s in clear", dev.Codec, dev.SRTP, rem.Codec, rem.SRTP, mobileCodec, destCodec)
		}
	}

	// The journal records both legs' codecs.
	j, err := journal.Open(ctl.Journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var rows []journal.Entry
	waitFor(5*time.Second, func() bool {
		rows, _ = j.List(context.Background(), journal.Filter{User: "alice"})
		return len(rows) > 0
	})
	if want := mobileCodec + "/" + destCodec; len(rows) != 1 || rows[0].Codec != want {
		t.Errorf("journal = %+v, want one entry with codec %s", rows, want)
	}
}
