package vocab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSecondaryHeaders feeds arbitrary header values to the History-Info,
// Diversion, name-addr and Reason parsers and to ClassifySecondary: they must
// never panic and must return a known kind.
func FuzzSecondaryHeaders(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "secondary", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		h := loadHeaderFixture(f, filepath.Base(file))
		for _, name := range []string{"history-info", "History-Info", "Diversion", "Referred-By"} {
			for _, v := range h[name] {
				f.Add(v, "sip:frank.carius@netatwork.de")
			}
		}
	}
	f.Add(`<sip:a@x?Reason=SIP&cause=302&text=Accepted>;index=1;ms-retarget-reason=acd,<sip:me@x>;index=1.1`, "sip:me@x")
	f.Add(`"unterminated <sip:a@x>;index="1`, "")
	f.Add(`<sip:a@x?%zz=%>;index=1;mp=;rc`, "tel:+1")
	f.Add(`<tel:+;;;>;counter=-1;reason=`, "<sip:")
	if _, err := os.Stat(filepath.Join("testdata", "secondary")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value, called string) {
		_, _ = ParseHistoryInfo([]string{value})
		_, _ = ParseDiversion([]string{value})
		_, _, _ = ParseNameAddr(value)
		_, _ = ParseReasons(value)
		_ = CancelEndCause([]string{value})
		_ = SameAOR(value, called)
		parts := strings.SplitN(value, "\n", 3)
		h := map[string][]string{"History-Info": {parts[0]}, "Diversion": {value}, "Referred-By": {value}}
		if len(parts) > 1 {
			h["Diversion"] = []string{parts[1]}
		}
		s := ClassifySecondary(h, called)
		if s.Kind < SecondaryNone || s.Kind > SecondaryOther {
			t.Fatalf("kind %d out of range", s.Kind)
		}
		_ = s.Describe()
		for _, k := range []string{"history-info", "diversion", "b"} {
			s := ClassifySecondary(map[string][]string{k: {value}}, called)
			if s.Kind < SecondaryNone || s.Kind > SecondaryOther {
				t.Fatalf("kind %d out of range", s.Kind)
			}
		}
	})
}
