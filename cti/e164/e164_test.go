package e164

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, region, want string
		ok               bool
	}{
		{"+49 (30) 1234-567", "", "+49301234567", true},
		{"030 1234567", "DE", "+49301234567", true},
		{"030 1234567", "de", "+49301234567", true},
		{" +1 212 555 0100 ", "DE", "+12125550100", true},
		{"030 1234567", "", "", false},
		{"alice", "DE", "", false},
		{"1", "DE", "", false},
		{"+49+30", "", "", false},
	}
	for i, tc := range tests {
		got, ok := Normalize(tc.in, tc.region)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%d: Normalize(%q, %q) = %q, %v; want %q, %v", i, tc.in, tc.region, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLooksLikeNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"+49 (30) 1234-567", true},
		{"12", true},
		{"1", false},
		{"1+2", false},
		{"sip:12@host", false},
	} {
		if got := LooksLikeNumber(tc.in); got != tc.want {
			t.Errorf("LooksLikeNumber(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
