package interop

// Issue 3 against baresip: hold and resume in both directions with the
// audio measured on both sides, and DTMF both ways.

import (
	"path/filepath"
	"testing"
	"time"
)

// holdTiming is the schedule of a hold test: the call is held at Hold,
// resumed at Resume and hung up at End, all after it became active.
type holdTiming struct {
	Hold, Resume, End time.Duration
}

// holdSchedule is long enough that audio after resume (3 s) outweighs
// everything that may arrive before the hold (1 s), and the hold (3 s)
// long enough to tell apart from a hold that never silenced the line.
var holdSchedule = holdTiming{Hold: time.Second, Resume: 4 * time.Second, End: 7 * time.Second}

// talked is the tone a side should hear when both hold and resume work:
// the time before the hold plus the time after the resume.
func (h holdTiming) talked() time.Duration { return h.Hold + h.End - h.Resume }

// assertHeldAudio checks a recording of what one side received over a
// holdSchedule call: the tone was heard for about talked() (so audio came
// back after resume) and clearly less than the whole call when silent
// says the other side had to stop sending while held (so RTP stopped as
// the SDP said). Recordings only grow while packets arrive.
func assertHeldAudio(t *testing.T, who, path string, hz float64, h holdTiming, silent bool) {
	t.Helper()
	st := measureTone(t, path, hz)
	t.Logf("%s heard %.2f s loud of %.2f s recorded, %.0f Hz ratio %.3f", who, st.LoudSeconds, st.Seconds, hz, st.Ratio)
	low := (h.talked() - 1500*time.Millisecond).Seconds() // start-up, jitter buffers, a loaded CI
	if st.LoudSeconds < low || st.Ratio < 0.5 {
		t.Errorf("%s: heard %.2f s of %.0f Hz (ratio %.3f); want >= %.1f s: no audio after resume",
			who, st.LoudSeconds, hz, st.Ratio, low)
	}
	if high := (h.talked() + 1500*time.Millisecond).Seconds(); silent && st.LoudSeconds > high {
		t.Errorf("%s: heard %.2f s of %.0f Hz; want <= %.1f s: audio went on during the hold",
			who, st.LoudSeconds, hz, high)
	}
}

// TestAnyphoneHoldsBaresip: the endpoint calls baresip, holds it in each
// dialect and resumes it. baresip must see the hold (its answer stops our
// sending and its own), and both must hear each other again after resume.
func TestAnyphoneHoldsBaresip(t *testing.T) {
	h := holdSchedule
	for _, dialect := range []string{"sendonly", "inactive", "zero-ip"} {
		t.Run(dialect, func(t *testing.T) {
			bs := startBaresip(t, baresipOpts{Tone: 440, AutoAnswer: true})
			rec := filepath.Join(t.TempDir(), "heard-%c.wav")
			script := "hold:" + dialect + "@" + h.Hold.String() + ",resume@" + h.Resume.String() +
				",dtmf:" + afterResumeDigits + "@" + (h.Resume + time.Second).String()
			ep := startEndpoint(t, "--dial", bs.AOR, "--audio", "tone:1000", "--record", rec,
				"--script", script, "--hangup-after", h.End.String(), "--expect-tone", "440",
				"--expect-calls", "1", "--exit-after", "30s")
			code, sum, err := ep.Wait(30 * time.Second)
			if err != nil {
				t.Fatalf("%s: endpoint: %v", dialect, err)
			}
			if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
				t.Errorf("%s: endpoint exit %d, summary %+v; want 0, ok, 1 answered", dialect, code, sum)
			}
			assertHoldSequence(t, ep, dialect, func(c *midCall) bool { return c.LocalHold })
			if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "heard-*.wav"))
			if len(files) != 1 {
				t.Fatalf("%s: endpoint recordings: %v", dialect, files)
			}
			// While we hold, baresip answers recvonly or inactive and
			// sends nothing.
			assertHeldAudio(t, "endpoint", files[0], 440, h, true)
			assertBaresipAfterResume(t, bs)
		})
	}
}

// assertHoldSequence checks the endpoint's call events: the call became
// active, then held (held reports it), then active and not held again.
// dialect, when not "", is the hold dialect the held event must show.
func assertHoldSequence(t *testing.T, ep *Endpoint, dialect string, held func(*midCall) bool) {
	t.Helper()
	const (
		wantActive = iota
		wantHeld
		wantResumed
		done
	)
	step := wantActive
	for _, ev := range ep.Events() {
		m := mid(ev)
		if !midCallIs("", "active")(m) {
			continue
		}
		switch {
		case step == wantActive && !held(m.Call):
			step = wantHeld
		case step == wantHeld && held(m.Call):
			if dialect != "" && m.Call.HoldDialect != dialect {
				t.Errorf("call held in %q, want %q: %s", m.Call.HoldDialect, dialect, ev.Raw)
			}
			step = wantResumed
		case step == wantResumed && !held(m.Call):
			step = done
		}
	}
	if step != done {
		t.Errorf("call events never went active, held, active again (stopped at step %d)", step)
	}
}

