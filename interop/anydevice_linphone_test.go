package interop

// Issue 6 with linphonec (Debian linphone-cli) as another of the user's
// AnyDevice devices, next to baresip (anydevice_test.go): the controller
// runs as the real binary, driven over the control protocol as alice
// (`anyphone ctl`: ctlAs); sipp is the destination of a callback and the
// caller of a follow-me call, kamailio the registrar of the user's number. linphonec runs without a sound card
// in file mode: it plays a 1000 Hz WAV into the call and records what it
// hears, so the test proves media crossed the controller's relay and sipp's
// echo from the recording. Every SDP sipp sends names [media_ip], which
// startSipp pins to 127.0.0.1 with -mi.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// lpFiles puts linphonec in file mode: it plays a hz tone instead of a
// microphone and records what it hears. It returns the recording's path.
// The commands apply to the next call.
func (l *linphonec) lpFiles(t *testing.T, hz float64) string {
	t.Helper()
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, hz, 30*time.Second)
	rec := filepath.Join(dir, "heard.wav")
	l.Send(t, "soundcard use files")
	l.Send(t, "play "+tone)
	l.Send(t, "record "+rec)
	return rec
}

// Send writes one command line to linphonec.
func (l *linphonec) Send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(l.in, cmd+"\n"); err != nil {
		t.Fatalf("linphonec %q: %v", cmd, err)
	}
}

// adLinphoneCallbackConf: alice's only active device is home, linphonec.
const adLinphoneCallbackConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
allow_sources = ["127.0.0.0/8"]

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
display = "Alice"
numbers = ["+4989100"]
active = ["home"]
  [[users.devices]]
  name = "home"
  target = "{{HOME}}"
  [users.policy]
  uris = true
