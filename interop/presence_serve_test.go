package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// presenceScenario writes testdata/presence/name with the placeholders
// filled in to a temp file and returns its path.
func presenceScenario(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "presence", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
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

// waitLog waits for the endpoint's log to contain s.
func waitLog(ep *Endpoint, s string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool { return strings.Contains(tail(ep.proc.outPath, 4<<20), s) })
}

// TestSippSubscribesDialogAtPhone (issue 15): without a presence server
// the phone serves its own dialog state. sipp, a third-party desk phone,
// SUBSCRIBEs to "dialog" at bob's endpoint; alice then calls bob, who
// answers after a second, and hangs up a second later. sipp checks the
// NOTIFY bodies in order (no dialog; early, recipient, remote alice;
// confirmed; terminated), then refreshes (another NOTIFY) and
// unsubscribes (Expires: 0: Subscription-State terminated).
func TestSippSubscribesDialogAtPhone(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob", "--answer", "auto", "--answer-delay", "1s")
	sc := presenceScenario(t, "subscribe_dialog.xml", map[string]string{
		"USER": "bob", "CALLER": "alice", "AUTH": "", "CHALLENGE": "",
	})
	s := startSipp(t, sc, bob.Addr, "-m", "1", "-s", "bob")
	if !waitLog(bob, "dialog subscription", 10*time.Second) {
		t.Fatalf("bob never took the subscription\n%s", tailString(s.Output(), 4<<10))
	}
	alice := startEndpoint(t, "--name", "alice", "--dial", bob.URI, "--hangup-after", "1s", "--expect-calls", "1", "--exit-after", "10s")
	if code, sum, err := alice.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("alice: exit %d, summary %+v, %v", code, sum, err)
	}
	if code, err := s.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v\n%s", code, err, tailString(s.Output(), 6<<10))
	}
}

// adPresenceConf is adCallbackConf plus a colleague, bob, who watches
// alice.
const adPresenceConf = adCallbackConf + `
[[users]]
id = "bob"
token = "bob-token"
display = "Bob"
numbers = ["+4989200"]
`

// watchLoop is the AFTER block of subscribe_auth.xml for a granted
// subscription: answer NOTIFYs until one shows a terminated dialog, then
// unsubscribe and expect the final NOTIFY.
const watchLoop = `
  <label id="loop"/>
  <recv request="NOTIFY" crlf="true">
    <action>
      <ereg regexp="&lt;state&gt;terminated" search_in="body" check_it="false" assign_to="term"/>
    </action>
  </recv>
  <send next="done" test="term">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <nop next="loop"/>
  <label id="done"/>
  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:bob@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 SUBSCRIBE
      Contact: <sip:bob@[local_ip]:[local_port]>
      Event: dialog
      Expires: 0
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv request="NOTIFY" crlf="true">
    <action>
      <ereg regexp="terminated" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="fin"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <Reference variables="term,fin"/>
`

// notifyBodies returns the dialog-info bodies of the NOTIFYs in a sipp
// message log, in order.
func notifyBodies(log string) []string {
	var out []string
	for _, part := range strings.Split(log, "NOTIFY sip:")[1:] {
		i := strings.Index(part, "<?xml")
		if i < 0 {
			continue
		}
		body := part[i:]
		if j := strings.Index(body, "</dialog-info>"); j >= 0 {
			body = body[:j+len("</dialog-info>")]
		}
		out = append(out, body)
	}
	return out
}

