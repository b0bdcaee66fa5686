package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSilentPeer runs sipp with a chaos scenario of interop/testdata
// (uas_bye_silent.xml: answers, then ignores BYE) on a free port and
// returns its URI and a func that kills it (a vanished peer). Under CI a
// missing sipp fails the test.
func startSilentPeer(t *testing.T, calls int) (uri string, kill func()) {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") == "true" || !testing.Short() {
			t.Fatal("missing sipp")
		}
		t.Skip("missing sipp (-short)")
	}
	port := freeUDPPort(t, 1)
	scen, err := filepath.Abs(filepath.Join("..", "interop", "testdata", "chaos", "uas_bye_silent.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(sipp, "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t, 4)),
		"-m", strconv.Itoa(calls), "-nostdin", "-timeout", "120s")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // the waiter: ends when sipp exits
	kill = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	t.Cleanup(kill)
	time.Sleep(300 * time.Millisecond) // sipp binds its socket
	return fmt.Sprintf("sip:silent@127.0.0.1:%d", port), kill
}

// dialActive dials uri from the TUI and waits for the call to be active.
func dialActive(tm *term, uri string) {
	tm.t.Helper()
	tm.waitFor("the idle view", contains("no calls"))
	tm.keys(false, "d")
	tm.keys(true, uri)
	tm.keys(false, "Enter")
	tm.waitFor("active", rowHas("active"))
}

// TestTUIChaosPeers (issue 17): in the TUI, a peer that vanished mid-call
// (sipp killed) turns the hang-up's BYE into a status line "BYE: transport
// error ..." within about a second; with a peer that ignores BYE, the
// hang-up clears the call at once, the TUI keeps working (a new call to the
// same silent peer), and q exits within 2 s with that call up and its BYE
// unanswered.
func TestTUIChaosPeers(t *testing.T) {
	bin, tmux := need(t)
	vanished, kill := startSilentPeer(t, 1)
	silent, _ := startSilentPeer(t, 2)
	tm := startTUI(t, bin, tmux)

	dialActive(tm, vanished)
	kill()
	start := time.Now()
	tm.keys(false, "e")
	tm.waitFor("the BYE's outcome in the status line", contains("BYE: transport error"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the status line showed the BYE's transport error %s after the hang-up, want within ~1 s", d.Round(time.Millisecond))
	} else {
		t.Logf("the status line showed the BYE's transport error %s after the hang-up", d.Round(time.Millisecond))
	}

	dialActive(tm, silent)
	start = time.Now()
	tm.keys(false, "e")
	tm.waitFor("the idle view after the hang-up", func(s string) bool { return callRow(s) == "" && strings.Contains(s, "no calls") })
	if d := time.Since(start); d > time.Second {
		t.Errorf("the call cleared %s after the hang-up with a silent peer, want at once", d.Round(time.Millisecond))
	}
	dialActive(tm, silent) // the TUI keeps working while that BYE hangs

	tm.keys(false, "q")
	tm.waitFor("the quit confirmation", contains("press q again"))
	start = time.Now()
	tm.keys(false, "q")
	tm.waitFor("the TUI to exit", func(string) bool { _, err := tm.run("has-session", "-t", "ui"); return err != nil })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("q took %s with a silent peer, want within 2 s", d.Round(time.Millisecond))
	} else {
		t.Logf("q exited %s after the key with a call to a silent peer up", d.Round(time.Millisecond))
	}
}
