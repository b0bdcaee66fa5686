package vocab

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaf keeps vocab a leaf: it links no SIP or media library and no other
// package of this module, so everything that only talks about calls can
// depend on it without pulling in sipgo and diago.
func TestLeaf(t *testing.T) {
	// .Standard, not a dot in the path: the standard library has
	// crypto/internal/entropy/v1.0.0 and vendor/golang.org/x/... too.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const self = "github.com/anyphone/anyphone/phone/vocab"
	for _, dep := range strings.Fields(string(out)) {
		if dep == self {
			continue
		}
		t.Errorf("vocab links %s: it may use the standard library only", dep)
	}
}
