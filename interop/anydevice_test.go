package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/cti/journal"
)

// Issue 6 against real peers: the AnyDevice controller runs as the real
// binary (`$ANYPHONE_BIN controller --file F`) and is driven through the
// control protocol of every front end as its user (`anyphone ctl` with
// the user's token: ctlAs). baresip is the user's mobile device, sipp the
// destination of a callback and the external caller of a follow-me call,
// kamailio the registrar where the controller registers the user's number,
// and an `anyphone endpoint` the desk device.

// office is the user's office number: the identity every callback must
// show the destination.
const adOffice = "+4989100"

// controllerProc is a running `anyphone controller`: its stdout JSON lines
// (ready, session, session_ended, refused, device) and its control
// protocol.
type controllerProc struct {
	*Endpoint        // the JSON-line reader and process handling are the endpoint's
	CtlURL    string // ws://127.0.0.1:PORT/ctl: the control protocol, per user
	Trace     string // SIP trace file
	Journal   string // SQLite journal
}

// startController writes conf (with {{TRACE}} and {{JOURNAL}} filled in)
// to a file and runs the controller on it until the test ends.
func startController(t *testing.T, conf string) *controllerProc {
	t.Helper()
	bin := anyphoneBin(t)
	dir := t.TempDir()
	c := &controllerProc{Trace: filepath.Join(dir, "controller.trace"), Journal: filepath.Join(dir, "journal.db")}
	conf = strings.NewReplacer("{{TRACE}}", c.Trace, "{{JOURNAL}}", c.Journal).Replace(conf)
	path := filepath.Join(dir, "controller.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "controller.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "controller", "--file", path, "--log-level", "debug")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "INTEROP_ALICE_TOKEN=alice-token", "INTEROP_ALICE_PW=secret")
	cmd.Stderr = errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start anyphone controller --file %s", path)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start controller: %v", err)
	}
	e := &Endpoint{t: t, in: stdin, change: make(chan struct{})}
	p := &proc{name: "controller", cmd: cmd, outPath: errf.Name(), done: make(chan struct{})}
	e.proc = p
	readDone := make(chan struct{})
	// The reader goroutine is owned by e: it ends at stdout EOF.
	go func() {
		defer close(readDone)
		e.read(stdout)
	}()
	// The waiter goroutine is owned by p; it ends when the process exits.
	go func() {
		<-readDone
		p.waitErr = cmd.Wait()
		errf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			var b strings.Builder
			for _, ev := range e.Events() {
				b.WriteString(ev.Raw + "\n")
			}
			t.Logf("---- controller stdout:\n%s", tailString(b.String(), 24<<10))
			t.Logf("---- controller stderr (%s):\n%s", p.outPath, tail(p.outPath, 24<<10))
			t.Logf("---- controller SIP trace:\n%s", tail(c.Trace, 24<<10))
		}
	})
	c.Endpoint = e
	ready, err := e.WaitEvent(func(ev Event) bool { return ev.Event == "ready" }, 10*time.Second)
	if err != nil {
		t.Fatalf("controller not ready: %v", err)
	}
	var r struct{ Ctl string }
	if err := json.Unmarshal([]byte(ready.Raw), &r); err != nil || r.Ctl == "" {
		t.Fatalf("ready line without ctl: %s", ready.Raw)
	}
	c.Addr, c.CtlURL = ready.Addr, r.Ctl
	return c
}

// sessionEvent is a controller "session" or "session_ended" line.
type sessionEvent struct {
	Event   string `json:"event"`
	Session struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Device string `json:"device"`
		Held   bool   `json:"held"`
		End    string `json:"end"`
		Legs   []struct {
			Role   string `json:"role"`
			Device string `json:"device"`
			Note   string `json:"note"`
			Call   struct {
				State string `json:"state"`
				Codec string `json:"codec"`
				SRTP  string `json:"srtp"`
			} `json:"call"`
		} `json:"legs"`
		Channels int `json:"channels"`
	} `json:"session"`
}

// WaitSession waits for a session line matching pred.
func (c *controllerProc) WaitSession(t *testing.T, what string, timeout time.Duration, pred func(sessionEvent) bool) sessionEvent {
	t.Helper()
	var got sessionEvent
	_, err := c.WaitEvent(func(ev Event) bool {
		if ev.Event != "session" && ev.Event != "session_ended" {
			return false
		}
		var s sessionEvent
		if json.Unmarshal([]byte(ev.Raw), &s) != nil || !pred(s) {
			return false
		}
		got = s
		return true
	}, timeout)
	if err != nil {
		t.Fatalf("controller: waiting for %s: %v", what, err)
	}
	return got
}

