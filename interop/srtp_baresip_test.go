package interop

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// srtpOf returns the crypto-suite the endpoint reported for its active call.
func srtpOf(t *testing.T, ep *Endpoint) string {
	t.Helper()
	ev, err := ep.WaitEvent(isCall("active"), 5*time.Second)
	if err != nil {
		t.Fatalf("no active call: %v", err)
	}
	var v struct {
		Call struct {
			SRTP string `json:"srtp"`
		} `json:"call"`
	}
	if err := json.Unmarshal([]byte(ev.Raw), &v); err != nil {
		t.Fatalf("call event %s: %v", ev.Raw, err)
	}
	return v.Call.SRTP
}

// srtpHoldArgs are the endpoint flags of an SRTP call with baresip: tone,
// hold and resume on holdSchedule, DTMF after the resume (baresip's own
// recording stops at a re-INVITE: assertBaresipAfterResume), a recording of
// what the endpoint hears.
func srtpHoldArgs(t *testing.T) (args []string, rec string) {
	h := holdSchedule
	rec = filepath.Join(t.TempDir(), "heard-%c.wav")
	script := "hold@" + h.Hold.String() + ",resume@" + h.Resume.String() +
		",dtmf:" + afterResumeDigits + "@" + (h.Resume + time.Second).String()
	return []string{"--srtp", "mandatory", "--audio", "tone:1000", "--record", rec,
		"--script", script, "--hangup-after", h.End.String(), "--expect-tone", "440",
		"--expect-calls", "1", "--exit-after", "30s"}, rec
}

// checkSRTPCall checks one finished SRTP call with baresip: SRTP reported,
// both tones heard, audio both ways after the resume, nothing in clear on
// the wire.
func checkSRTPCall(t *testing.T, ep *Endpoint, bs *baresip, capture *wireCapture, rec string) {
	t.Helper()
	code, sum, err := ep.Wait(30 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	if s := srtpOf(t, ep); !strings.HasPrefix(s, "AES_CM_128_HMAC_SHA1_") {
		t.Errorf("endpoint call srtp = %q, want an AES_CM_128 suite", s)
	}
	assertHoldSequence(t, ep, "", func(c *midCall) bool { return c.LocalHold })
	if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "heard-*.wav"))
	if len(files) != 1 {
		t.Fatalf("endpoint recordings: %v", files)
	}
	assertHeldAudio(t, "endpoint", files[0], 440, holdSchedule, true)
	assertBaresipAfterResume(t, bs)
	// 2 x 50 packets a second while not held (4 s), minus margins.
	assertEncrypted(t, capture.Payloads(), 250)
}

// TestSRTPBaresipCallsAnyphone: baresip (srtp-mand) dials the endpoint with
// srtp = mandatory; the endpoint holds and resumes; tones both ways, SRTP on
// the wire throughout.
func TestSRTPBaresipCallsAnyphone(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 440, MediaEnc: "srtp-mand"})
	capture := startCapture(t, fmt.Sprintf("udp portrange %d-%d", bs.RTPPorts[0], bs.RTPPorts[1]))
	args, rec := srtpHoldArgs(t)
	ep := startEndpoint(t, args...)
	if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	checkSRTPCall(t, ep, bs, capture, rec)
}

// TestSRTPAnyphoneCallsBaresip: the endpoint (srtp = mandatory) dials an
// auto-answering baresip (srtp-mand), holds and resumes.
func TestSRTPAnyphoneCallsBaresip(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 440, AutoAnswer: true, MediaEnc: "srtp-mand"})
	capture := startCapture(t, fmt.Sprintf("udp portrange %d-%d", bs.RTPPorts[0], bs.RTPPorts[1]))
	args, rec := srtpHoldArgs(t)
	ep := startEndpoint(t, append(args, "--dial", bs.AOR)...)
	checkSRTPCall(t, ep, bs, capture, rec)
}

