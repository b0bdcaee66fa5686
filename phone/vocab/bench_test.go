package vocab

import "testing"

// BenchmarkClassifySecondary classifies a Lync team call from its headers.
func BenchmarkClassifySecondary(b *testing.B) {
	h := loadHeaderFixture(b, "lync_team_call.txt")
	b.ReportAllocs()
	for b.Loop() {
		_ = ClassifySecondary(h, "sip:bob@example.com")
	}
}

// BenchmarkParseReason parses a Q.850 Reason header value.
func BenchmarkParseReason(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReason(`Q.850;cause=17;text="User busy"`); err != nil {
			b.Fatal(err)
		}
	}
}
