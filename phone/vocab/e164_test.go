package vocab

import "testing"

func TestIsE164(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"+4930123456", true},
		{"+1234", true},
		{"+123", false},
		{"+123456789012345", true},
		{"+1234567890123456", false},
		{"4930123456", false},
		{"+49 30 123456", false},
		{"+49-30", false},
		{"", false},
		{"+", false},
	} {
		if got := IsE164(tc.in); got != tc.want {
			t.Errorf("IsE164(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
