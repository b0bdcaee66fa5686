package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestLadderOfEndedCallWritesPcap (issue 13): ":ladder ID" opens the kept
// ladder of a call no longer in the list, and w writes it as a pcap file.
func TestLadderOfEndedCallWritesPcap(t *testing.T) {
	f := newFake()
	f.ladder = ladderFixture()
	m := newTestModel(t, f, 100, 30)
	dir := t.TempDir()
	m.opts.ExportDir = dir
	press(m, ":")
	typeText(m, "ladder c9")
	press(m, "enter")
	if m.mode != modeLadder || m.ladder.id != "c9" {
		t.Fatalf("mode %v ladder %q, want the ladder of c9", m.mode, m.ladder.id)
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "SIP ladder: c9") || !strings.Contains(v, "INVITE") {
		t.Fatalf("ladder view:\n%s", v)
	}
	press(m, "w")
	files, _ := filepath.Glob(filepath.Join(dir, "anyphone-c9-*.pcap"))
	if len(files) != 1 {
		t.Fatalf("pcap files %v, want one", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || len(b) < 24+len(f.ladder)*16 {
		t.Fatalf("pcap %d bytes, %v", len(b), err)
	}
	if n := m.notice.last.Text; !strings.Contains(n, "wrote 8 SIP messages to "+files[0]) {
		t.Errorf("notice %q", n)
	}
}
