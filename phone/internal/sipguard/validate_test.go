package sipguard

import (
	"bytes"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// req builds a raw request: start line, headers, optional body.
func rawReq(start string, hdrs []string, body string) string {
	return start + "\r\n" + strings.Join(hdrs, "\r\n") + "\r\nContent-Length: " +
		itoa(len(body)) + "\r\n\r\n" + body
}

func itoa(n int) string { return strconv.Itoa(n) }

var baseHdrs = []string{
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1",
	"From: <sip:a@127.0.0.1>;tag=1",
	"To: <sip:b@127.0.0.1>",
	"Call-ID: v1@test",
	"Max-Forwards: 70",
}

const sdpBody = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

func TestValidateRequest(t *testing.T) {
	with := func(extra ...string) []string { return append(append([]string(nil), baseHdrs...), extra...) }
	tests := []struct {
		name     string
		msg      string
		want     int // 0: valid
		wantHdr  string
		wantText string
	}{
		{"valid options", rawReq("OPTIONS sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 OPTIONS"), ""), 0, "", ""},
		{"valid invite", rawReq("INVITE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 INVITE", "Content-Type: application/sdp"), sdpBody), 0, "", ""},
		{"invite accept sdp among others", rawReq("INVITE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 INVITE", "Accept: text/plain, application/sdp;q=0.5"), ""), 0, "", ""},
		{"tel uri", rawReq("OPTIONS tel:+15551234 SIP/2.0", with("CSeq: 1 OPTIONS"), ""), 0, "", ""},
		{"missing call-id", rawReq("OPTIONS sip:b@127.0.0.1 SIP/2.0", []string{baseHdrs[0], baseHdrs[1], baseHdrs[2], "CSeq: 1 OPTIONS"}, ""), 400, "", "Call-ID"},
		{"two to", rawReq("OPTIONS sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 OPTIONS", "To: <sip:c@127.0.0.1>"), ""), 400, "", "To"},
		{"cseq mismatch", rawReq("OPTIONS sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 INVITE"), ""), 400, "", "CSeq"},
		{"version", rawReq("OPTIONS sip:b@127.0.0.1 SIP/3.0", with("CSeq: 1 OPTIONS"), ""), 505, "", ""},
		{"headers in request-uri", rawReq("INVITE sip:b@127.0.0.1?Route=%3Csip:x%3E SIP/2.0", with("CSeq: 1 INVITE"), ""), 400, "", "Request-URI"},
		{"register", rawReq("REGISTER sip:127.0.0.1 SIP/2.0", with("CSeq: 1 REGISTER"), ""), 405, "Allow", ""},
		{"unknown method", rawReq("FROBNICATE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 FROBNICATE"), ""), 501, "Allow", ""},
		{"unknown scheme", rawReq("OPTIONS foo:bar SIP/2.0", with("CSeq: 1 OPTIONS"), ""), 416, "", ""},
		{"require", rawReq("OPTIONS sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 OPTIONS", "Require: foo, bar"), ""), 420, "Unsupported", ""},
		{"require on ack ignored", rawReq("ACK sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 ACK", "Require: foo"), ""), 0, "", ""},
		{"non-sdp invite", rawReq("INVITE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 INVITE", "Content-Type: text/plain"), "hello"), 415, "Accept", ""},
		{"accept without sdp", rawReq("INVITE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 1 INVITE", "Accept: text/nobodyKnowsThis"), ""), 406, "Warning", ""},
		{"non-sdp body on bye is fine", rawReq("BYE sip:b@127.0.0.1 SIP/2.0", with("CSeq: 2 BYE", "Content-Type: text/plain"), "x"), 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := sip.ParseMessage([]byte(tc.msg))
			if err != nil {
				t.Fatalf("%s: parse: %v", tc.name, err)
			}
			rej := ValidateRequest(m.(*sip.Request))
			got := 0
			if rej != nil {
				got = rej.Code
			}
			if got != tc.want {
				t.Fatalf("%s: got %d (%+v), want %d", tc.name, got, rej, tc.want)
			}
			if tc.wantHdr != "" {
				found := false
				for _, h := range rej.Headers {
					found = found || h.Name() == tc.wantHdr
				}
				if !found {
					t.Errorf("%s: no %s header in %+v", tc.name, tc.wantHdr, rej)
				}
			}
			if tc.wantText != "" && !strings.Contains(rej.Reason, tc.wantText) {
				t.Errorf("%s: reason %q does not name %q", tc.name, rej.Reason, tc.wantText)
			}
		})
	}
}

func TestClassifyUnparsable(t *testing.T) {
	tests := []struct {
		name string
		line string
		want int // 0: dropped
	}{
		{"response", "SIP/2.0 200 OK", 0},
		{"garbage", "\x01\x02garbage", 0},
		{"ack", "ACK <sip:x> SIP/2.0", 0},
		{"bracketed uri", "INVITE <sip:user@example.com> SIP/2.0", 400},
		{"novel scheme", "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", 416},
		{"version", "OPTIONS sip:x SIP/7.0 ", 505},
		{"extra spaces", "INVITE  sip:user@example.com  SIP/2.0", 400},
		{"no version", "INVITE sip:alan@example.com", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rej := classifyUnparsable([]byte(tc.line + "\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n"))
			got := 0
			if rej != nil {
				got = rej.Code
			}
			if got != tc.want {
				t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
			}
		})
	}
}

