//go:build linux

package bench

import (
	"strings"
	"testing"
)

func TestTableWrite(t *testing.T) {
	tb := NewTable()
	tb.Set("rate (calls/s)", "a", 3000)
	tb.Set("rate (calls/s)", "b", 12000)
	tb.Set("rate (calls/s)", "c", 150)
	tb.Set("µs per call", "a", 291.4)
	tb.Set("µs per call", "c", 2.5)
	tb.Note("a note")
	var sb strings.Builder
	if err := tb.Write(&sb, []string{"a", "b", "c"}, [][2]string{{"a", "b"}, {"a", "c"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(sb.String(), "\n"), "\n")
	tests := []struct {
		name   string
		line   int
		fields []string
	}{
		{"header", 0, []string{"measure", "a", "b", "c", "a/b", "a/c"}},
		{"rates and ratios", 1, []string{"rate", "(calls/s)", "3000", "12000", "150", "0.25", "20.00"}},
		{"missing value and ratio", 2, []string{"µs", "per", "call", "291", "-", "2.50", "-", "116.56"}},
		{"note", 3, []string{"a", "note"}},
	}
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tests), sb.String())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Fields(lines[tt.line]); strings.Join(got, "|") != strings.Join(tt.fields, "|") {
				t.Errorf("%s: line %d = %q, want fields %q", tt.name, tt.line, lines[tt.line], tt.fields)
			}
		})
	}
}
