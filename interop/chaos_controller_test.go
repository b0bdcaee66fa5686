package interop

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// adTwoUsersConf is a controller with two users: alice, whose mobile is
// the chaos peer, and bob, whose mobile is well behaved.
const adTwoUsersConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
allow_sources = ["127.0.0.0/8"]

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "{{ALICE}}"
  [users.policy]
  uris = true

[[users]]
id = "bob"
token_env = "INTEROP_ALICE_TOKEN"
numbers = ["+4989200"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "{{BOB}}"
  [users.policy]
  uris = true
`

// TestChaosControllerLeg (issue 17, against the AnyDevice
// controller): alice's mobile (the device leg) or her destination (the
// remote leg) answers her callback and then ignores the controller's BYE
// (silent), or dies mid-call (vanished). Alice's hang-up
// returns at once, bob's callback through the same controller is bridged
// and ended as usual while alice's BYE hangs, and the controller stops
// within 2 s with the silent device still silent.
func TestChaosControllerLeg(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vanish bool
		remote bool // the chaos peer is alice's destination, not her mobile
	}{{"silent device", false, false}, {"vanished device", true, false}, {"silent remote", false, true}, {"vanished remote", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			chaos := startSipp(t, chaosFile("uas_bye_silent.xml"), "-m", "1")
			chaosURI := fmt.Sprintf("sip:+4930111@127.0.0.1:%d", chaos.Port)
			aliceMobileURI, aliceDestURI := chaosURI, ""
			var aliceOK *Endpoint // alice's well-behaved party
			if tc.remote {
				aliceOK = startEndpoint(t, "--name", "alicemobile")
				aliceMobileURI, aliceDestURI = aliceOK.URI, chaosURI
			} else {
				aliceOK = startEndpoint(t, "--name", "+4930111")
				aliceDestURI = aliceOK.URI
			}
			bobMobile := startEndpoint(t, "--name", "bobmobile")
			conf := strings.NewReplacer("{{ALICE}}", aliceMobileURI, "{{BOB}}", bobMobile.URI).Replace(adTwoUsersConf)
			ctl := startController(t, conf)
			bobDest := startEndpoint(t, "--name", "+4930222")

			if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", aliceDestURI); err != nil {
				t.Fatalf("alice's callback: %v", err)
			}
			ctl.WaitSession(t, "alice's session bridged", 10*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
			if tc.vanish {
				vanish(t, chaos.proc)
			}
			start := time.Now()
			if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
				t.Fatalf("alice's hangup: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("alice's hangup command took %s with a %s", d.Round(time.Millisecond), tc.name)
			}
			if _, err := aliceOK.WaitEvent(isCall("ended"), 2*time.Second); err != nil {
				t.Errorf("alice's well-behaved party was not hung up: %v", err)
			}

			// Bob's callback goes through while alice's BYE hangs.
			start = time.Now()
			if _, err := ctlAs(t, ctl, "bob", "alice-token", "dial", bobDest.URI); err != nil {
				t.Fatalf("bob's callback: %v", err)
			}
			up, err := bobDest.WaitEvent(isCall("active"), 10*time.Second)
			if err != nil {
				t.Fatalf("bob's callback never reached his destination: %v", err)
			}
			t.Logf("%s: bob's callback was bridged %s after his dial command", tc.name, eventTime(t, up).Sub(start).Round(time.Millisecond))
			if _, err := ctlAs(t, ctl, "bob", "alice-token", "hangup", "--all"); err != nil {
				t.Fatalf("bob's hangup: %v", err)
			}
			if _, err := bobDest.WaitEvent(isCall("ended"), 2*time.Second); err != nil {
				t.Errorf("bob's destination was not hung up: %v", err)
			}
			if !tc.vanish && chaos.Exited() {
				t.Fatalf("alice's silent peer exited early:\n%s", tailString(chaos.Output(), 4<<10))
			}

			// Shutdown with the silent device still silent.
			start = time.Now()
			_ = syscall.Kill(-ctl.proc.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-ctl.proc.done:
				t.Logf("%s: the controller stopped %s after SIGTERM", tc.name, time.Since(start).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				t.Fatalf("the controller did not stop within 5 s of SIGTERM")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the controller stopped %s after SIGTERM, want within 2 s", d.Round(time.Millisecond))
			}
		})
	}
}

// TestChaosControllerDeviceIgnoresCancel: alice's mobile rings and then
// ignores the controller's CANCEL (no 200, no 487). Alice's hang-up ends
// her callback session within a second, not after Timer F and the 64*T1
// wait for a 487; bob's callback goes through meanwhile, and the
// controller stops within 2 s with the CANCEL still unanswered.
func TestChaosControllerDeviceIgnoresCancel(t *testing.T) {
	t.Parallel()
	aliceMobile := startSipp(t, chaosFile("uas_cancel_silent.xml"), "-m", "1")
	bobMobile := startEndpoint(t, "--name", "bobmobile")
	conf := strings.NewReplacer("{{ALICE}}", fmt.Sprintf("sip:alice@127.0.0.1:%d", aliceMobile.Port), "{{BOB}}", bobMobile.URI).Replace(adTwoUsersConf)
	ctl := startController(t, conf)
	aliceDest := startEndpoint(t, "--name", "+4930111")
	bobDest := startEndpoint(t, "--name", "+4930222")

	if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", aliceDest.URI); err != nil {
		t.Fatalf("alice's callback: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // her mobile rings (180)
	start := time.Now()
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatalf("alice's hangup: %v", err)
	}
	ctl.WaitSession(t, "alice's session ended", 3*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	took := time.Since(start)
	t.Logf("alice's ringing session ended %s after her hangup", took.Round(time.Millisecond))
	if took > 1500*time.Millisecond {
		t.Errorf("alice's session ended %s after her hangup, want within ~1 s", took.Round(time.Millisecond))
	}
	start = time.Now()
	if _, err := ctlAs(t, ctl, "bob", "alice-token", "dial", bobDest.URI); err != nil {
		t.Fatalf("bob's callback: %v", err)
	}
	up, err := bobDest.WaitEvent(isCall("active"), 10*time.Second)
	if err != nil {
		t.Fatalf("bob's callback never reached his destination: %v", err)
	}
	t.Logf("bob's callback was bridged %s after his dial command", eventTime(t, up).Sub(start).Round(time.Millisecond))
	if aliceMobile.Exited() {
		t.Fatalf("alice's silent mobile exited early:\n%s", tailString(aliceMobile.Output(), 4<<10))
	}
	start = time.Now()
	_ = syscall.Kill(-ctl.proc.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-ctl.proc.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the controller did not stop within 5 s of SIGTERM")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the controller stopped %s after SIGTERM, want within 2 s", d.Round(time.Millisecond))
	} else {
		t.Logf("the controller stopped %s after SIGTERM", d.Round(time.Millisecond))
	}
}
