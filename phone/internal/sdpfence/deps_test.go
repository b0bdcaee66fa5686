package sdpfence

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure keeps the fences pure: sdpfence links the standard library and
// phone/vocab only, no SIP stack (its tests may compare with diago's and
// pion's parsers).
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/anyphone/anyphone/phone/internal/sdpfence", "github.com/anyphone/anyphone/phone/vocab":
			continue
		}
		t.Errorf("sdpfence links %s", dep)
	}
}
