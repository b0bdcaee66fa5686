package phone

import (
	"strconv"
	"strings"
	"testing"
)

// TestStreamMessages: what sipgo traces per TCP Read (LIBRARIES §3 #24) is
// framed into whole messages: several in one Read, one split over Reads
// (the body too), CRLF keep-alives between them.
func TestStreamMessages(t *testing.T) {
	msg := func(first, body string) string {
		return first + "\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	trying, ringing := msg("SIP/2.0 100 Trying", ""), msg("SIP/2.0 180 Ringing", "")
	busy := msg("SIP/2.0 486 Busy Here", "")
	withBody := msg("SIP/2.0 200 OK", "v=0\r\n\r\no=- 1 1 IN IP4 127.0.0.1\r\n")
	for _, tc := range []struct {
		name  string
		reads []string
		want  []string // first lines, per read
	}{
		{"coalesced", []string{trying + ringing + busy}, []string{"SIP/2.0 100 Trying|SIP/2.0 180 Ringing|SIP/2.0 486 Busy Here"}},
		{"split headers", []string{trying[:10], trying[10:] + ringing[:5], ringing[5:]}, []string{"", "SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"}},
		{"split body", []string{withBody[:len(withBody)-8], withBody[len(withBody)-8:]}, []string{"", "SIP/2.0 200 OK"}},
		{"keepalive", []string{"\r\n\r\n", trying + "\r\n\r\n" + busy}, []string{"", "SIP/2.0 100 Trying|SIP/2.0 486 Busy Here"}},
		{"garbage length", []string{"SIP/2.0 200 OK\r\nContent-Length: lots\r\n\r\n", busy}, []string{"", "SIP/2.0 486 Busy Here"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "test " + tc.name
			for i, r := range tc.reads {
				var firsts []string
				var whole string
				for _, m := range streamMessages(key, []byte(r)) {
					first, _, _ := strings.Cut(string(m), "\r\n")
					firsts = append(firsts, first)
					whole += string(m)
				}
				if got := strings.Join(firsts, "|"); got != tc.want[i] {
					t.Errorf("%s read %d: messages %q, want %q", tc.name, i, got, tc.want[i])
				}
				if strings.Contains(tc.want[i], "200 OK") && !strings.HasSuffix(whole, "127.0.0.1\r\n") {
					t.Errorf("%s read %d: body cut: %q", tc.name, i, whole)
				}
			}
		})
	}
}
