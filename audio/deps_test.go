package audio

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps package audio a leaf: no SIP or RTP library, none of
// the packages above it, and no cgo (portaudio lives in audio/portaudio
// behind a build tag and registers itself).
func TestDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/emiago/sipgo",
		"github.com/emiago/diago",
		"github.com/pion/",
		"github.com/gordonklaus/portaudio",
		"github.com/anyphone/anyphone/phone",
		"github.com/anyphone/anyphone/cti",
		"github.com/anyphone/anyphone/ui",
		"github.com/anyphone/anyphone/anydevice",
		"github.com/anyphone/anyphone/cmd",
	}
	var seen int
	for line := range strings.Lines(string(out)) {
		path, cgoFiles, _ := strings.Cut(strings.TrimSpace(line), " ")
		seen++
		for _, f := range forbidden {
			if strings.HasPrefix(path, f) {
				t.Errorf("audio depends on %s", path)
			}
		}
		if strings.HasPrefix(path, "github.com/anyphone/anyphone/") && cgoFiles != "0" {
			t.Errorf("%s uses cgo without a build tag", path)
		}
	}
	if seen < 5 {
		t.Fatalf("go list printed only %d packages:\n%s", seen, out)
	}
}
