package interop

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ctlAs runs `anyphone ctl ARGS` against a shared controller as user with
// token; it returns stdout and stderr together, and the error.
func ctlAs(t *testing.T, c *controllerProc, user, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(anyphoneBin(t), append([]string{"ctl"}, args...)...)
	cmd.Env = append(os.Environ(), "ANYPHONE_CTL_ADDR="+c.CtlURL, "ANYPHONE_CTL_USER="+user, "ANYPHONE_CTL_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	t.Logf("ctl --user %s %s:\n%s", user, strings.Join(args, " "), out)
	return string(out), err
}

// TestAnyDeviceCtlUser (issues 10, 11): the user drives a shared `anyphone
// controller` with `anyphone ctl --user alice`, the same commands as against
// a softphone: the callback through the mobile (an anyphone endpoint) to the
// destination (another) is a call on the mobile in `status`, it is held (the
// destination sees the re-INVITE) and resumed, and `hangup --all` ends it. A
// wrong token is refused; a premium destination is refused with its rule.
func TestAnyDeviceCtlUser(t *testing.T) {
	mobile := startEndpoint(t, "--name", "mobile", "--answer-delay", "500ms", "--audio", "tone:1000")
	ctl := startController(t, strings.ReplaceAll(adCallbackConf, "{{MOBILE}}", mobile.URI))
	dest := startEndpoint(t, "--name", "+4930555", "--audio", "echo")
	destURI := dest.URI
	if out, err := ctlAs(t, ctl, "alice", "wrong-token", "status"); err == nil || !strings.Contains(out, "unauthorized") {
		t.Fatalf("a wrong token: %v, want unauthorized", err)
	}
	if out, err := ctlAs(t, ctl, "alice", "alice-token", "device"); err != nil || strings.TrimSpace(out) != "mobile" {
		t.Fatalf("device: %q %v, want mobile", out, err)
	}
	if out, err := ctlAs(t, ctl, "alice", "alice-token", "dial", "+49900123456"); err == nil || !strings.Contains(out, "refused") || !strings.Contains(out, "premium") {
		t.Fatalf("a premium destination: %v, want refused by premium", err)
	}
	out, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	id := strings.TrimSpace(out)
	ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	waitFor(5*time.Second, func() bool {
		out, _ = ctlAs(t, ctl, "alice", "alice-token", "status")
		return strings.Contains(out, id) && strings.Contains(out, "active") && strings.Contains(out, "mobile")
	})
	if !strings.Contains(out, id+"   outgoing   active  mobile") {
		t.Errorf("status does not list %s active on the mobile:\n%s", id, out)
	}
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hold", id); err != nil {
		t.Fatal(err)
	}
	ctl.WaitSession(t, "held", 5*time.Second, func(s sessionEvent) bool { return s.Session.Held })
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "resume", id); err != nil {
		t.Fatal(err)
	}
	if _, err := ctlAs(t, ctl, "alice", "alice-token", "hangup", "--all"); err != nil {
		t.Fatal(err)
	}
	ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	// The destination saw the hold (a re-INVITE on its leg) and the end.
	if _, err := dest.WaitEvent(func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && strings.Contains(ev.Raw, `"remote_hold":true`)
	}, 5*time.Second); err != nil {
		t.Errorf("the destination never saw the hold: %v", err)
	}
	if _, err := dest.WaitEvent(isCall("ended"), 5*time.Second); err != nil {
		t.Errorf("the destination's call did not end: %v", err)
	}
	if out, _ := ctlAs(t, ctl, "alice", "alice-token", "status"); !strings.Contains(out, "no calls") {
		t.Errorf("after hangup --all:\n%s", out)
	}
}
