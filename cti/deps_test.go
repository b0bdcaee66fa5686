package cti

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the layering of ARCHITECTURE.md: cti may use
// phone and anydevice; it never imports ui, and only phone talks to sipgo,
// diago or pion directly.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/anyphone/anyphone/ui", "github.com/emiago/", "github.com/pion/", "charm.land/"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