`

// TestAnyDeviceLinphonecCallback: alice asks the controller for a callback
// to the sipp destination through her home device, an auto-answering
// linphonec. linphonec is called first; only after it answers does sipp
// get an INVITE, whose From and P-Asserted-Identity carry the office
// number (sipp's ereg check_it). linphonec's 1000 Hz tone crosses the
// relay to sipp, which echoes it back: linphonec's recording has it. Then
// linphonec hangs up (terminate): the controller's BYE reaches sipp with
// Reason Q.850 cause 16 (sipp checks it), and the session ends as the
// device's hangup.
func TestAnyDeviceLinphonecCallback(t *testing.T) {
	lp := startLinphonec(t, "alice-home")
	heard := lp.lpFiles(t, 1000)
	ctl := startController(t, strings.ReplaceAll(adLinphoneCallbackConf, "{{HOME}}", lp.URI))
	scen := adScenario(t, "dest_uas.xml", map[string]string{
		"OFFICE": adOffice, "RING_MS": "2500", "TALK_MS": "20000", "BYE_REASON": `Q\.850;cause=16`,
	}, "CTL_HANGS")
	dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
	destPort := fmt.Sprintf("127.0.0.1:%d", dest.Port)
	destURI := "sip:+4930555@" + destPort

	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI); err != nil {
		t.Fatalf("callback: %v", err)
	}

	// Leg A first: linphonec rings (showing the destination) and answers.
	ctl.WaitSession(t, "home answered", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "remote-ringing" })
	lpInvite := traceMessage(ctl.Trace, "INVITE sip:alice-home@"+fmt.Sprintf("127.0.0.1:%d", lp.Port))
	if lpInvite == "" {
		t.Fatalf("no INVITE to linphonec in the controller's trace")
	}
	if !strings.Contains(headerLine(lpInvite, "From"), "+4930555") {
		t.Errorf("linphonec's INVITE does not show the destination +4930555 in From:\n%s", lpInvite)
	}
	ia := traceIndex(ctl.Trace, "INVITE sip:alice-home@")
	var ib int
	waitFor(5*time.Second, func() bool { // the trace is written behind the session events
		ib = traceIndex(ctl.Trace, "INVITE sip:+4930555@"+destPort)
		return ib >= 0
	})
	if ia < 0 || ib < 0 || ia > ib {
		t.Errorf("INVITE to linphonec at %d, to the destination at %d in the trace: want linphonec first", ia, ib)
	}
	if i200 := traceResponseIndex(ctl.Trace, fmt.Sprintf("127.0.0.1:%d", lp.Port), "200"); ib >= 0 && (i200 < 0 || i200 > ib) {
		t.Errorf("linphonec's 200 OK at %d, destination INVITE at %d: want the destination called after linphonec answered", i200, ib)
	}
	bridged := ctl.WaitSession(t, "bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	if bridged.Session.Device != "home" {
		t.Errorf("bridged through %q, want home", bridged.Session.Device)
	}
	assertLoopbackSDP(t, "sipp's 200 OK", traceResponse(ctl.Trace, destPort, "200"))

	// Talk: linphonec's tone goes round through the relay and sipp's echo.
	time.Sleep(4 * time.Second)
	lp.Send(t, "terminate")
	if code, err := dest.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp destination: exit %d, %v (its From/PAI/Reason checks or the call failed)\n%s", code, err, tailString(dest.Output(), 4<<10))
	}
	if ok := dest.StatInt(t, "SuccessfulCall(C)"); ok != 1 {
		t.Errorf("sipp destination: %d successful calls, want 1", ok)
	}
	ended := ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	if !strings.HasPrefix(ended.Session.End, "device-") && ended.Session.End != "hangup" {
		t.Errorf("session end %q, want the device's hangup", ended.Session.End)
	}
	if bye := traceMessage(ctl.Trace, "BYE sip:dest@", destPort); !strings.Contains(bye, "Reason: Q.850;cause=16") {
		t.Errorf("BYE to the destination lacks Reason: Q.850;cause=16:\n%s", bye)
	}
	// What linphonec heard: the controller's ringback while sipp rang,
	// then its own tone back. Counted in 100 ms blocks where the tone
	// carries most of the power, so a jitter-buffer glitch under load does
	// not sink a whole segment.
	waitRecording(t, heard)
	if rb := toneSeconds(t, heard, 425, 0, 1500*time.Millisecond); rb < 0.5 {
		t.Errorf("linphonec heard %.1f s of 425 Hz ringback in its first 1.5 s, want 0.5 s or more", rb)
	}
	if echo := toneSeconds(t, heard, 1000, 3*time.Second, 0); echo < 2 {
		t.Errorf("linphonec heard %.1f s of its 1000 Hz back through the relay and sipp's echo, want 2 s or more", echo)
	}
}

// toneSeconds is how much of the WAV at path between from and to (to <=
// 0: the end) is 100 ms blocks louder than -40 dBFS with more than half
// their power at hz.
func toneSeconds(t *testing.T, path string, hz float64, from, to time.Duration) float64 {
	t.Helper()
	samples, err := audio.LoadWAV(path, audio.Narrowband)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	const rate, block = 8000, 800
	i1 := len(samples)
	if to > 0 {
		i1 = min(i1, int(to.Seconds()*rate))
	}
	var sec float64
	var blocks strings.Builder
	for i := min(len(samples), int(from.Seconds()*rate)); i+block <= i1; i += block {
		b := samples[i : i+block]
		ms := audio.MeanSquare(b)
		c := byte('.')
		if ms >= 1e-4 {
			c = 'x'
			if audio.Goertzel(b, rate, hz)/ms > 0.5 {
				c = '#'
				sec += float64(block) / rate
			}
		}
		blocks.WriteByte(c)
	}
	end := "the end"
	if to > 0 {
		end = to.String()
	}
	t.Logf("%g Hz from %s to %s: %.1f s (%s; #: the tone, x: other sound, .: quiet)", hz, from, end, sec, blocks.String())
	return sec
}

// traceResponse returns the first response with code received from peer
// in the SIP trace at path ("" when there is none).
func traceResponse(path, peer, code string) string {
	return traceFrom(path, peer, "SIP/2.0 "+code+" ")
}

// traceFrom returns the first message received from peer in the SIP trace
// at path whose start line begins with prefix ("" when there is none).
func traceFrom(path, peer, prefix string) string {
	i := traceFromIndex(path, peer, prefix)
	if i < 0 {
		return ""
	}
	b, _ := os.ReadFile(path)
	msg := string(b[i:])
	if j := strings.Index(msg, "\n=== "); j >= 0 {
		msg = msg[:j]
	}
	return msg
}

// assertLoopbackSDP checks that the SDP in msg has an origin and a
// connection address and that both are 127.0.0.1.
func assertLoopbackSDP(t *testing.T, what, msg string) {
	t.Helper()
	var o, c string
	for line := range strings.Lines(msg) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "o="):
			o = line
		case strings.HasPrefix(line, "c="):
			c = line
		}
	}
	if !strings.HasSuffix(o, " IN IP4 127.0.0.1") || c != "c=IN IP4 127.0.0.1" {
		t.Errorf("%s: SDP origin %q, connection %q; want both on 127.0.0.1:\n%s", what, o, c, msg)
	}
}

// traceResponseIndex returns the offset in the SIP trace at path of the
// first response with code received from peer (host:port), -1 when none.
func traceResponseIndex(path, peer, code string) int {
	return traceFromIndex(path, peer, "SIP/2.0 "+code+" ")
}

// traceFromIndex returns the offset in the SIP trace at path of the first
// message received from peer whose start line begins with prefix, -1 when
// none.
func traceFromIndex(path, peer, prefix string) int {
	b, _ := os.ReadFile(path)
	off, fromPeer := 0, false
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.HasPrefix(line, "=== "):
			fromPeer = strings.Contains(line, "<- "+peer+" ")
		case fromPeer && strings.HasPrefix(line, prefix):
			return off
		}
		off += len(line)
	}
	return -1
}

// waitRecording waits for linphonec to have closed its recording at path:
// it writes the WAV header when the call's recorder closes, so the file
// loads only then.
func waitRecording(t *testing.T, path string) {
	t.Helper()
	var err error
	if !waitFor(5*time.Second, func() bool {
		var s []int16
		s, err = audio.LoadWAV(path, audio.Narrowband)
		return err == nil && len(s) > 0
	}) {
		t.Fatalf("linphonec's recording %s never became a WAV file: %v", path, err)
	}
}

// adLinphoneFollowMeConf: the controller registers alice's number at
// kamailio and rings her desk (an anyphone endpoint) and her home device
// (linphonec) together.
const adLinphoneFollowMeConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
allow_sources = ["127.0.0.0/8"]

[account]
aor = "sip:+4989100@127.0.0.1:{{KPORT}}"
registrar = "sip:127.0.0.1:{{KPORT}}"
password_env = "INTEROP_ALICE_PW"

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
display = "Alice"
numbers = ["+4989100"]
active = ["desk", "home"]
voicemail_after = "20s"
  [[users.devices]]
  name = "desk"
  target = "{{DESK}}"
  [[users.devices]]
  name = "home"
  target = "{{HOME}}"
`

