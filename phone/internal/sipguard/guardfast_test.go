package sipguard

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// sippInvite is what sipp's built-in UAC sends (make bench), with LF line ends.
const sippInvite = `INVITE sip:endpoint@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234-1-0
From: sipp <sip:sipp@127.0.0.1:5061>;tag=1234SIPpTag001
To: endpoint <sip:endpoint@127.0.0.1:5060>
Call-ID: 1-1234@127.0.0.1
CSeq: 1 INVITE
Contact: sip:sipp@127.0.0.1:5061
Max-Forwards: 70
Subject: Performance Test
Content-Type: application/sdp
Content-Length:   42

v=0
o=user1 53655765 2 IN IP4 127.0.0.1
`

// sipMsg turns LF line ends into CRLF.
func sipMsg(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestWellFormed(t *testing.T) {
	invite := string(sipMsg(sippInvite))
	swap := func(old, new string) []byte {
		if !strings.Contains(invite, old) {
			t.Fatalf("%q not in the INVITE", old)
		}
		return []byte(strings.Replace(invite, old, new, 1))
	}
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"sipp INVITE", []byte(invite), true},
		{"ACK", sipMsg("ACK sip:endpoint@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234-1-5\nFrom: sipp <sip:sipp@127.0.0.1:5061>;tag=1\nTo: <sip:endpoint@127.0.0.1:5060>;tag=abc\nCall-ID: 1-1234@127.0.0.1\nCSeq: 1 ACK\nContent-Length: 0\n\n"), true},
		{"200 OK", sipMsg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK.x;rport=5060;received=127.0.0.1\nFrom: <sip:a@h>;tag=1\nTo: \"Bob\" <sip:b@h>;tag=2\nCall-ID: x\nCSeq: 2 BYE\nRecord-Route: <sip:p.example.com;lr>\nContent-Length: 0\n\n"), true},
		{"compact forms", sipMsg("BYE sip:b@h SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:a@h>;tag=1\nt: sip:b@h;tag=2\ni: x\nCSeq: 2 BYE\nl: 0\n\n"), true},
		{"RFC 2543 branch", swap("branch=z9hG4bK-1234-1-0", "branch=1234"), false},
		{"no branch", swap(";branch=z9hG4bK-1234-1-0", ""), false},
		{"two branches", swap("branch=z9hG4bK-1234-1-0", "branch=z9hG4bK-1;branch=z9hG4bK-2"), false},
		{"Contact with URI headers", swap("Contact: sip:sipp@127.0.0.1:5061", "Contact: sip:sipp@127.0.0.1:5061?Subject=x"), false},
		{"folded header", swap("Subject: Performance Test", "Subject: Performance\n Test"), false},
		{"IPv6 Via", swap("127.0.0.1:5061;branch", "[::1]:5061;branch"), false},
		{"two Vias in one line", swap(";branch=z9hG4bK-1234-1-0", ";branch=z9hG4bK-1, SIP/2.0/UDP h;branch=z9hG4bK-2"), false},
		{"bad CSeq", swap("CSeq: 1 INVITE", "CSeq: x INVITE"), false},
		{"CSeq too large", swap("CSeq: 1 INVITE", "CSeq: 2147483648 INVITE"), false},
		{"tel Request-URI", swap("INVITE sip:endpoint@127.0.0.1:5060", "INVITE tel:+4930123"), false},
		{"other version", swap("SIP/2.0\r\nVia", "SIP/3.0\r\nVia"), false},
		{"Content-Length past the body", swap("Content-Length:   42", "Content-Length: 43"), false},
		{"two Content-Lengths", swap("Content-Length:   42", "Content-Length: 42\r\nl: 42"), false},
		{"UTF-8 display name", swap("From: sipp", "From: J\u00fcrgen"), false},
		{"no empty line", []byte(strings.TrimSuffix(invite, "\r\n\r\nv=0\r\no=user1 53655765 2 IN IP4 127.0.0.1\r\n")), false},
		{"response read as a request", sipMsg("SIP/2.0 200 SIPOK\nCall-ID: x\n\n"), false},
		{"wildcard Contact", swap("Contact: sip:sipp@127.0.0.1:5061", "Contact: *"), false},
		{"quoted display with backslash", swap("From: sipp <", `From: "a\"b" <`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wellFormed(tc.data); got != tc.want {
				t.Errorf("wellFormed = %v, want %v\n%q", got, tc.want, tc.data)
			}
			if tc.want {
				checkFastPath(t, tc.data)
			}
		})
	}
}

// checkFastPath fails unless data, which wellFormed accepted, is parsed by
// sipgo and needs nothing from the guard.
func checkFastPath(t *testing.T, data []byte) {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(data)
	if err != nil {
		t.Fatalf("wellFormed accepted what sipgo refuses: %v\n%q", err, data)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return
	}
	if contactNeedsBrackets(req) {
		t.Fatalf("wellFormed accepted a Contact with URI headers\n%q", data)
	}
	buf := make([]byte, len(data)+1024)
	n := copy(buf, data)
	g := &Conn{parser: sip.NewParser()}
	if got := g.rfc2543Compat(req, buf, n); got != n || !bytes.Equal(buf[:n], data) {
		t.Fatalf("wellFormed accepted what rfc2543Compat rewrites\n%q\n%q", data, buf[:got])
	}
}

// FuzzGuardFastPath checks that whatever wellFormed accepts, sipgo parses
// and the guard would have passed on unchanged. Seeds: the torture
// messages and the messages of TestWellFormed.
func FuzzGuardFastPath(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "torture", "*", "*.dat"))
	more, _ := filepath.Glob(filepath.Join("testdata", "torture", "*", "*", "*.dat"))
	for _, file := range append(files, more...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(sipMsg(sippInvite))
	f.Add(sipMsg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK.x;rport\nFrom: <sip:a@h>;tag=1\nTo: \"Bob\" <sip:b@h>;tag=2\nCall-ID: x\nCSeq: 2 BYE\nRecord-Route: <sip:p.example.com;lr>\nContent-Length: 0\n\n"))
	f.Add(sipMsg("BYE sip:b@h SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:a@h>;tag=1\nt: sip:b@h;tag=2\ni: x\nCSeq: 2 BYE\nl: 0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if wellFormed(data) {
			checkFastPath(t, data)
		}
	})
}

func TestWellFormedAllocatesNothing(t *testing.T) {
	data := sipMsg(sippInvite)
	if n := testing.AllocsPerRun(100, func() {
		if !wellFormed(data) {
			t.Fatal("sipp INVITE not well-formed")
		}
	}); n != 0 {
		t.Errorf("wellFormed allocates %v times per message, want 0", n)
	}
}
