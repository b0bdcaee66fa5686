package phone_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyPhoneImportsSIPLibraries enforces ARCHITECTURE.md: sipgo, diago
// and pion/sdp are imported by phone alone (so a change in diago's API
// touches one package), and phone depends on nothing above it.
func TestOnlyPhoneImportsSIPLibraries(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "github.com/anyphone/anyphone/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/anyphone/anyphone"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		inPhone := pkg == mod+"/phone" || strings.HasPrefix(pkg, mod+"/phone/")
		for _, imp := range strings.Fields(imports) {
			sipLib := strings.HasPrefix(imp, "github.com/emiago/") || strings.HasPrefix(imp, "github.com/pion/")
			if sipLib && !inPhone {
				t.Errorf("%s imports %s: only phone may", pkg, imp)
			}
			if inPhone {
				for _, up := range []string{"/cti", "/ui", "/anydevice", "/cmd"} {
					if imp == mod+up || strings.HasPrefix(imp, mod+up+"/") {
						t.Errorf("%s imports %s: phone must not depend on what is built on it", pkg, imp)
					}
				}
			}
		}
	}
}
