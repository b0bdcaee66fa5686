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

// TestWordsLinkNoSIP checks transitively (go list -deps, not only direct
// imports) that the packages which only talk about calls link no SIP or
// media library and none of the packages that do (phone, anydevice, the
// Service): they use the words of phone/vocab and cti/api.
func TestWordsLinkNoSIP(t *testing.T) {
	pkgs := []string{"./busy", "./journal", "./ctl", "../ui"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const mod = "github.com/anyphone/anyphone"
	for _, dep := range strings.Fields(string(out)) {
		bad := strings.HasPrefix(dep, "github.com/emiago/") || strings.HasPrefix(dep, "github.com/pion/") ||
			dep == mod+"/cti" || dep == mod+"/anydevice" ||
			strings.HasPrefix(dep, mod+"/phone") && dep != mod+"/phone/vocab"
		if bad {
			t.Errorf("%v link %s", pkgs, dep)
		}
	}
}
