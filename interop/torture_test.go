package interop

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// topVia matches the first Via header's protocol and sent-by, across line
// folding (wsinv.dat folds its Via over three lines).
var topVia = regexp.MustCompile(`(?i)(\n(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/[ \t\r\n]*)(UDP|TCP|TLS|SCTP)([ \t\r\n]+)([^;,\s]+)`)

// receivedParam matches Via received= parameters.
var receivedParam = regexp.MustCompile(`(?i)received=[0-9a-f.:]+`)

// aimAtLoopback rewrites a torture message so that every response goes back
// to us on 127.0.0.1: the top Via becomes UDP with our sent-by and received=
// parameters name 127.0.0.1. Everything else (Request-URI included) stays
// as RFC 4475 wrote it; the datagram itself is only ever sent to the endpoint.
func aimAtLoopback(msg []byte, port int) []byte {
	sentBy := fmt.Sprintf("127.0.0.1:%d", port)
	done := false
	out := topVia.ReplaceAllStringFunc(string(msg), func(m string) string {
		if done {
			return m
		}
		done = true
		sub := topVia.FindStringSubmatch(m)
		return sub[1] + "UDP" + sub[3] + sentBy
	})
	return []byte(receivedParam.ReplaceAllString(out, "received=127.0.0.1"))
}

// callIDOf returns the first Call-ID of a raw message ("" when none).
func callIDOf(msg []byte) string {
	for _, line := range strings.Split(string(msg), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// TestTortureMessages sends every RFC 4475 torture message to a running
// endpoint; after each one the endpoint must still answer an OPTIONS. Which
// message got which response is logged. The endpoint rejects calls (486) so
// that no dialog reaches the example hosts the messages name. Each message
// goes out from its own socket: many vectors share a branch, and one sent-by
// for all would turn them into retransmissions of each other.
func TestTortureMessages(t *testing.T) {
	ep := startEndpoint(t, "--answer", "reject", "--log-level", "warn")
	files, err := filepath.Glob("testdata/torture/*/*.dat")
	if err != nil || len(files) < 40 {
		t.Fatalf("torture vectors: %d files, %v", len(files), err)
	}
	var table []string
	for i, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "testdata/torture/"), ".dat")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := newRawClient(t, ep.Addr)
		msg := aimAtLoopback(raw, c.Port)
		callID := callIDOf(raw)
		c.Send(msg)
		if callID != "" {
			c.WaitFinal(callID, "", 300*time.Millisecond)
		}
		probe := fmt.Sprintf("probe-%d-after-%s", i, strings.ReplaceAll(name, "/", "-"))
		if _, ok := c.Probe(ep.URI, probe, 3*time.Second); !ok {
			t.Fatalf("%s: no answer to OPTIONS afterwards (endpoint exited: %v)", name, ep.proc.Exited())
		}
		var codes []string
		if callID != "" {
			for _, r := range c.Responses(callID) {
				codes = append(codes, fmt.Sprintf("%d(%s)", r.Code, r.CSeq))
			}
		}
		if len(codes) == 0 {
			codes = []string{"none"}
		}
		table = append(table, fmt.Sprintf("%-22s %s", name, strings.Join(slices.Compact(codes), " ")))
	}
	t.Logf("responses per torture message:\n%s", strings.Join(table, "\n"))
	if ep.proc.Exited() {
		t.Fatal("endpoint exited during the torture run")
	}
}

