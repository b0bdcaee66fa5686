package interop

import (
	"fmt"
	"testing"
	"time"
)

// TestBaresipWideband: G.722 and Opus calls with baresip both ways. Both
// sides send a 6 kHz tone, which only a wideband codec carries: the
// endpoint (audio at 48 kHz) must detect baresip's and baresip's recording
// must hold the endpoint's, with the call on the codec asked for.
func TestBaresipWideband(t *testing.T) {
	for _, tc := range []struct {
		codec   string // SDP name, as our --codecs
		baresip string // baresip's audio_codecs
		rate    int    // baresip's PCM rate for it
		stereo  bool
	}{
		{"opus", "opus/48000/2", 48000, true},
		{"G722", "G722/16000/1", 16000, false},
	} {
		for _, weDial := range []bool{true, false} {
			name := fmt.Sprintf("%s/baresip calls anyphone", tc.codec)
			if weDial {
				name = fmt.Sprintf("%s/anyphone calls baresip", tc.codec)
			}
			t.Run(name, func(t *testing.T) {
				bs := startBaresip(t, baresipOpts{Tone: 6000, ToneRate: tc.rate, ToneStereo: tc.stereo, Codecs: tc.baresip, AutoAnswer: weDial})
				args := []string{"--codecs", tc.codec + ",PCMU", "--audio-rate", "48000", "--audio", "tone:6000",
					"--hangup-after", "3s", "--expect-tone", "6000", "--expect-calls", "1", "--exit-after", "20s"}
				if weDial {
					args = append(args, "--dial", bs.AOR)
				}
				ep := startEndpoint(t, args...)
				if !weDial {
					if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
						t.Fatal(err)
					}
				}
				active, err := ep.WaitEvent(isCall("active"), 10*time.Second)
				if err != nil {
					t.Fatalf("no active call: %v", err)
				}
				if active.Call.Codec != tc.codec {
					t.Errorf("codec %q, want %q", active.Call.Codec, tc.codec)
				}
				code, sum, err := ep.Wait(20 * time.Second)
				if err != nil {
					t.Fatalf("endpoint: %v", err)
				}
				if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
					t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered (heard baresip's 6 kHz)", code, sum)
				}
				if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
					t.Fatal(err)
				}
				st := measureToneAt(t, bs.Heard(t), 6000, 48000)
				t.Logf("baresip heard %.2f s loud, 6 kHz ratio %.3f", st.LoudSeconds, st.Ratio)
				if st.LoudSeconds < 1.5 || st.Ratio < 0.5 {
					t.Errorf("baresip did not hear our 6 kHz through %s: %.2f s loud, ratio %.3f", tc.codec, st.LoudSeconds, st.Ratio)
				}
			})
		}
	}
}

// TestBaresipNarrowbandDropsSixKHz: the same 6 kHz tone does not survive a
// PCMU call (8 kHz sampling), while a 1 kHz tone from baresip still does:
// the wideband test above cannot pass on a narrowband path.
func TestBaresipNarrowbandDropsSixKHz(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 1000, Codecs: "PCMU", AutoAnswer: true})
	ep := startEndpoint(t, "--codecs", "opus,G722,PCMU", "--audio-rate", "48000", "--audio", "tone:6000",
		"--dial", bs.AOR, "--hangup-after", "3s", "--expect-tone", "1000", "--expect-calls", "1", "--exit-after", "20s")
	active, err := ep.WaitEvent(isCall("active"), 10*time.Second)
	if err != nil {
		t.Fatalf("no active call: %v", err)
	}
	if active.Call.Codec != "PCMU" {
		t.Errorf("codec %q, want PCMU", active.Call.Codec)
	}
	code, sum, err := ep.Wait(20 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK {
		t.Errorf("endpoint exit %d, summary %+v; want 0 (heard baresip's 1 kHz through PCMU)", code, sum)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	st := measureToneAt(t, bs.Heard(t), 6000, 48000)
	t.Logf("baresip heard %.2f s loud, 6 kHz ratio %.3f", st.LoudSeconds, st.Ratio)
	if st.Ratio > 0.1 {
		t.Errorf("6 kHz crossed PCMU: ratio %.3f", st.Ratio)
	}
}