// TestSippSubscribesDialogAtController (issue 15): the AnyDevice
// controller serves its users' dialog state without a presence server.
// A SUBSCRIBE without credentials gets a 401 challenge; a watcher who is
// no user of the controller gets 403, a wrong password 401 again, a user
// the controller does not serve 404. Bob (a user, with his token as the
// digest password) watches alice: her callback through her mobile shows
// as trying/early, then confirmed (initiator, remote the destination),
// then terminated; unsubscribing (Expires: 0) ends with
// Subscription-State: terminated.
func TestSippSubscribesDialogAtController(t *testing.T) {
	mobile := startEndpoint(t, "--name", "mobile", "--answer-delay", "500ms")
	ctl := startController(t, strings.ReplaceAll(adPresenceConf, "{{MOBILE}}", mobile.URI))
	refusals := []struct {
		name, service, user, pw, code string
	}{
		{"unknown watcher", "alice", "mallory", "x", "403"},
		{"wrong password", "alice", "bob", "not-bobs", "401"},
		{"unknown user", "nobody", "bob", "bob-token", "404"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			sc := presenceScenario(t, "subscribe_auth.xml", map[string]string{"USER": tc.user, "PW": tc.pw, "CODE": tc.code, "AFTER": ""})
			s := startSipp(t, sc, ctl.Addr, "-m", "1", "-s", tc.service)
			if code, err := s.Wait(20 * time.Second); err != nil || code != 0 {
				t.Fatalf("sipp: exit %d, %v (want %s)\n%s", code, err, tc.code, tailString(s.Output(), 4<<10))
			}
		})
	}

	dest := startEndpoint(t, "--name", "+4930555", "--answer-delay", "300ms")
	// Watched by id and by number: both get the NOTIFY of every change.
	seen := map[string]bool{} // sessions of the earlier runs
	for _, service := range []string{"alice", "+4989100"} {
		t.Run("watch "+service, func(t *testing.T) { sippWatchesControllerCall(t, ctl, dest, service, seen) })
	}
}

// sippWatchesControllerCall has sipp (as bob) watch service at the
// controller while alice calls dest, and checks the NOTIFY bodies.
func sippWatchesControllerCall(t *testing.T, ctl *controllerProc, dest *Endpoint, service string, done map[string]bool) {
	sc := presenceScenario(t, "subscribe_auth.xml", map[string]string{"USER": "bob", "PW": "bob-token", "CODE": "200", "AFTER": watchLoop})
	msgs := filepath.Join(t.TempDir(), "messages.log")
	before := strings.Count(tail(ctl.proc.outPath, 4<<20), "dialog subscription\"")
	s := startSipp(t, sc, ctl.Addr, "-m", "1", "-s", service, "-trace_msg", "-message_file", msgs)
	if !waitFor(10*time.Second, func() bool {
		return strings.Count(tail(ctl.proc.outPath, 4<<20), "dialog subscription\"") > before
	}) {
		t.Fatalf("the controller never took bob's subscription\n%s", tailString(s.Output(), 4<<10))
	}
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", dest.URI); err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" && !done[s.Session.ID] })
	time.Sleep(300 * time.Millisecond)
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatal(err)
	}
	ended := ctl.WaitSession(t, "ended", 15*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" && !done[s.Session.ID] })
	done[ended.Session.ID] = true
	if code, err := s.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v\n%s", code, err, tailString(s.Output(), 6<<10))
	}
	b, err := os.ReadFile(msgs)
	if err != nil {
		t.Fatal(err)
	}
	bodies := notifyBodies(string(b))
	for i, body := range bodies {
		t.Logf("NOTIFY %d: %s", i, between(body, "<dialog-info", "</dialog-info>"))
	}
	if len(bodies) < 4 {
		t.Fatalf("%d NOTIFY bodies, want the initial one, ringing, confirmed, terminated, final:\n%s", len(bodies), b)
	}
	if strings.Contains(bodies[0], "<dialog ") || !strings.Contains(bodies[0], `entity="sip:alice@`) {
		t.Errorf("first NOTIFY: want alice idle:\n%s", bodies[0])
	}
	// The states in order: ringing (trying or early) before confirmed
	// before terminated, each NOTIFY's version one more than the last.
	rank := map[string]int{"trying": 1, "early": 1, "confirmed": 2, "terminated": 3}
	last := 0
	for i, body := range bodies[1:] {
		if !strings.Contains(body, fmt.Sprintf(`version="%d"`, i+1)) {
			t.Errorf("NOTIFY %d: want version %d:\n%s", i+1, i+1, body)
		}
		st := between(body, "<state>", "</state>")
		if st == "" {
			continue // idle again: the final NOTIFY
		}
		if rank[st] < last {
			t.Errorf("NOTIFY %d: state %s after a later one", i+1, st)
		}
		last = rank[st]
		if !strings.Contains(body, `direction="initiator"`) || !strings.Contains(body, "+4930555@") {
			t.Errorf("NOTIFY %d: want direction initiator and the destination as remote identity:\n%s", i+1, body)
		}
	}
	if last != 3 {
		t.Errorf("the call never showed terminated:\n%s", strings.Join(bodies, "\n"))
	}
	seen := strings.Join(bodies, "\n")
	for _, st := range []string{"<state>confirmed</state>", "<state>terminated</state>"} {
		if !strings.Contains(seen, st) {
			t.Errorf("no NOTIFY with %s", st)
		}
	}
	if !strings.Contains(seen, "<state>trying</state>") && !strings.Contains(seen, "<state>early</state>") {
		t.Errorf("no NOTIFY with the call ringing (trying or early)")
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return ""
}

