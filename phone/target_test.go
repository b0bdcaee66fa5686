package phone

import (
	"strings"
	"testing"
)

// TestParseURI: what the user types is refused with a reason before any
// DNS lookup when it cannot be a SIP URI.
func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string // want: the URI's host; err: part of the error
	}{
		{in: "sip:alice@127.0.0.1:5060", want: "127.0.0.1"},
		{in: "alice@pbx.example.org", want: "pbx.example.org"},
		{in: "<sips:[::1]:5061>", want: "[::1]"},
		{in: "sip:pbx-1.example.org.;transport=tcp", want: "pbx-1.example.org."},
		{in: "127.0.0.1:5070", want: "127.0.0.1"},
		{in: "sip:@@bad", err: "not a host name"},
		{in: "sip:@pbx.example.org", err: "empty user"},
		{in: "sip:alice@exa mple.org", err: ""},
		{in: "sip:alice@-pbx.example.org", err: "not a host name"},
		{in: "sip:alice@pbx..example.org", err: "not a host name"},
		{in: "sip:alice@sip_proxy", want: "sip_proxy"},
		{in: "", err: "empty"},
	} {
		u, err := parseURI(tc.in)
		switch {
		case tc.want != "" && err != nil:
			t.Errorf("parseURI(%q): %v", tc.in, err)
		case tc.want != "" && u.Host != tc.want:
			t.Errorf("parseURI(%q) host %q, want %q", tc.in, u.Host, tc.want)
		case tc.want == "" && err == nil:
			t.Errorf("parseURI(%q) = %v, want an error", tc.in, u.String())
		case tc.want == "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("parseURI(%q): %v, want it to mention %q", tc.in, err, tc.err)
		}
	}
}
