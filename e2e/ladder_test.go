package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// freePort is a loopback address no one listens on (for [control]).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestLadderOfFailedCall (issue 13): a call refused by the far end can
// still be inspected: its ladder opens with the INVITE, holds the 486 and
// the ACK, and exports as a pcap tshark reads message for message.
func TestLadderOfFailedCall(t *testing.T) { ladderOfFailedCall(t, "udp") }

// TestLadderOfFailedCallTCP (issue 13): the same over TCP; the pcap holds
// the messages as segments of their TCP connection, and tshark dissects
// each as SIP over TCP.
func TestLadderOfFailedCallTCP(t *testing.T) { ladderOfFailedCall(t, "tcp") }

func ladderOfFailedCall(t *testing.T, transport string) {
	bin, tmux := need(t)
	uri := startEndpoint(t, bin, "--answer", "reject", "--transport", transport)
	dir := t.TempDir()
	ctlAddr := freePort(t)
	conf := filepath.Join(dir, "anyphone.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[sip]\ntransport = %q\n[control]\nlisten = %q\n", transport, ctlAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf+" --no-builtins")
	tm.waitFor("the idle view", contains("no calls"))
	ctl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"ctl", "--config", conf}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("anyphone ctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	id := strings.TrimSpace(ctl("dial", uri))
	tm.waitFor("the refused call's notice", contains("486"))
	lines := strings.Split(strings.TrimSpace(ctl("ladder", id)), "\n")
	if len(lines) < 3 || !strings.HasSuffix(lines[0], " INVITE") || !strings.Contains(lines[0], " -> ") {
		t.Fatalf("ladder of %s does not open with the INVITE sent:\n%s", id, strings.Join(lines, "\n"))
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "<- ") || !strings.Contains(all, "486 Busy Here") || !strings.HasSuffix(lines[len(lines)-1], " ACK") {
		t.Errorf("ladder of %s: want the 486 received and the ACK last:\n%s", id, all)
	}

	pcap := filepath.Join(dir, "failed.pcap")
	ctl("ladder", id, "--pcap", pcap)
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not installed (make deps installs it)")
		}
		t.Skip("tshark not installed")
	}
	out, err := exec.Command("tshark", "-r", pcap, "-Y", "sip", "-T", "fields", "-e", "sip.CSeq.method", "-e", "sip.Status-Code", "-e", "frame.protocols").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", pcap, err, out)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(lines) {
		t.Errorf("tshark read %d SIP messages, the ladder has %d:\n%s\n%s", len(got), len(lines), out, all)
	}
	if len(got) > 0 && strings.Fields(got[0])[0] != "INVITE" {
		t.Errorf("tshark's first message = %q, want the INVITE", got[0])
	}
	for i, l := range got {
		if !strings.Contains(l, ":"+transport+":sip") {
			t.Errorf("tshark message %d = %q, want SIP over %s", i, l, transport)
		}
	}
	t.Logf("%s: the ladder has %d messages, tshark read %d SIP messages over %s", id, len(lines), len(got), transport)

	// The SIP dialog list (sngrep's call list) has the ended call; enter
	// opens its ladder with the INVITE first, esc comes back to the list.
	tm.keys(false, "L")
	tm.waitFor("the dialog list with the refused call", func(s string) bool {
		return strings.Contains(s, "SIP dialogs") && strings.Contains(s, string(id)+" ended 486 Busy Here")
	})
	tm.keys(false, "Enter")
	tm.waitFor("the refused call's ladder from the list", func(s string) bool {
		return strings.Contains(s, "SIP ladder") && strings.Contains(s, "── INVITE ─") && strings.Contains(s, "486 Busy Here")
	})
	tm.keys(false, "Escape")
	tm.waitFor("back in the list", contains("SIP dialogs"))
	tm.keys(false, "Escape")
	tm.waitFor("back in the calls", func(s string) bool { return !strings.Contains(s, "SIP dialogs") })
	tm.quit()
}