// TestAnyDeviceLinphonecFollowMe: sipp calls alice's number through
// kamailio, where the controller registered it. The desk (an anyphone
// endpoint that does not answer) and linphonec ring together; linphonec
// answers from its command line. The desk's call ends as
// answered-elsewhere (CANCEL with Reason SIP;cause=200), linphonec hears
// its own tone back through the relay and sipp's echo, and sipp's BYE
// reaches linphonec with a Reason.
func TestAnyDeviceLinphonecFollowMe(t *testing.T) {
	k := startKamailio(t, true)
	lp := startLinphonec(t, "alice-home")
	lp.Send(t, "autoanswer disable")
	heard := lp.lpFiles(t, 1000)
	deskTrace := filepath.Join(t.TempDir(), "desk.trace")
	desk := startEndpoint(t, "--name", "alice-desk", "--answer", "manual", "--trace-file", deskTrace)
	conf := strings.NewReplacer("{{KPORT}}", fmt.Sprint(k.Port), "{{DESK}}", desk.URI, "{{HOME}}", lp.URI).Replace(adLinphoneFollowMeConf)
	ctl := startController(t, conf)
	if !waitFor(10*time.Second, func() bool { return hasPort(k.Bindings(t, adOffice), mustPort(t, ctl.Addr)) }) {
		t.Fatalf("the controller never registered %s at kamailio: bindings %v", adOffice, k.Bindings(t, adOffice))
	}

	scen := adScenario(t, "caller_uac.xml", map[string]string{"NUMBER": adOffice, "TALK_MS": "4000"})
	caller := startSipp(t, scen, fmt.Sprintf("127.0.0.1:%d", k.Port), "-rtp_echo", "-m", "1")

	// Both ring together.
	lpAddr := fmt.Sprintf("127.0.0.1:%d", lp.Port)
	if _, err := desk.WaitEvent(isCall("incoming"), 10*time.Second); err != nil {
		t.Fatalf("desk never rang: %v", err)
	}
	if !waitFor(5*time.Second, func() bool { return traceResponseIndex(ctl.Trace, lpAddr, "180") >= 0 }) {
		t.Fatalf("linphonec never rang (no 180 from %s in the controller's trace)", lpAddr)
	}
	tDesk, okDesk := traceTime(ctl.Trace, "INVITE sip:alice-desk")
	tHome, okHome := traceTime(ctl.Trace, "INVITE sip:alice-home")
	if !okDesk || !okHome {
		t.Fatalf("INVITEs to desk (%v) and linphonec (%v) not both in the controller's trace", okDesk, okHome)
	}
	if gap := tHome.Sub(tDesk).Abs(); gap > 500*time.Millisecond {
		t.Errorf("desk and linphonec were called %s apart, want together", gap)
	}
	if in := traceMessage(ctl.Trace, "INVITE sip:alice-home"); !strings.Contains(headerLine(in, "From"), "+4930777") {
		t.Errorf("linphonec's INVITE does not show the caller +4930777 in From:\n%s", in)
	}

	assertLoopbackSDP(t, "sipp's INVITE", traceFrom(ctl.Trace, fmt.Sprintf("127.0.0.1:%d", k.Port), "INVITE "))

	// linphonec answers; the desk loses with cause 200.
	time.Sleep(time.Second)
	if i := traceResponseIndex(ctl.Trace, lpAddr, "200"); i >= 0 {
		t.Fatalf("linphonec answered by itself (autoanswer disable did not apply)")
	}
	if ev, err := desk.WaitEvent(isCall("ended"), 10*time.Millisecond); err == nil {
		t.Fatalf("the desk stopped ringing before linphonec answered: %s", ev.Raw)
	}
	lp.Send(t, "answer")
	lost, err := desk.WaitEvent(isCall("ended"), 10*time.Second)
	if err != nil {
		t.Fatalf("the desk kept ringing after linphonec answered: %v", err)
	}
	if lost.Call.End == nil || lost.Call.End.Cause != "answered-elsewhere" {
		t.Errorf("desk end = %s, want answered-elsewhere", lost.Raw)
	}
	if cancel := traceMessage(deskTrace, "CANCEL sip:alice-desk"); !strings.Contains(cancel, "Reason: SIP;cause=200") {
		t.Errorf("the desk's CANCEL lacks Reason: SIP;cause=200:\n%s", cancel)
	}
	bridged := ctl.WaitSession(t, "bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	if bridged.Session.Device != "home" {
		t.Errorf("bridged to %q, want home", bridged.Session.Device)
	}
	if _, err := desk.WaitEvent(isCall("active"), 500*time.Millisecond); err == nil {
		t.Error("the desk's call became active although linphonec answered")
	}

	// sipp hangs up after 4 s of echo; linphonec gets BYE with a Reason.
	if code, err := caller.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp caller: exit %d, %v\n%s", code, err, tailString(caller.Output(), 4<<10))
	}
	ended := ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	if ended.Session.Device != "home" {
		t.Errorf("session ended %+v, want through home", ended.Session)
	}
	if bye := traceMessage(ctl.Trace, "BYE sip:", lpAddr); !strings.Contains(bye, "Reason: ") {
		t.Errorf("BYE to linphonec lacks a Reason:\n%s", bye)
	}
	waitRecording(t, heard)
	if echo := toneSeconds(t, heard, 1000, 500*time.Millisecond, 0); echo < 2 {
		t.Errorf("linphonec heard %.1f s of its 1000 Hz back through the relay and the caller's echo, want 2 s or more", echo)
	}
}

// traceTime returns the time of the first message of the SIP trace at
// path whose start line contains every needle.
func traceTime(path string, needles ...string) (time.Time, bool) {
	b, _ := os.ReadFile(path)
	var last time.Time
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "===" {
			last, _ = time.Parse(time.RFC3339Nano, f[1])
			continue
		}
		all := true
		for _, n := range needles {
			all = all && strings.Contains(line, n)
		}
		if all {
			return last, !last.IsZero()
		}
	}
	return time.Time{}, false
}

// headerLine returns the first line of msg that starts with name + ":".
func headerLine(msg, name string) string {
	for line := range strings.Lines(msg) {
		if strings.HasPrefix(strings.ToLower(line), strings.ToLower(name)+":") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
