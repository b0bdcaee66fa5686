package phone

import (
	"strings"
	"testing"
)

func TestSDPKeepOrigin(t *testing.T) {
	var o sdpOrigin
	first := "v=0\r\no=- 4004281539 4004281539 IN IP4 127.0.0.1\r\ns=-\r\n"
	if got := string(sdpKeepOrigin([]byte(first), &o)); got != first {
		t.Fatalf("first SDP changed:\n%s", got)
	}
	// diago's hold offer after the peer's answer carries the peer's id.
	hold := "v=0\r\no=- 601127291 1252991708 IN IP4 127.0.0.1\r\ns=-\r\na=sendonly\r\n"
	got := string(sdpKeepOrigin([]byte(hold), &o))
	if !strings.Contains(got, "o=- 4004281539 4004281540 IN IP4 127.0.0.1\r\n") || !strings.Contains(got, "a=sendonly") {
		t.Fatalf("hold offer not rewritten to our origin with version+1:\n%s", got)
	}
	got = string(sdpKeepOrigin([]byte(hold), &o))
	if !strings.Contains(got, "o=- 4004281539 4004281541 ") {
		t.Fatalf("third SDP: version did not advance:\n%s", got)
	}
	if got := string(sdpKeepOrigin([]byte("garbage"), &o)); got != "garbage" {
		t.Fatalf("body without o= changed: %q", got)
	}
}
