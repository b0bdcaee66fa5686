package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startPresenceKamailio runs interop/testdata/presence/kamailio.cfg
// (registrar, proxy, presence server with presence_dialoginfo on db_text)
// on a free UDP port until the test ends; it returns the port.
func startPresenceKamailio(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Fatal("kamailio: not installed (make test installs it)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"version", "presentity", "active_watchers", "watchers", "xcap", "pua"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/kamailio/dbtext/kamailio", table))
		if err != nil {
			t.Fatalf("kamailio db_text table %s: %v", table, err)
		}
		if err := os.WriteFile(filepath.Join(db, table), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	_ = pc.Close()
	b, err := os.ReadFile(filepath.Join("..", "interop", "testdata", "presence", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("SIP_PORT", strconv.Itoa(port), "CTL_SOCKET_PATH", filepath.Join(dir, "ctl.sock"), "DB_DIR", db).Replace(string(b))
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", path, "-DD", "-E", "-w", dir, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	cmd.Stderr = &logWriter{t: t, prefix: "kamailio: "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	time.Sleep(500 * time.Millisecond) // kamailio binds within a few ms; its children then start
	return port
}

// TestTUIMobileCallPublished (issue 15, with a presence server): the TUI
// registers alice at kamailio and PUBLISHes her state there; bob (an
// endpoint registered there too) watches alice through kamailio. alice
// makes the demo mobile her active device and calls echo: a callback
// through the embedded AnyDevice controller, carried by the mobile. bob
// sees alice on the phone (`anyphone ctl presence` at bob), then idle
// after she hangs up.
func TestTUIMobileCallPublished(t *testing.T) {
	bin, tmux := need(t)
	port := startPresenceKamailio(t)
	srv := fmt.Sprintf("sip:127.0.0.1:%d", port)
	bobCtl := freePort(t)
	startEndpoint(t, bin, "--name", "bob", "--account", fmt.Sprintf("sip:bob@127.0.0.1:%d", port), "--registrar", srv,
		"--watch", "alice", "--control", bobCtl)
	conf := filepath.Join(t.TempDir(), "alice.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[account]\naor = \"sip:alice@127.0.0.1:%d\"\nregistrar = %q\n\n[presence]\nserver = %q\n",
		port, srv, srv)), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf)
	tm.waitFor("registered", contains("(registered)"))
	bobSees := func(what, want string) {
		t.Helper()
		var out []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			out, _ = exec.Command(bin, "ctl", "--addr", bobCtl, "presence").CombinedOutput()
			for _, ln := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(ln, "sip:alice@") && strings.Contains(ln, want) {
					return
				}
			}
		}
		t.Fatalf("bob never saw alice %s (%q):\n%s", what, want, out)
	}
	bobSees("idle", "idle")
	tm.keys(false, "D")
	tm.waitFor("the devices pane", contains("mobile"))
	tm.keys(false, "Down")
	tm.keys(false, "Enter")
	tm.waitFor("mobile active", contains("on mobile"))
	tm.keys(false, "Escape")
	tm.waitFor("the call view", contains("no calls"))
	tm.keys(false, "d")
	tm.keys(true, "echo")
	tm.keys(false, "Enter")
	tm.waitFor("the callback through the mobile", func(s string) bool {
		return strings.Contains(row(s, 1), "active") && strings.Contains(row(s, 1), "@mobile")
	})
	bobSees("on the phone", "on the phone")
	tm.keys(false, "e")
	bobSees("idle again", "idle")
}