func TestStatelessResponse(t *testing.T) {
	in := "INVITE <sip:x> SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKa\r\nv: SIP/2.0/UDP 127.0.0.2\r\n" +
		"f: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\ni: c1\r\nCSeq: 1 INVITE\r\nSubject: secret\r\nContent-Length: 0\r\n\r\n"
	out := string(statelessResponse([]byte(in), reject(400, "Bad Request", sip.NewHeader("Accept", "application/sdp"))))
	for _, want := range []string{"SIP/2.0 400 Bad Request\r\n", "Via: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKa\r\n",
		"v: SIP/2.0/UDP 127.0.0.2\r\n", "f: <sip:a@x>;tag=1\r\n", "i: c1\r\n", "CSeq: 1 INVITE\r\n", "Accept: application/sdp\r\n", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("response lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Subject") {
		t.Errorf("response copies other headers:\n%s", out)
	}
	if statelessResponse([]byte("INVITE <sip:x> SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"), reject(400, "Bad Request")) != nil {
		t.Error("a request without Via got an answer")
	}
}

func TestUnicastSource(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"127.0.0.1:5060", true},
		{"[::1]:5060", true},
		{"192.0.2.255:5060", true},
		{"255.255.255.255:5060", false},
		{"0.0.0.0:5060", false},
		{"224.0.0.1:5060", false},
		{"[ff02::1]:5060", false},
		{"[::ffff:255.255.255.255]:5060", false},
		{"nonsense", false},
	}
	for _, tc := range tests {
		if got := UnicastSource(tc.src); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.src, got, tc.want)
		}
	}
}

// TestGuardRFC2543 checks the rewrite that lets an RFC 2543 request reach
// diago: From gets a tag, an INVITE gets a Contact, LWS leaves From/To
// parameters; an RFC 3261 request is left byte for byte.
func TestGuardRFC2543(t *testing.T) {
	g := &Conn{log: slog.New(slog.DiscardHandler), parser: sip.NewParser()}
	tests := []struct {
		name     string
		msg      string
		same     bool
		wantFrom string
	}{
		{"rfc 3261 untouched", rawReq("INVITE sip:b@127.0.0.1 SIP/2.0", append([]string{"CSeq: 1 INVITE", "Contact: <sip:a@127.0.0.1>"}, baseHdrs...), ""), true, ""},
		{"no from tag", "INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:a@127.0.0.1>\r\nTo: sip:b@127.0.0.1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", false, "2543-"},
		{"lws around tag", "INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=old\r\nFrom: \"A B\" <sip:a@127.0.0.1>\r\n  ;\r\n  tag = 98\r\nTo: sip:b@127.0.0.1 ; tag = 7\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\n\r\n", false, "98"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 4096)
			n := copy(buf, tc.msg)
			got, ok := g.admit(buf, n, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5})
			if !ok {
				t.Fatalf("%s: dropped", tc.name)
			}
			if tc.same {
				if !bytes.Equal(buf[:got], []byte(tc.msg)) {
					t.Errorf("%s: rewritten:\n%s", tc.name, buf[:got])
				}
				return
			}
			m, err := sip.ParseMessage(buf[:got])
			if err != nil {
				t.Fatalf("%s: rewritten message does not parse: %v\n%s", tc.name, err, buf[:got])
			}
			r := m.(*sip.Request)
			if tag, _ := r.From().Params.Get("tag"); !strings.Contains(tag, tc.wantFrom) {
				t.Errorf("%s: From tag %q, want %q in it", tc.name, tag, tc.wantFrom)
			}
			if r.Contact() == nil {
				t.Errorf("%s: INVITE without Contact", tc.name)
			}
			if _, err := sip.ServerTxKeyMake(r); err != nil {
				t.Errorf("%s: sipgo still cannot key it: %v", tc.name, err)
			}
		})
	}
}

// TestHugeContentLength: a 200-byte datagram declaring a 4 GB body is
// answered 400 without allocating for the body (at most 64 KB in all for
// parsing and answering it).
func TestHugeContentLength(t *testing.T) {
	g := &Conn{log: slog.New(slog.DiscardHandler), parser: sip.NewParser()}
	for _, cl := range []string{"4294967295", "4000000000", "5000000000", "99999999999999999999"} {
		msg := "INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\n" +
			"To: <sip:b@h>\r\nCall-ID: big\r\nCSeq: 1 INVITE\r\nContent-Length: " + cl + "\r\n\r\nv=0\r\n"
		if len(msg) > 200 {
			t.Fatalf("datagram is %d bytes", len(msg))
		}
		buf := make([]byte, 65536)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g.PacketConn = pc
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n := copy(buf, msg)
		_, ok := g.admit(buf, n, pc.LocalAddr())
		runtime.ReadMemStats(&after)
		pc.Close()
		if ok {
			t.Errorf("Content-Length %s: passed on to sipgo", cl)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<10 {
			t.Errorf("Content-Length %s: %d bytes allocated, want <= 64 KB", cl, alloc)
		} else {
			t.Logf("Content-Length %s: %d bytes allocated", cl, alloc)
		}
	}
}
