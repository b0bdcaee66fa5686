package phone

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestHistEntryString(t *testing.T) {
	var a, b sip.Uri
	if err := sip.ParseUri("sip:bob@127.0.0.1:5070", &a); err != nil {
		t.Fatal(err)
	}
	if err := sip.ParseUri("sip:vm@127.0.0.1:5080", &b); err != nil {
		t.Fatal(err)
	}
	got := histEntry{uri: a, index: "1", code: 302, reason: "Moved Temporarily"}.String() + ", " + histEntry{uri: b, index: "1.1"}.String()
	want := `<sip:bob@127.0.0.1:5070?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1, <sip:vm@127.0.0.1:5080>;index=1.1;mp=1`
	if got != want {
		t.Errorf("History-Info\n got %s\nwant %s", got, want)
	}
}