// TestSRTPMandatoryRefusesClearBaresip: a clear offer from baresip to an
// endpoint with srtp = mandatory is answered 488.
func TestSRTPMandatoryRefusesClearBaresip(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 440})
	ep := startEndpoint(t, "--srtp", "mandatory", "--exit-after", "10s")
	if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	ev, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Param, "488") {
		t.Errorf("baresip's call closed with %q, want 488", ev.Param)
	}
}

// TestSRTPBaresipHoldsAnyphone: baresip (srtp-mand) calls the endpoint and
// holds and resumes it: its re-INVITEs carry fresh SDES keys, which the
// endpoint must take (audio both ways after the resume, SRTP on the wire).
func TestSRTPBaresipHoldsAnyphone(t *testing.T) {
	h := holdSchedule
	bs := startBaresip(t, baresipOpts{Tone: 440, MediaEnc: "srtp-mand"})
	capture := startCapture(t, fmt.Sprintf("udp portrange %d-%d", bs.RTPPorts[0], bs.RTPPorts[1]))
	rec := filepath.Join(t.TempDir(), "heard-%c.wav")
	ep := startEndpoint(t, "--srtp", "mandatory", "--audio", "tone:1000", "--record", rec, "--expect-tone", "440",
		"--expect-calls", "1", "--exit-after", "30s")
	if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(h.Hold)
	if _, err := bs.Command("hold", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "active")(m) && m.Call.RemoteHold
	}), 5*time.Second); err != nil {
		t.Fatalf("endpoint never showed the call held by remote: %v", err)
	}
	time.Sleep(h.Resume - h.Hold)
	if _, err := bs.Command("resume", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := ep.Send(map[string]any{"id": "1", "cmd": "dtmf", "args": map[string]string{"call_id": "c1", "digits": afterResumeDigits}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(h.End - h.Resume - time.Second)
	if _, err := bs.Command("hangup", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	code, sum, err := ep.Wait(10 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	if s := srtpOf(t, ep); !strings.HasPrefix(s, "AES_CM_128_HMAC_SHA1_") {
		t.Errorf("endpoint call srtp = %q, want an AES_CM_128 suite", s)
	}
	assertHoldSequence(t, ep, "", func(c *midCall) bool { return c.RemoteHold })
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "heard-*.wav"))
	if len(files) != 1 {
		t.Fatalf("endpoint recordings: %v", files)
	}
	assertHeldAudio(t, "endpoint", files[0], 440, h, true)
	assertBaresipAfterResume(t, bs)
	assertEncrypted(t, capture.Payloads(), 250)
}

// TestSRTPOptionalFallsBackAfter488: a PBX (sipp) refuses the endpoint's
// optional SDES offer with 488; the endpoint retries in clear on a new
// dialog and the call is answered (sipp 488s any offer with crypto, so
// both its calls succeed only as offer with crypto, then retry without).
func TestSRTPOptionalFallsBackAfter488(t *testing.T) {
	pbx := startSipp(t, filepath.Join("testdata", "srtp", "refuse_crypto_uas.xml"), "-m", "3")
	ep := startEndpoint(t, "--srtp", "optional", "--dial", fmt.Sprintf("sip:pbx@127.0.0.1:%d", pbx.Port),
		"--hangup-after", "1s", "--expect-calls", "1", "--exit-after", "15s")
	code, sum, err := ep.Wait(15 * time.Second)
	if err != nil || code != 0 || sum == nil || sum.Answered != 1 {
		t.Fatalf("endpoint: exit %d, %v, summary %+v; want the retry in clear answered", code, err, sum)
	}
	if s := srtpOf(t, ep); s != "" {
		t.Errorf("call srtp = %q after the fallback, want clear", s)
	}
	if c, err := pbx.Wait(10 * time.Second); err != nil || c != 0 {
		t.Fatalf("sipp: exit %d, %v (no offer with crypto first, or no retry?)\n%s", c, err, tailString(pbx.Output(), 4<<10))
	}
	if ok := pbx.StatInt(t, "SuccessfulCall(C)"); ok != 3 {
		t.Errorf("sipp: %d successful calls, want 3 (488 to RTP/AVP with crypto, 488 to RTP/SAVP, the clear retry)", ok)
	}
}
