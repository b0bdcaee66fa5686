package sdpfence

import (
	"strings"
	"testing"
)

func TestSDPKeepOrigin(t *testing.T) {
	var o Origin
	first := "v=0\r\no=- 4004281539 4004281539 IN IP4 127.0.0.1\r\ns=-\r\n"
	if got := string(o.Keep([]byte(first))); got != first {
		t.Fatalf("first SDP changed:\n%s", got)
	}
	// diago's hold offer after the peer's answer carries the peer's id.
	hold := "v=0\r\no=- 601127291 1252991708 IN IP4 127.0.0.1\r\ns=-\r\na=sendonly\r\n"
	got := string(o.Keep([]byte(hold)))
	if !strings.Contains(got, "o=- 4004281539 4004281540 IN IP4 127.0.0.1\r\n") || !strings.Contains(got, "a=sendonly") {
		t.Fatalf("hold offer not rewritten to our origin with version+1:\n%s", got)
	}
	got = string(o.Keep([]byte(hold)))
	if !strings.Contains(got, "o=- 4004281539 4004281541 ") {
		t.Fatalf("third SDP: version did not advance:\n%s", got)
	}
	if got := string(o.Keep([]byte("garbage"))); got != "garbage" {
		t.Fatalf("body without o= changed: %q", got)
	}
}