// adScenario fills testdata/anydevice/name's placeholders and uncomments
// the optional blocks named in keep; it returns the temp file's path.
func adScenario(t *testing.T, name string, vars map[string]string, keep ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "anydevice", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, k := range keep {
		s = strings.Replace(s, "<!--"+k+"\n", "\n", 1)
		s = strings.Replace(s, k+"-->\n", "\n", 1)
	}
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: unfilled placeholder at %q", name, s[i:min(len(s), i+20)])
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// segmentTone measures hz in the WAV at path between from and to (from
// the start of the recording; to <= 0: the end), like measureTone.
func segmentTone(t *testing.T, path string, hz float64, from, to time.Duration) toneStats {
	t.Helper()
	samples, err := audio.LoadWAV(path, audio.Narrowband)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	const rate, block = 8000, 800
	i0 := min(len(samples), int(from.Seconds()*rate))
	i1 := len(samples)
	if to > 0 {
		i1 = min(len(samples), int(to.Seconds()*rate))
	}
	samples = samples[i0:i1]
	var st toneStats
	st.Seconds = float64(len(samples)) / rate
	var power, total float64
	for i := 0; i+block <= len(samples); i += block {
		b := samples[i : i+block]
		ms := audio.MeanSquare(b)
		if ms < 1e-4 {
			continue
		}
		st.LoudSeconds += float64(block) / rate
		power += audio.Goertzel(b, rate, hz)
		total += ms
	}
	if total > 0 {
		st.Ratio = power / total
	}
	return st
}

// traceIndex returns the offset of the first line of the SIP trace at path
// that contains every needle ("" for the file), -1 when none does.
func traceIndex(path string, needles ...string) int {
	b, _ := os.ReadFile(path)
	off := 0
	for line := range strings.Lines(string(b)) {
		all := true
		for _, n := range needles {
			if !strings.Contains(line, n) {
				all = false
				break
			}
		}
		if all {
			return off
		}
		off += len(line)
	}
	return -1
}

// traceMessage returns the SIP message of the trace at path that starts
// with a line containing every needle ("" when there is none): up to the
// next "=== time transport from -> to ===" line of the trace.
func traceMessage(path string, needles ...string) string {
	b, _ := os.ReadFile(path)
	s := string(b)
	i := traceIndex(path, needles...)
	if i < 0 {
		return ""
	}
	rest := s[i:]
	sc := bufio.NewScanner(strings.NewReader(rest))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out strings.Builder
	first := true
	for sc.Scan() {
		line := sc.Text()
		if !first && strings.HasPrefix(line, "=== ") {
			break
		}
		first = false
		out.WriteString(line + "\n")
	}
	return out.String()
}

// adCallbackConf is the controller config of the callback test: alice's
// mobile is baresip; any number or URI may be dialed (uris), so the sipp
// destination is reachable by its SIP URI.
const adCallbackConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
allow_sources = ["127.0.0.0/8"]

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
display = "Alice"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "{{MOBILE}}"
  [users.policy]
  uris = true
`

// TestAnyDeviceCallback: alice asks the controller (`anyphone ctl dial`
// as alice) to call the sipp destination through her mobile (baresip).
// The mobile is called first, showing the destination; only after it
// answers does sipp get an INVITE, whose From and P-Asserted-Identity
// must carry the office number (sipp checks with <ereg check_it>). baresip
// hears the controller's 425 Hz ringback while sipp rings, then its own
// 1000 Hz tone echoed by sipp: through the relay both ways. Each side
// hangs up once; the other gets BYE with a Reason header. The journal has
// one entry.
func TestAnyDeviceCallback(t *testing.T) {
	for _, tc := range []struct {
		name       string
		destHangs  bool
		keep       string
		byeReason  string // the Reason the side that did not hang up must get
		endPattern string // session end
	}{
		{"destination hangs up", true, "DEST_HANGS", `Q\.850;cause=16`, "remote-"},
		{"device hangs up", false, "CTL_HANGS", `Q\.850;cause=16`, "device-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := startBaresip(t, baresipOpts{User: "alice-mobile", Tone: 1000})
			ctl := startController(t, strings.ReplaceAll(adCallbackConf, "{{MOBILE}}", bs.AOR))
			scen := adScenario(t, "dest_uas.xml", map[string]string{
				"OFFICE": adOffice, "RING_MS": "3000", "TALK_MS": "5000", "BYE_REASON": tc.byeReason,
			}, tc.keep)
			dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
			destURI := fmt.Sprintf("sip:+4930555@127.0.0.1:%d", dest.Port)

			if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI); err != nil {
				t.Fatalf("callback: %v", err)
			}

			// Leg A first, showing the destination.
			in, err := bs.WaitEvent("CALL_INCOMING", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(in.PeerURI, "+4930555") {
				t.Errorf("mobile sees caller %q, want the destination +4930555", in.PeerURI)
			}
			time.Sleep(500 * time.Millisecond)
			destPort := fmt.Sprintf("127.0.0.1:%d", dest.Port)
			if i := traceIndex(ctl.Trace, "INVITE sip:+4930555@"+destPort); i >= 0 {
				t.Fatalf("destination called before the mobile answered")
			}
			if _, err := bs.Command("accept", "", 3*time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			ctl.WaitSession(t, "remote ringing", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "remote-ringing" })
			established := time.Now()
			bridged := ctl.WaitSession(t, "bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
			if bridged.Session.Channels != 2 {
				t.Errorf("bridged session uses %d channels, want 2", bridged.Session.Channels)
			}
			ringFor := time.Since(established)
			t.Logf("bridged %s after the mobile answered", ringFor)

			if tc.destHangs {
				// sipp sends BYE after TALK_MS: the mobile gets BYE with a Reason.
				if _, err := bs.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(4 * time.Second)
				if _, err := bs.Command("hangup", "", 3*time.Second); err != nil {
					t.Fatal(err)
				}
				if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if code, err := dest.Wait(20 * time.Second); err != nil || code != 0 {
				t.Fatalf("sipp destination: exit %d, %v (its From/PAI/Reason checks or the call failed)\n%s", code, err, tailString(dest.Output(), 4<<10))
			}
			if ok := dest.StatInt(t, "SuccessfulCall(C)"); ok != 1 {
				t.Errorf("sipp destination: %d successful calls, want 1", ok)
			}
			ended := ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
			if !strings.HasPrefix(ended.Session.End, tc.endPattern) && ended.Session.End != "hangup" {
				t.Errorf("session end %q, want %s...", ended.Session.End, tc.endPattern)
			}

			// The order of the INVITEs and the Reason to the mobile, on the wire.
			mobilePort := fmt.Sprintf("127.0.0.1:%d", bs.SIPPort)
			ia := traceIndex(ctl.Trace, "INVITE sip:alice-mobile@"+mobilePort)
			ib := traceIndex(ctl.Trace, "INVITE sip:+4930555@"+destPort)
			if ia < 0 || ib < 0 || ia > ib {
				t.Errorf("INVITE to the mobile at %d, to the destination at %d in the trace: want the mobile first", ia, ib)
			}
			if tc.destHangs {
				bye := traceMessage(ctl.Trace, "BYE sip:alice-mobile", mobilePort)
				if !strings.Contains(bye, "Reason: Q.850;cause=16") {
					t.Errorf("BYE to the mobile lacks the Reason:\n%s", bye)
				}
			}

			// What the mobile heard: ringback while sipp rang, then its own
			// tone back through the relay.
			wav := bs.Heard(t)
			rb := segmentTone(t, wav, 425, 0, 1500*time.Millisecond)
			t.Logf("ringback segment: %.2f s loud, 425 Hz ratio %.3f", rb.LoudSeconds, rb.Ratio)
			if rb.LoudSeconds < 0.5 || rb.Ratio < 0.5 {
				t.Errorf("the mobile heard no 425 Hz ringback in its first 1.5 s: %+v", rb)
			}
			echo := segmentTone(t, wav, 1000, 3500*time.Millisecond, 0)
			t.Logf("talk segment: %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
			if echo.LoudSeconds < 1.5 || echo.Ratio < 0.5 {
				t.Errorf("the mobile did not hear its 1000 Hz back through the relay and sipp: %+v", echo)
			}

			// One journal entry for the whole call.
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
			if len(rows) != 1 || rows[0].Outcome != journal.OutcomeAnswered || rows[0].Device != "mobile" || rows[0].Local.Number != adOffice {
				t.Errorf("journal = %+v, want one answered entry via mobile from %s", rows, adOffice)
			}
		})
	}
}

// adFollowMeConf is the controller config of the follow-me test: the
// controller registers alice's number at kamailio (digest auth) and rings
// her desk (an anyphone endpoint) at once and her mobile (baresip) one
// second later.
const adFollowMeConf = `listen = "127.0.0.1:0"
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
active = ["desk", "mobile"]
voicemail_after = "20s"
  [[users.devices]]
  name = "desk"
  target = "{{DESK}}"
  [[users.devices]]
  name = "mobile"
  target = "{{MOBILE}}"
  ring_delay = "1s"
`

// TestAnyDeviceFollowMeKamailio: the controller registers alice's number
// at kamailio; sipp calls that number through kamailio. The desk (an
// anyphone endpoint that does not answer) rings at once, the mobile
// (baresip) a second later, both with History-Info marking the call
// secondary. The mobile answers: the desk gets CANCEL with Reason
// SIP;cause=200, the caller is connected (baresip hears its own tone back
// through the relay and sipp's echo), and the caller's BYE reaches the
// mobile with a Reason.
func TestAnyDeviceFollowMeKamailio(t *testing.T) {
	k := startKamailio(t, true)
	bs := startBaresip(t, baresipOpts{User: "alice-mobile", Tone: 1000})
	deskTrace := filepath.Join(t.TempDir(), "desk.trace")
	desk := startEndpoint(t, "--name", "alice-desk", "--answer", "manual", "--trace-file", deskTrace)
	conf := strings.NewReplacer("{{KPORT}}", fmt.Sprint(k.Port), "{{DESK}}", desk.URI, "{{MOBILE}}", bs.AOR).Replace(adFollowMeConf)
	ctl := startController(t, conf)
	if !waitFor(10*time.Second, func() bool { return hasPort(k.Bindings(t, adOffice), mustPort(t, ctl.Addr)) }) {
		t.Fatalf("the controller never registered %s at kamailio: bindings %v", adOffice, k.Bindings(t, adOffice))
	}

	scen := adScenario(t, "caller_uac.xml", map[string]string{"NUMBER": adOffice, "TALK_MS": "4000"})
	caller := startSipp(t, scen, fmt.Sprintf("127.0.0.1:%d", k.Port), "-rtp_echo", "-m", "1")

	// Staged ring: the desk at once, the mobile a second later.
	if _, err := desk.WaitEvent(isCall("incoming"), 10*time.Second); err != nil {
		t.Fatalf("desk never rang: %v", err)
	}
	deskRang := time.Now()
	in, err := bs.WaitEvent("CALL_INCOMING", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if gap := time.Since(deskRang); gap < 700*time.Millisecond || gap > 2500*time.Millisecond {
		t.Errorf("the mobile rang %s after the desk, want about 1 s (ring_delay)", gap)
	}
	if !strings.Contains(in.PeerURI, "+4930777") {
		t.Errorf("the mobile sees caller %q, want the external caller +4930777", in.PeerURI)
	}
	if hi := traceMessage(deskTrace, "INVITE sip:alice-desk"); !strings.Contains(hi, "History-Info:") || !strings.Contains(hi, "index=1.1") || !strings.Contains(hi, adOffice) {
		t.Errorf("the desk's INVITE has no History-Info marking it secondary:\n%s", hi)
	}

	// The mobile answers; the desk loses with cause 200.
	if _, err := bs.Command("accept", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	lost, err := desk.WaitEvent(isCall("ended"), 5*time.Second)
	if err != nil {
		t.Fatalf("the desk kept ringing after the mobile answered: %v", err)
	}
	if lost.Call.End == nil || lost.Call.End.Cause != "answered-elsewhere" {
		t.Errorf("desk end = %s, want answered-elsewhere", lost.Raw)
	}
	if cancel := traceMessage(deskTrace, "CANCEL sip:alice-desk"); !strings.Contains(cancel, "Reason: SIP;cause=200") {
		t.Errorf("the desk's CANCEL lacks Reason: SIP;cause=200:\n%s", cancel)
	}
	bridged := ctl.WaitSession(t, "bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	if bridged.Session.Device != "mobile" {
		t.Errorf("bridged to %q, want mobile", bridged.Session.Device)
	}

	// sipp hangs up after 4 s of echo; the mobile gets BYE with a Reason.
	if _, err := bs.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, err := caller.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp caller: exit %d, %v\n%s", code, err, tailString(caller.Output(), 4<<10))
	}
	mobilePort := fmt.Sprintf("127.0.0.1:%d", bs.SIPPort)
	if bye := traceMessage(ctl.Trace, "BYE sip:alice-mobile", mobilePort); !strings.Contains(bye, "Reason: ") {
		t.Errorf("BYE to the mobile lacks a Reason:\n%s", bye)
	}
	echo := segmentTone(t, bs.Heard(t), 1000, 500*time.Millisecond, 0)
	t.Logf("mobile heard %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
	if echo.LoudSeconds < 2 || echo.Ratio < 0.5 {
		t.Errorf("the mobile did not hear its tone back through the relay and the caller: %+v", echo)
	}
	ended := ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	if ended.Session.Device != "mobile" {
		t.Errorf("session ended %+v", ended.Session)
	}
}
