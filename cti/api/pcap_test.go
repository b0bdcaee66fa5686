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
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
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