// TestControllerBusyOnBusy (issue 15): alice's policy says busy while she
// is on the phone (on_busy = "busy"). During her callback through her
// mobile, a call to her number gets 486 with Q.850 cause 17 from the
// controller and her mobile is not rung again; after the call, the same
// number rings her mobile.
func TestControllerBusyOnBusy(t *testing.T) {
	mobile := startEndpoint(t, "--name", "mobile", "--answer-delay", "300ms")
	conf := strings.Replace(adPresenceConf, `active = ["mobile"]`, "active = [\"mobile\"]\non_busy = \"busy\"", 1)
	ctl := startController(t, strings.ReplaceAll(conf, "{{MOBILE}}", mobile.URI))
	dest := startEndpoint(t, "--name", "+4930555")
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", dest.URI); err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	caller := startEndpoint(t, "--name", "dave", "--dial", "sip:+4989100@"+ctl.Addr, "--exit-after", "5s")
	end, err := caller.WaitEvent(isCall("ended"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if end.Call.End == nil || end.Call.End.Code != 486 || end.Call.End.Q850 != 17 {
		t.Errorf("the call to busy alice ended %+v, want 486 with Q.850 17", end.Call.End)
	}
	rang := map[string]bool{} // a call may report "incoming" more than once
	for _, ev := range mobile.Events() {
		if ev.Event == "call" && ev.Call != nil && ev.Call.State == "incoming" {
			rang[ev.Call.ID] = true
		}
	}
	if n := len(rang); n != 1 {
		t.Errorf("alice's mobile rang %d times, want once (the callback only)", n)
	}
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatal(err)
	}
	ctl.WaitSession(t, "ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	// Idle again: the number rings the mobile.
	startEndpoint(t, "--name", "erin", "--dial", "sip:+4989100@"+ctl.Addr, "--exit-after", "5s")
	if _, err := mobile.WaitEvent(func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && ev.Call.State == "incoming" && !rang[ev.Call.ID]
	}, 5*time.Second); err != nil {
		t.Errorf("after the call the number did not ring the mobile: %v", err)
	}
}

// TestNotifyFollowsRecordRoute (issue 15): a watcher behind a
// record-routing proxy. The SUBSCRIBE's Record-Route names sipp, its
// Contact a port where nothing listens; the phone's NOTIFY must go to the
// proxy (Route header, the Contact as Request-URI), not straight to the
// Contact (RFC 6665 §4.1.2.1, RFC 3261 §12.1.1).
func TestNotifyFollowsRecordRoute(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob")
	sc := presenceScenario(t, "subscribe_routed.xml", nil)
	s := startSipp(t, sc, bob.Addr, "-m", "1", "-s", "bob")
	if code, err := s.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v (no NOTIFY through the proxy)\n%s", code, err, tailString(s.Output(), 4<<10))
	}
}