// TestMalformedSDP sends INVITEs with broken SDP bodies to an auto-answering
// endpoint: each must get 400 or 488 and never kill the process. Two
// malformations have one obvious meaning (an LF-only empty line, a missing
// final CRLF): the endpoint may repair them, but then the answer must hold
// the offered audio and RTP must flow to the offered port (diago alone
// would crash on the first and lose the last line on the second). A good
// INVITE at the end is answered 200.
func TestMalformedSDP(t *testing.T) {
	ep := startEndpoint(t, "--answer", "auto", "--audio", "tone:440", "--hangup-after", "2s", "--log-level", "warn")
	c := newRawClient(t, ep.Addr)
	head := "v=0\r\no=interop 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	media := func(port int) string { return fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", port) }
	good := func(port int) string { return head + media(port) }
	const dropped = 0 // no response at all
	tests := []struct {
		name     string
		body     func(port int) string
		bodyLen  func(port int) int // Content-Length when not len(body)
		wantCode []int
		repair   bool // 200 allowed if the audio survives
	}{
		{"lf-only empty line", func(p int) string {
			return "v=0\r\no=interop 1 1 IN IP4 127.0.0.1\r\ns=-\r\n\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + media(p)
		}, nil, []int{400, 488}, true},
		{"no trailing CRLF", func(p int) string { return head + fmt.Sprintf("m=audio %d RTP/AVP 0", p) }, nil, []int{400, 488}, true},
		{"truncated m= line", func(int) string { return head + "m=audio" }, nil, []int{400, 488}, false},
		{"truncated after m= port", func(p int) string { return head + fmt.Sprintf("m=audio %d", p) }, nil, []int{400, 488}, false},
		{"garbage after m=", func(int) string { return head + "m=\x01\x02\xff garbage ~~~\r\na=rtpmap:0 PCMU/8000\r\n" }, nil, []int{400, 488}, false},
		{"garbage port and formats", func(int) string { return head + "m=audio notaport RTP/AVP zz yy\r\n" }, nil, []int{400, 488}, false},
		{"no media at all", func(int) string { return head }, nil, []int{400, 488}, false},
		{"not SDP at all", func(int) string { return "hello, world\r\n" }, nil, []int{400, 488}, false},
		// RFC 3261 §18.3: a UDP request whose body ends before Content-Length
		// SHOULD get 400; sipgo drops it before the application sees it.
		{"content-length beyond body", func(p int) string { return good(p)[:len(good(p))-20] },
			func(p int) int { return len(good(p)) }, []int{400, dropped}, false},
	}
	for i, tc := range tests {
		rtp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := rtp.LocalAddr().(*net.UDPAddr).Port
		callID := fmt.Sprintf("badsdp-%d@interop", i)
		hdrs := []string{"Content-Type: application/sdp"}
		if tc.bodyLen != nil {
			hdrs = append(hdrs, fmt.Sprintf("Content-Length: %d", tc.bodyLen(port)))
		}
		c.Send(c.request("INVITE", ep.URI, callID, 1, hdrs, tc.body(port)))
		r, ok := c.WaitFinal(callID, "INVITE", 3*time.Second)
		if ok {
			c.Send(ackFor(c, ep.URI, callID, r))
		}
		switch {
		case !ok && slices.Contains(tc.wantCode, dropped):
			t.Logf("%d %s: dropped without a response", i, tc.name)
		case !ok:
			t.Errorf("%d %s: no final response", i, tc.name)
		case r.Code == 200 && tc.repair:
			t.Logf("%d %s: repaired, 200", i, tc.name)
			if !strings.Contains(r.Raw, "m=audio ") || strings.Contains(r.Raw, "m=audio 0 ") {
				t.Errorf("%d %s: 200 without live audio in the answer:\n%s", i, tc.name, r.Raw)
			}
			if n := countPackets(rtp, 1500*time.Millisecond); n < 10 {
				t.Errorf("%d %s: 200 but only %d RTP packets reached the offered port in 1.5 s", i, tc.name, n)
			}
			c.Send(c.request("BYE", ep.URI, callID, 2, []string{"To: " + r.To}, ""))
		case !slices.Contains(tc.wantCode, r.Code):
			t.Errorf("%d %s: got %d, want one of %v", i, tc.name, r.Code, tc.wantCode)
		default:
			t.Logf("%d %s: %d", i, tc.name, r.Code)
		}
		rtp.Close()
		if _, alive := c.Probe(ep.URI, fmt.Sprintf("probe-badsdp-%d", i), 3*time.Second); !alive {
			t.Fatalf("%d %s: endpoint no longer answers OPTIONS (exited: %v)", i, tc.name, ep.proc.Exited())
		}
	}
	// Issue 13: the endpoint reports the refused offers as ended calls
	// (rule bad-sdp), not only as a response on the wire: the first at
	// once, the rest of the flood summed up once a second.
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return isCall("ended")(ev) && ev.Call.Direction == "incoming" && ev.Call.End != nil &&
			(ev.Call.End.Code == 400 || ev.Call.End.Code == 488) && strings.Contains(ev.Raw, `"bad-sdp"`)
	}, 5*time.Second); err != nil {
		t.Errorf("no refused call (bad-sdp) in the endpoint's events: %v", err)
	}
	// The control case: a good offer is answered 200, so the codes above
	// come from SDP checks and not from an endpoint that refuses everything.
	callID := "goodsdp@interop"
	c.Send(c.request("INVITE", ep.URI, callID, 1, []string{"Content-Type: application/sdp"}, good(freePort(t, 1))))
	r, ok := c.WaitFinal(callID, "INVITE", 3*time.Second)
	if !ok || r.Code != 200 {
		t.Fatalf("good SDP: got %d (ok=%v), want 200", r.Code, ok)
	}
	c.Send(ackFor(c, ep.URI, callID, r))
	c.Send(c.request("BYE", ep.URI, callID, 2, []string{"To: " + r.To}, ""))
	if br, ok := c.WaitFinal(callID, "BYE", 3*time.Second); !ok || br.Code != 200 {
		t.Errorf("good SDP: BYE got %d (ok=%v), want 200", br.Code, ok)
	}
}

// countPackets counts datagrams arriving on pc during d.
func countPackets(pc net.PacketConn, d time.Duration) int {
	buf := make([]byte, 2048)
	n := 0
	deadline := time.Now().Add(d)
	for {
		pc.SetReadDeadline(deadline)
		if _, _, err := pc.ReadFrom(buf); err != nil {
			return n
		}
		n++
	}
}

// ackFor builds the ACK for a final response to our INVITE (CSeq 1). For a
// non-2xx it is part of the INVITE transaction and reuses its branch (RFC
// 3261 §17.1.1.3); for a 2xx it is a transaction of its own (§13.2.2.4).
func ackFor(c *rawClient, ruri, callID string, r rawResponse) []byte {
	hdrs := []string{"To: " + r.To}
	if r.Code >= 300 {
		hdrs = append(hdrs, c.via(callID, 1, "INVITE"))
	}
	return c.request("ACK", ruri, callID, 1, hdrs, "")
}
