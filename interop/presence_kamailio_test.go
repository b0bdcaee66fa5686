package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kamailioDBText is where Debian's kamailio package keeps the db_text
// table files the presence module needs.
const kamailioDBText = "/usr/share/kamailio/dbtext/kamailio"

// startPresenceKamailio runs testdata/presence/kamailio.cfg (registrar,
// proxy and presence server with presence_dialoginfo) on a free port with
// fresh db_text tables, and returns the port and the process.
func startPresenceKamailio(t *testing.T) (int, *proc) {
	t.Helper()
	bin := lookPeer(t, "kamailio")
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"version", "presentity", "active_watchers", "watchers", "xcap", "pua"} {
		b, err := os.ReadFile(filepath.Join(kamailioDBText, table))
		if err != nil {
			t.Fatalf("kamailio db_text table %s (Debian kamailio): %v", table, err)
		}
		if err := os.WriteFile(filepath.Join(db, table), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/kamailio/modules/presence_dialoginfo.so"); err != nil {
		t.Fatalf("kamailio presence_dialoginfo module (Debian kamailio-presence-modules): %v", err)
	}
	port := freePort(t, 1)
	b, err := os.ReadFile(filepath.Join("testdata", "presence", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("SIP_PORT", strconv.Itoa(port), "CTL_SOCKET_PATH", filepath.Join(dir, "ctl.sock"), "DB_DIR", db).Replace(string(b))
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := startProc(t, bin, dir, nil, "-f", path, "-DD", "-E", "-w", dir, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	if !waitFor(5*time.Second, func() bool { return strings.Contains(k.Output(), "INFO") && !k.Exited() && portTaken(port) }) {
		t.Fatalf("kamailio did not start on %d (exited: %v)\n%s", port, k.Exited(), tailString(k.Output(), 4<<10))
	}
	return port, k
}

// TestKamailioPresenceWatchEachOther (issue 15, with a presence server):
// alice and bob register at kamailio, PUBLISH their dialog state there
// and watch each other through it (SUBSCRIBE dialog to the AOR, answered
// by kamailio's presence_dialoginfo). carol calls bob's AOR through
// kamailio; bob answers after 1.5 s and hangs up a second later. alice
// sees bob early within 1 s of bob's phone ringing, confirmed within 1 s
// of the answer, and idle within 1 s of the hang-up.
func TestKamailioPresenceWatchEachOther(t *testing.T) {
	port, k := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	aor := func(u string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", u, port) }
	bob := startEndpoint(t, "--name", "bob", "--account", aor("bob"), "--registrar", srv, "--presence-server", srv,
		"--watch", aor("alice"), "--answer-delay", "1500ms", "--hangup-after", "1s")
	alice := startEndpoint(t, "--name", "alice", "--account", aor("alice"), "--registrar", srv, "--presence-server", srv,
		"--watch", aor("bob"))
	for _, ep := range []*Endpoint{alice, bob} {
		if _, err := ep.WaitEvent(func(ev Event) bool {
			return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
		}, 10*time.Second); err != nil {
			t.Fatalf("%s not registered: %v", ep.Addr, err)
		}
	}
	waitPresence(t, alice, "alice's watch of bob active", aor("bob"), 10*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active"
	})
	waitPresence(t, bob, "bob's watch of alice active", aor("alice"), 10*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active"
	})

	carol := startEndpoint(t, "--name", "carol", "--dial", aor("bob"), "--expect-calls", "1", "--exit-after", "6s")
	if _, err := bob.WaitEvent(isCall("incoming"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	rang := time.Now()
	ring := waitPresence(t, alice, "alice sees bob ringing", aor("bob"), time.Second, func(p presenceEvent) bool {
		return strings.Contains(dialogStates(p), "early")
	})
	t.Logf("bob ringing at alice %s after bob's phone rang", time.Since(rang).Round(time.Millisecond))
	if d := ring.Watch.Info.Dialogs[0]; d.Direction != "incoming" {
		t.Errorf("ringing dialog %+v: want incoming (recipient)", d)
	}
	if _, err := bob.WaitEvent(isCall("active"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	waitPresence(t, alice, "alice sees bob on the phone", aor("bob"), time.Second, func(p presenceEvent) bool {
		return strings.Contains(dialogStates(p), "confirmed")
	})
	t.Logf("bob confirmed at alice %s after the answer", time.Since(answered).Round(time.Millisecond))
	if _, err := bob.WaitEvent(isCall("ended"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	waitPresence(t, alice, "alice sees bob idle again", aor("bob"), time.Second, func(p presenceEvent) bool {
		s := dialogStates(p)
		return !strings.Contains(s, "early") && !strings.Contains(s, "confirmed") && !strings.Contains(s, "trying")
	})
	t.Logf("bob idle at alice %s after the hang-up", time.Since(ended).Round(time.Millisecond))
	if code, sum, err := carol.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("carol: exit %d %+v %v", code, sum, err)
	}
	// The state went through kamailio: both PUBLISHed and SUBSCRIBEd there.
	out := k.Output()
	for _, want := range []string{"REQ PUBLISH " + aor("bob"), "REQ PUBLISH " + aor("alice"), "REQ SUBSCRIBE " + aor("bob"), "REQ SUBSCRIBE " + aor("alice")} {
		if !strings.Contains(out, want) {
			t.Errorf("kamailio never logged %q", want)
		}
	}
}

// TestSippWatchesAtKamailio (issue 15): sipp, a third-party desk phone,
// SUBSCRIBEs to bob's dialog state at kamailio, the presence server bob
// PUBLISHes to. carol calls bob through kamailio; bob answers after a
// second and hangs up a second later. The NOTIFY bodies kamailio sends
// show, in order: early (direction recipient, remote identity carol),
// confirmed, terminated.
func TestSippWatchesAtKamailio(t *testing.T) {
	port, _ := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	aor := func(u string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", u, port) }
	bob := startEndpoint(t, "--name", "bob", "--account", aor("bob"), "--registrar", srv, "--presence-server", srv,
		"--answer-delay", "1s", "--hangup-after", "1s")
	if _, err := bob.WaitEvent(func(ev Event) bool {
		return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
	}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !waitLog(bob, "publishing presence", 5*time.Second) {
		t.Fatal("bob never published")
	}
	sc := presenceScenario(t, "subscribe_plain.xml", map[string]string{"AFTER": watchLoop})
	msgs := filepath.Join(t.TempDir(), "messages.log")
	s := startSipp(t, sc, fmt.Sprintf("127.0.0.1:%d", port), "-m", "1", "-s", "bob", "-trace_msg", "-message_file", msgs)
	time.Sleep(500 * time.Millisecond) // the SUBSCRIBE and its first NOTIFY
	carol := startEndpoint(t, "--name", "carol", "--dial", aor("bob"), "--expect-calls", "1", "--exit-after", "8s")
	if code, err := s.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v\n%s", code, err, tailString(s.Output(), 6<<10))
	}
	if code, sum, err := carol.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("carol: exit %d %+v %v", code, sum, err)
	}
	b, err := os.ReadFile(msgs)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for i, body := range notifyBodies(string(b)) {
		st := between(body, "<state>", "</state>")
		t.Logf("NOTIFY %d: state %q", i, st)
		if st == "" {
			continue
		}
		if len(states) == 0 || states[len(states)-1] != st {
			states = append(states, st)
		}
		if st == "early" && (!strings.Contains(body, `direction="recipient"`) || !strings.Contains(body, "sip:carol@")) {
			t.Errorf("early NOTIFY: want direction recipient and carol as remote identity:\n%s", body)
		}
	}
	if got := strings.Join(states, ","); got != "early,confirmed,terminated" {
		t.Errorf("dialog states in order: %s, want early,confirmed,terminated", got)
	}
}

// TestControllerPublishesToKamailio (issue 15): a shared controller with
// presence_server PUBLISHes each user's state at kamailio; bob, registered
// there, watches alice through kamailio. alice's callback through her
// mobile shows at bob as on the phone (confirmed) on the mobile, then idle.
func TestControllerPublishesToKamailio(t *testing.T) {
	port, k := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	mobile := startEndpoint(t, "--name", "mobile", "--answer-delay", "300ms")
	conf := strings.Replace(adPresenceConf, `allow_sources = ["127.0.0.0/8"]`,
		fmt.Sprintf("allow_sources = [\"127.0.0.0/8\"]\npresence_server = %q\ndomain = \"127.0.0.1:%d\"", srv, port), 1)
	ctl := startController(t, strings.ReplaceAll(conf, "{{MOBILE}}", mobile.URI))
	alice := fmt.Sprintf("sip:alice@127.0.0.1:%d", port)
	bob := startEndpoint(t, "--name", "bob", "--account", fmt.Sprintf("sip:bob@127.0.0.1:%d", port), "--registrar", srv, "--watch", alice)
	waitPresence(t, bob, "bob's watch of alice active", alice, 10*time.Second, func(p presenceEvent) bool { return p.Watch.State == "active" })
	dest := startEndpoint(t, "--name", "+4930555")
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", dest.URI); err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	on := waitPresence(t, bob, "bob sees alice on the phone", alice, 2*time.Second, func(p presenceEvent) bool {
		return strings.Contains(dialogStates(p), "confirmed")
	})
	// The device travels as the local target's "device" parameter
	// (RFC 4235 §4.1.6.3), through kamailio's aggregation: "on mobile".
	if d := on.Watch.Info.Dialogs[0]; d.Device != "mobile" {
		t.Errorf("dialog %s: device %q, want mobile", d.ID, d.Device)
	}
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, bob, "bob sees alice idle again", alice, 2*time.Second, func(p presenceEvent) bool {
		s := dialogStates(p)
		return !strings.Contains(s, "confirmed") && !strings.Contains(s, "early") && !strings.Contains(s, "trying")
	})
	if !strings.Contains(k.Output(), "REQ PUBLISH "+alice) {
		t.Errorf("kamailio never got a PUBLISH for %s", alice)
	}
}

// TestKamailioPresenceDND (issue 15): bob PUBLISHes PIDF (Event:
// presence) beside his dialog-info to kamailio (presence_xml); alice
// watches him there. When bob sets DND, alice's watch shows it, through
// kamailio's presence NOTIFY of bob's closed/busy PIDF.
func TestKamailioPresenceDND(t *testing.T) {
	port, k := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	aor := func(u string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", u, port) }
	bob := startEndpoint(t, "--name", "bob", "--account", aor("bob"), "--registrar", srv, "--presence-server", srv)
	alice := startEndpoint(t, "--name", "alice", "--account", aor("alice"), "--registrar", srv, "--watch", aor("bob"))
	waitPresence(t, alice, "alice's watch of bob active", aor("bob"), 10*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active"
	})
	if !waitLog(bob, "publishing presence", 5*time.Second) {
		t.Fatal("bob never published")
	}
	time.Sleep(500 * time.Millisecond) // the presence subscription's first NOTIFY
	if err := bob.Send(map[string]any{"id": "dnd", "cmd": "set_policy", "args": map[string]any{"dnd": true}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitPresence(t, alice, "alice sees bob's DND through kamailio", aor("bob"), 2*time.Second, func(p presenceEvent) bool {
		return p.Watch.State == "active" && p.Watch.Info.DND
	})
	t.Logf("DND at alice %s after bob set it", time.Since(start).Round(time.Millisecond))
	out := k.Output()
	for _, want := range []string{"REQ PUBLISH " + aor("bob"), "REQ SUBSCRIBE " + aor("bob")} {
		if !strings.Contains(out, want) {
			t.Errorf("kamailio never logged %q", want)
		}
	}
	if strings.Contains(tail(bob.proc.outPath, 4<<20), "takes no PIDF") {
		t.Errorf("kamailio refused bob's PIDF")
	}
}

// TestNotifyThroughKamailio (issue 15): a watcher (sipp) SUBSCRIBEs to
// bob's dialog state at bob's phone through kamailio, which record-routes
// the SUBSCRIBE. bob's NOTIFY must come back through kamailio (RFC 6665
// §4.1.2.1): kamailio logs it and sipp sees kamailio's Via on it.
func TestNotifyThroughKamailio(t *testing.T) {
	port, k := startPresenceKamailio(t)
	bob := startEndpoint(t, "--name", "bob")
	sc := presenceScenario(t, "subscribe_proxied.xml", map[string]string{"KPORT": fmt.Sprint(port)})
	s := startSipp(t, sc, bob.Addr, "-m", "1", "-s", "bob", "-rsa", fmt.Sprintf("127.0.0.1:%d", port))
	if code, err := s.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v (no NOTIFY through kamailio)\n%s\n%s", code, err, tailString(s.Output(), 4<<10), tailString(k.Output(), 4<<10))
	}
	if !strings.Contains(k.Output(), "REQ NOTIFY sip:watcher@") {
		t.Errorf("kamailio never relayed bob's NOTIFY:\n%s", tailString(k.Output(), 4<<10))
	}
}
