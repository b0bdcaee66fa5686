package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTUIMessageWaiting: sipp, standing in for a PBX, sends the TUI an
// unsolicited NOTIFY message-summary with Messages-Waiting: yes and
// Voice-Message: 2/8; the header shows ✉ 2/8, `ctl status` reports it,
// and v calls the voicemail (an endpoint that answers).
func TestTUIMessageWaiting(t *testing.T) {
	bin, tmux := need(t)
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not installed (make test installs sip-tester)")
	}
	vm := startEndpoint(t, bin, "--name", "voicemail")
	dir := t.TempDir()
	sipPort := freeUDPPort(t, 1)
	ctlAddr := freePort(t)
	conf := filepath.Join(dir, "anyphone.toml")
	text := fmt.Sprintf("[sip]\nlisten = \"127.0.0.1:%d\"\nvoicemail = %q\n[control]\nlisten = %q\n", sipPort, vm, ctlAddr)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf+" --no-builtins")
	tm.waitFor("the idle view", contains("no calls"))

	scenario, err := filepath.Abs("../interop/testdata/mwi/notify_uac.xml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sipp, "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t, 1)),
		"-s", "alice", "-m", "1", "-nostdin", "-timeout", "15s", "-timeout_error", fmt.Sprintf("127.0.0.1:%d", sipPort))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp NOTIFY to the TUI: %v\n%s", err, out)
	}
	tm.waitFor("✉ 2/8 in the header", func(s string) bool {
		first, _, _ := strings.Cut(s, "\n")
		return strings.Contains(first, "✉ 2/8")
	})
	out, err := exec.Command(bin, "ctl", "--config", conf, "status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "voicemail: 2 new, 8 old (1 urgent), waiting") {
		t.Errorf("ctl status: %v\n%s", err, out)
	}
	tm.keys(true, "v")
	tm.waitFor("the voicemail call", func(s string) bool { return strings.Contains(callRow(s), "active") })
	tm.keys(false, "e")
	tm.waitFor("the idle view after hang up", func(s string) bool { return callRow(s) == "" && strings.Contains(s, "no calls") })
	tm.quit()
}
