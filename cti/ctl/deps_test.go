package ctl

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps ctl a frontend of cti: it may use phone's data types
// (Secret) but never a SIP/RTP library, the UI or anydevice directly.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/emiago/",
		"github.com/pion/",
		"github.com/anyphone/anyphone/ui",
		"github.com/anyphone/anyphone/anydevice",
		"github.com/anyphone/anyphone/cmd",
	}
	var seen int
	for line := range strings.Lines(string(out)) {
		path := strings.TrimSpace(line)
		seen++
		for _, f := range forbidden {
			if strings.HasPrefix(path, f) {
				t.Errorf("ctl imports %s", path)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list printed only %d imports:\n%s", seen, out)
	}
}
