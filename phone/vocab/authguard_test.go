package vocab

import (
	"testing"
	"time"
)

func TestAuthGuard(t *testing.T) {
	var g AuthGuard
	t0 := time.Unix(1000, 0)
	for i := range 10 {
		if !g.Allow("192.0.2.1", t0) {
			t.Fatalf("refused after %d failures", i)
		}
		g.Fail("192.0.2.1", t0)
	}
	if g.Allow("192.0.2.1", t0.Add(time.Second)) {
		t.Fatal("an eleventh try within the minute was allowed")
	}
	if !g.Allow("192.0.2.2", t0) {
		t.Fatal("another source is limited too")
	}
	if !g.Allow("192.0.2.1", t0.Add(61*time.Second)) {
		t.Fatal("still refused after the window")
	}
	g.Fail("192.0.2.3", t0)
	g.Succeed("192.0.2.3")
	if len(g.fails) != 0 { // .1's aged out at +61 s, .3 succeeded
		t.Errorf("sources kept: %v", g.fails)
	}
	if SourceOf("[::1]:5060") != "::1" || SourceOf("127.0.0.1:1") != "127.0.0.1" || SourceOf("x") != "x" {
		t.Error("SourceOf")
	}
}

func TestTokenMatches(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret", "s3creT", false},
		{"s3cret", "", false},
		{"", "", false},
		{"s3cret", "s3cret ", false},
	} {
		if TokenMatches(tc.want, tc.got) != tc.ok {
			t.Errorf("TokenMatches(%q, %q) = %v", tc.want, tc.got, !tc.ok)
		}
	}
}
