package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/api"
)

func sipText(first, callID, cseq string) string {
	return first + "\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n" +
		"To: <sip:b@127.0.0.1:5080>\r\nCall-ID: " + callID + "\r\nCSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n"
}

// TestWritePcapTshark (issue 13): an exported ladder is a capture tshark
// reads, one SIP message per ladder message, in order, IPv4 and IPv6.
func TestWritePcapTshark(t *testing.T) {
	needTshark(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []api.SIPMessage{
		{Time: t0, Sent: true, Local: "127.0.0.1:5070", Remote: "127.0.0.1:5080", Summary: "INVITE", Raw: sipText("INVITE sip:b@127.0.0.1:5080 SIP/2.0", "x1", "1 INVITE")},
		{Time: t0.Add(time.Millisecond), Local: "127.0.0.1:5070", Remote: "127.0.0.1:5080", Summary: "100 Trying", Raw: sipText("SIP/2.0 100 Trying", "x1", "1 INVITE")},
		{Time: t0.Add(2 * time.Millisecond), Local: "127.0.0.1:5070", Remote: "127.0.0.1:5080", Summary: "486 Busy Here", Raw: sipText("SIP/2.0 486 Busy Here", "x1", "1 INVITE")},
		{Time: t0.Add(3 * time.Millisecond), Sent: true, Local: "127.0.0.1:5070", Remote: "127.0.0.1:5080", Summary: "ACK", Raw: sipText("ACK sip:b@127.0.0.1:5080 SIP/2.0", "x1", "1 ACK")},
		{Time: t0.Add(4 * time.Millisecond), Sent: true, Local: "[::1]:5070", Remote: "[::1]:5090", Summary: "OPTIONS", Raw: sipText("OPTIONS sip:b@[::1]:5090 SIP/2.0", "x2", "1 OPTIONS")},
	}
	path := filepath.Join(t.TempDir(), "ladder.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.WritePcap(f, msgs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", path, "-Y", "sip", "-T", "fields", "-e", "sip.Request-Line", "-e", "sip.Status-Line", "-e", "udp.srcport").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "SIP/2.0") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) != len(msgs) {
		t.Fatalf("tshark read %d SIP messages, want %d:\n%s", len(lines), len(msgs), out)
	}
	want := []string{"INVITE sip:b@127.0.0.1:5080 SIP/2.0\t\t5070", "SIP/2.0 100 Trying\t5080", "SIP/2.0 486 Busy Here\t5080", "ACK", "OPTIONS"}
	for i, w := range want {
		if !strings.HasPrefix(strings.TrimLeft(lines[i], "\t"), strings.TrimLeft(w, "\t")) {
			t.Errorf("message %d = %q, want %q", i, lines[i], w)
		}
	}
}

// needTshark skips without tshark, except under CI (make deps installs it).
func needTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not installed (make deps installs it)")
		}
		t.Skip("tshark not installed")
	}
}

// TestWritePcapTCP (issue 13): messages that went over TCP (or TLS) are
// written as segments of their connection, with a handshake and valid
// sequence and acknowledgement numbers, and tshark dissects SIP over TCP
// for each of them: two connections, one each way, and a UDP message.
func TestWritePcapTCP(t *testing.T) {
	needTshark(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	msgs := []api.SIPMessage{
		{Time: at(0), Sent: true, Protocol: "tcp", Local: "127.0.0.1:40001", Remote: "127.0.0.1:5080", Raw: sipText("INVITE sip:b@127.0.0.1:5080 SIP/2.0", "t1", "1 INVITE")},
		{Time: at(1), Protocol: "tcp", Local: "127.0.0.1:40001", Remote: "127.0.0.1:5080", Raw: sipText("SIP/2.0 100 Trying", "t1", "1 INVITE")},
		{Time: at(2), Protocol: "tcp", Local: "127.0.0.1:40001", Remote: "127.0.0.1:5080", Raw: sipText("SIP/2.0 180 Ringing", "t1", "1 INVITE")},
		{Time: at(3), Protocol: "tcp", Local: "127.0.0.1:40001", Remote: "127.0.0.1:5080", Raw: sipText("SIP/2.0 200 OK", "t1", "1 INVITE")},
		{Time: at(4), Sent: true, Protocol: "tcp", Local: "127.0.0.1:40001", Remote: "127.0.0.1:5080", Raw: sipText("ACK sip:b@127.0.0.1:5080 SIP/2.0", "t1", "1 ACK")},
		// the peer's BYE over its own connection to our listener
		{Time: at(5), Protocol: "tls", Local: "127.0.0.1:5070", Remote: "127.0.0.1:40002", Raw: sipText("BYE sip:a@127.0.0.1:5070 SIP/2.0", "t1", "2 BYE")},
		{Time: at(6), Sent: true, Protocol: "tls", Local: "127.0.0.1:5070", Remote: "127.0.0.1:40002", Raw: sipText("SIP/2.0 200 OK", "t1", "2 BYE")},
		{Time: at(7), Sent: true, Protocol: "udp", Local: "127.0.0.1:5070", Remote: "127.0.0.1:5090", Raw: sipText("OPTIONS sip:c@127.0.0.1:5090 SIP/2.0", "t2", "1 OPTIONS")},
	}
	path := filepath.Join(t.TempDir(), "tcp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.WritePcap(f, msgs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", path, "-Y", "sip", "-T", "fields", "-e", "frame.protocols", "-e", "sip.CSeq").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(msgs) {
		t.Fatalf("tshark read %d SIP messages, want %d:\n%s", len(lines), len(msgs), out)
	}
	for i, l := range lines {
		proto := "tcp"
		if msgs[i].Protocol == "udp" {
			proto = "udp"
		}
		if !strings.HasSuffix(l, ":"+proto+":sip\t"+msgCSeq(msgs[i].Raw)) {
			t.Errorf("message %d: tshark %q, want SIP over %s", i, l, proto)
		}
	}
	// No TCP problem (bad sequence numbers, lost segments, bad checksums).
	out, err = exec.Command("tshark", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "tcp.analysis.flags || tcp.checksum.status == 0 || ip.checksum.status == 0").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark flags TCP problems:\n%s", s)
	}
	t.Logf("tshark: %d SIP messages over TCP and UDP", len(lines))
}

// msgCSeq is the CSeq value of a raw message built by sipText.
func msgCSeq(raw string) string {
	_, rest, _ := strings.Cut(raw, "CSeq: ")
	v, _, _ := strings.Cut(rest, "\r\n")
	return v
}
