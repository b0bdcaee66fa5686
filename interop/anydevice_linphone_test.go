package interop

// Issue 6 with linphonec (Debian linphone-cli) as another of the user's
// AnyDevice devices, next to baresip (anydevice_test.go): the controller
// runs as the real binary, driven over its control API; sipp is the
// destination of a callback and the caller of a follow-me call, kamailio
// the registrar of the user's number. linphonec runs without a sound card
// in file mode: it plays a 1000 Hz WAV into the call and records what it
// hears, so the test proves media crossed the controller's relay and sipp's
// echo from the recording. Every SDP sipp sends names [media_ip], which
// startSipp pins to 127.0.0.1 with -mi.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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

// WaitOutput waits until linphonec's output matches re and returns the
// match (empty on timeout).
func (l *linphonec) WaitOutput(re *regexp.Regexp, timeout time.Duration) string {
	var m string
	waitFor(timeout, func() bool {
		m = re.FindString(l.Output())
		return m != "" || l.Exited()
	})
	return m
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
		"OFFICE": adOffice, "RING_MS": "2000", "TALK_MS": "20000", "BYE_REASON": `Q\.850;cause=16`,
	}, "CTL_HANGS")
	dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
	time.Sleep(300 * time.Millisecond) // let sipp bind
	destPort := fmt.Sprintf("127.0.0.1:%d", dest.Port)
	destURI := "sip:+4930555@" + destPort

	api := dialController(t, ctl, "alice", "alice-token")
	if res := api.Do("callback", map[string]any{"to": destURI}); !res.OK {
		t.Fatalf("callback: %+v", res)
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
	ib := traceIndex(ctl.Trace, "INVITE sip:+4930555@"+destPort)
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
	// then its own tone back.
	waitRecording(t, heard)
	rb := segmentTone(t, heard, 425, 0, 1500*time.Millisecond)
	t.Logf("ringback segment: %.2f s loud, 425 Hz ratio %.3f", rb.LoudSeconds, rb.Ratio)
	if rb.LoudSeconds < 0.5 || rb.Ratio < 0.5 {
		t.Errorf("linphonec heard no 425 Hz ringback while sipp rang: %+v", rb)
	}
	echo := segmentTone(t, heard, 1000, 2500*time.Millisecond, 0)
	t.Logf("talk segment: %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
	if echo.LoudSeconds < 2 || echo.Ratio < 0.5 {
		t.Errorf("linphonec did not hear its 1000 Hz back through the relay and sipp's echo: %+v", echo)
	}
}

// traceResponseIndex returns the offset in the SIP trace at path of the
// first response with code received from peer (host:port), -1 when none.
func traceResponseIndex(path, peer, code string) int {
	b, _ := os.ReadFile(path)
	off, fromPeer := 0, false
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.HasPrefix(line, "=== "):
			fromPeer = strings.Contains(line, "<- "+peer+" ")
		case fromPeer && strings.HasPrefix(line, "SIP/2.0 "+code+" "):
			return off
		}
		off += len(line)
	}
	return -1
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

// waitRecording waits for linphonec to have written its recording at
// path (it closes the file when the call ends).
func waitRecording(t *testing.T, path string) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() > 44
	}) {
		t.Fatalf("linphonec recorded nothing to %s", path)
	}
}
