package anydevice

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the direction ui -> cti -> anydevice -> phone:
// anydevice imports no SIP, SDP or RTP library itself (only phone does)
// and nothing above it.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/emiago/", "github.com/pion/",
		"github.com/anyphone/anyphone/cti", "github.com/anyphone/anyphone/ui", "github.com/anyphone/anyphone/cmd",
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		path := strings.TrimSpace(line)
		seen++
		for _, f := range forbidden {
			if strings.HasPrefix(path, f) {
				t.Errorf("anydevice imports %s", path)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("go list printed only %d imports:\n%s", seen, out)
	}
}