// TestBaresipHoldsAnyphone: baresip calls the endpoint, holds it with its
// menu's hold command and resumes it. The endpoint must show "held by
// remote" and stop sending while held, and both must hear each other after
// resume.
func TestBaresipHoldsAnyphone(t *testing.T) {
	h := holdSchedule
	bs := startBaresip(t, baresipOpts{Tone: 440})
	rec := filepath.Join(t.TempDir(), "heard-%c.wav")
	ep := startEndpoint(t, "--audio", "tone:1000", "--record", rec, "--expect-tone", "440",
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
	assertHoldSequence(t, ep, "", func(c *midCall) bool { return c.RemoteHold })
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "heard-*.wav"))
	if len(files) != 1 {
		t.Fatalf("endpoint recordings: %v", files)
	}
	// baresip stops sending while it holds with sendonly.
	assertHeldAudio(t, "endpoint", files[0], 440, h, true)
	assertBaresipAfterResume(t, bs)
}

// afterResumeDigits are sent by the endpoint one second after resume.
const afterResumeDigits = "159"

// assertBaresipAfterResume checks baresip's side of a hold test. baresip
// 1.0.0 restarts its audio player when a re-INVITE changes the direction,
// and from then on its sndfile module records nothing (seen with the
// aubridge and the alsa null players, whichever side holds; a c=0.0.0.0
// hold does not restart the player). So its recording proves only the
// audio before the hold, and the RTP after resume is proven by the DTMF
// digits the endpoint sends then (RFC 4733 events in the same RTP stream),
// which baresip reports as CALL_DTMF_START.
func assertBaresipAfterResume(t *testing.T, bs *baresip) {
	t.Helper()
	assertTone(t, bs.Heard(t), 1000, 500*time.Millisecond)
	var got string
	for _, d := range afterResumeDigits {
		m, err := bs.Wait(func(m bsMsg) bool {
			return m.Event && m.Type == "CALL_DTMF_START" && m.Param == string(d)
		}, 3*time.Second)
		if err != nil {
			t.Errorf("baresip never got digit %c sent after resume: %v", d, err)
			continue
		}
		got += m.Param
	}
	if got != afterResumeDigits {
		t.Errorf("baresip got DTMF %q after resume, want %q", got, afterResumeDigits)
	}
}

// TestBaresipDTMF: digits typed on baresip (its sndcode command, RFC 4733)
// arrive at the endpoint as dtmf events, in order; digits the endpoint
// sends arrive at baresip as CALL_DTMF_START events.
func TestBaresipDTMF(t *testing.T) {
	const toAnyphone, toBaresip = "147*0#", "2580#*"
	bs := startBaresip(t, baresipOpts{Tone: 440})
	ep := startEndpoint(t, "--audio", "tone:1000", "--dtmf", toBaresip, "--expect-dtmf", toAnyphone,
		"--hangup-after", "8s", "--expect-calls", "1", "--exit-after", "30s")
	if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for _, d := range toAnyphone {
		if _, err := bs.Command("sndcode", string(d), 3*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond) // baresip sends one event at a time
	}
	evs, err := ep.WaitEvents(func(ev Event) bool { return ev.Event == "dtmf" }, len(toAnyphone), 5*time.Second)
	var got string
	for _, ev := range evs {
		got += ev.Digit
	}
	if err != nil || got != toAnyphone {
		t.Errorf("endpoint dtmf events %q (%v), want %q", got, err, toAnyphone)
	}
	code, sum, err := ep.Wait(15 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.DTMF != toAnyphone {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, dtmf %q", code, sum, toAnyphone)
	}
	var heard string
	for _, m := range bsMessages(bs) {
		if m.Event && m.Type == "CALL_DTMF_START" {
			heard += m.Param
		}
	}
	if heard != toBaresip {
		t.Errorf("baresip got DTMF %q, want %q", heard, toBaresip)
	}
}

// bsMessages returns a copy of baresip's ctrl_tcp messages so far.
func bsMessages(b *baresip) []bsMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bsMsg(nil), b.msgs...)
}
