package codec_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps audio/codec below phone: no SIP or RTP library and
// none of the packages above it (cgo is allowed here, unlike in audio).
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/emiago/", "github.com/pion/", "github.com/gordonklaus/portaudio",
		"github.com/anyphone/anyphone/phone", "github.com/anyphone/anyphone/cti",
		"github.com/anyphone/anyphone/ui", "github.com/anyphone/anyphone/anydevice",
		"github.com/anyphone/anyphone/cmd",
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		path := strings.TrimSpace(line)
		n++
		for _, f := range forbidden {
			if strings.HasPrefix(path, f) {
				t.Errorf("audio/codec depends on %s", path)
			}
		}
	}
	if n < 5 {
		t.Fatalf("go list printed only %d packages:\n%s", n, out)
	}
}
