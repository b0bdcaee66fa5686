package phone

import (
	"strings"
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

// TestRedirectContactsOrder (RFC 3261 §8.1.3.4): the Contacts of a 3xx,
// in one header or several, are tried highest q first (no q is 1.0, equal
// q keep their order), skipping non-SIP schemes and targets called or
// pending already.
func TestRedirectContactsOrder(t *testing.T) {
	res := sip.NewResponse(302, "Moved Temporarily")
	res.AppendHeader(sip.NewHeader("Contact", `<sip:low@h>;q=0.1, "A, B" <sip:mid@h>;q=0.5, <sip:high@h>;q=0.9`))
	res.AppendHeader(sip.NewHeader("Contact", `<tel:+4930123>;q=1.0`))
	res.AppendHeader(sip.NewHeader("Contact", `<sip:noq@h>`))
	res.AppendHeader(sip.NewHeader("Contact", `<sip:called@h>;q=1`))
	res.AppendHeader(sip.NewHeader("Contact", `<sip:pending@h>;q=1`))
	res.AppendHeader(sip.NewHeader("Contact", `<sip:bad@h>;q=7`))
	var called, pend sip.Uri
	_ = sip.ParseUri("sip:called@h", &called)
	_ = sip.ParseUri("sip:pending@h", &pend)
	got := redirectContacts(res, []string{uriKey(called)}, []redirectTarget{{uri: pend}})
	var users []string
	for _, t := range got {
		users = append(users, t.uri.User)
	}
	want := "noq bad high mid low"
	if s := strings.Join(users, " "); s != want {
		t.Errorf("order %q, want %q", s, want)
	}
}
