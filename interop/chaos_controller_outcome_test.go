package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ctlEventsAs follows `anyphone ctl events --snapshot` of user at a shared
// controller in the background; the buffer collects its JSON lines. It
// returns once the subscription is up (the snapshot line is out).
func ctlEventsAs(t *testing.T, c *controllerProc, user, token string) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(anyphoneBin(t), "ctl", "events", "--snapshot")
	cmd.Env = append(os.Environ(), "ANYPHONE_CTL_ADDR="+c.CtlURL, "ANYPHONE_CTL_USER="+user, "ANYPHONE_CTL_TOKEN="+token)
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !waitFor(5*time.Second, func() bool { return out.String() != "" }) {
		t.Fatalf("ctl events of %s printed nothing", user)
	}
	return out
}

// outcomesIn lists the request_outcome lines of a ctl events stream.
func outcomesIn(t *testing.T, stream string) []outcomeEvent {
	t.Helper()
	var out []outcomeEvent
	for line := range strings.SplitSeq(stream, "\n") {
		if !strings.Contains(line, `"request_outcome"`) {
			continue
		}
		var o outcomeEvent
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("request_outcome line: %s: %v", line, err)
		}
		out = append(out, o)
	}
	return out
}

// TestChaosControllerOutcomeToUser (issue 17): the outcome of a request
// the controller sends on a user's leg reaches that user through the
// control protocol, as a desk phone's does. Alice's mobile (sipp) dies
// mid-call (vanished) or ignores the BYE (silent); her hang-up's BYE to it
// fails as a transport error within about a second, or times out after
// Timer F (32 s, after the session ended), and `anyphone ctl events` of
// alice shows it as a request_outcome for her call, the text naming the
// mobile; bob's stream on the same controller shows only his own.
func TestChaosControllerOutcomeToUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		vanish  bool
		outcome string
		within  time.Duration
	}{{"vanished mobile", true, "transport_error", 2 * time.Second}, {"silent mobile", false, "timed_out", 40 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			chaosOutcomeToUser(t, tc.vanish, tc.outcome, tc.within)
		})
	}
}

func chaosOutcomeToUser(t *testing.T, vanished bool, want string, within time.Duration) {
	chaos := startSipp(t, chaosFile("uas_bye_silent.xml"), "-m", "1")
	aliceDest := startEndpoint(t, "--name", "+4930111")
	bobMobile := startEndpoint(t, "--name", "bobmobile")
	conf := strings.NewReplacer("{{ALICE}}", fmt.Sprintf("sip:alice@127.0.0.1:%d", chaos.Port), "{{BOB}}", bobMobile.URI).Replace(adTwoUsersConf)
	ctl := startController(t, conf)
	aliceEvents := ctlEventsAs(t, ctl, "alice", "alice-token")
	bobEvents := ctlEventsAs(t, ctl, "bob", "alice-token")

	out, err := ctlAs(t, ctl, "alice", "alice-token", "dial", aliceDest.URI)
	if err != nil {
		t.Fatalf("alice's callback: %v", err)
	}
	id := strings.TrimSpace(out)
	ctl.WaitSession(t, "alice's session bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	if vanished {
		vanish(t, chaos.proc)
	}
	start := time.Now()
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatalf("alice's hangup: %v", err)
	}
	// Bob's callback ends as usual meanwhile.
	bobDest := startEndpoint(t, "--name", "+4930222")
	if _, err := ctlAs(t, ctl, "bob", "alice-token", "dial", bobDest.URI); err != nil {
		t.Fatalf("bob's callback: %v", err)
	}
	if _, err := bobDest.WaitEvent(isCall("active"), 10*time.Second); err != nil {
		t.Fatalf("bob's callback never reached his destination: %v", err)
	}
	if _, err := ctlAs(t, ctl, "bob", "alice-token", "hangup", "--all"); err != nil {
		t.Fatalf("bob's hangup: %v", err)
	}
	if _, err := bobDest.WaitEvent(isCall("ended"), 2*time.Second); err != nil {
		t.Errorf("bob's destination was not hung up: %v", err)
	}

	var bye *outcomeEvent
	waitFor(within, func() bool {
		for _, o := range outcomesIn(t, aliceEvents.String()) {
			if o.Method == "BYE" && o.Outcome != "answered" {
				bye = &o
				return true
			}
		}
		return false
	})
	if bye == nil {
		t.Fatalf("alice's ctl events never showed the BYE to her mobile:\n%s", aliceEvents.String())
	}
	t.Logf("alice saw %q %s after her hangup", bye.Text, time.Since(start).Round(time.Millisecond))
	if bye.CallID != id {
		t.Errorf("the BYE's outcome names call %q, want alice's call %q", bye.CallID, id)
	}
	if vanished && bye.Seconds > 1.5 {
		t.Errorf("the BYE to the vanished mobile failed after %.1f s, want about 0.5 s", bye.Seconds)
	}
	if bye.Outcome != want {
		t.Errorf("BYE outcome %s, want %s", bye.Text, want)
	}
	if !strings.HasPrefix(bye.Text, "mobile: BYE:") {
		t.Errorf("the outcome's text %q does not name the leg (mobile)", bye.Text)
	}
	bobs := outcomesIn(t, bobEvents.String())
	for _, o := range bobs {
		if o.CallID == id || o.Outcome != "answered" {
			t.Errorf("bob's stream shows %+v, not his", o)
		}
	}
	if len(bobs) == 0 {
		t.Errorf("bob's stream shows no outcome of his own BYEs:\n%s", bobEvents.String())
	}
}
