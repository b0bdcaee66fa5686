package interop

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawResponse is a SIP response as the raw client saw it.
type rawResponse struct {
	Code   int
	CallID string
	CSeq   string
	To     string
	Raw    string
}

// rawClient sends hand-written SIP datagrams from 127.0.0.1 and collects
// the responses, so tests can send what no well-behaved stack would.
type rawClient struct {
	t      *testing.T
	conn   *net.UDPConn
	target *net.UDPAddr
	Port   int

	mu     sync.Mutex
	resps  []rawResponse
	change chan struct{} // closed and replaced on every response; guarded by mu
}

// newRawClient opens a UDP socket on 127.0.0.1 aimed at target ("host:port").
// Its reader goroutine is owned by the client and ends when the test's
// cleanup closes the socket.
func newRawClient(t *testing.T, target string) *rawClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	if !raddr.IP.IsLoopback() {
		t.Fatalf("raw client: %s is not loopback", target)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, target: raddr, Port: conn.LocalAddr().(*net.UDPAddr).Port, change: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r, ok := parseResponse(buf[:n])
			if !ok {
				continue
			}
			c.mu.Lock()
			c.resps = append(c.resps, r)
			close(c.change)
			c.change = make(chan struct{})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return c
}

var statusLine = regexp.MustCompile(`^SIP/2\.0 (\d{3})`)

// parseResponse extracts the status code and a few headers of a response.
func parseResponse(b []byte) (rawResponse, bool) {
	m := statusLine.FindSubmatch(b)
	if m == nil {
		return rawResponse{}, false
	}
	code, _ := strconv.Atoi(string(m[1]))
	r := rawResponse{Code: code, Raw: string(b)}
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			r.CallID = val
		case "cseq":
			r.CSeq = val
		case "to", "t":
			r.To = val
		}
	}
	return r, true
}

// Send writes one datagram to the target.
func (c *rawClient) Send(msg []byte) {
	c.t.Helper()
	if _, err := c.conn.WriteToUDP(msg, c.target); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// Responses returns the responses so far whose Call-ID is callID.
func (c *rawClient) Responses(callID string) []rawResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []rawResponse
	for _, r := range c.resps {
		if r.CallID == callID {
			out = append(out, r)
		}
	}
	return out
}

// WaitFinal waits up to timeout for a final (>= 200) response with callID
// and cseqMethod in its CSeq ("" for any) and returns it; cseqMethod may
// name the number too ("2 INVITE") for a request sent again on a Call-ID.
func (c *rawClient) WaitFinal(callID, cseqMethod string, timeout time.Duration) (rawResponse, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ch := c.change
		for _, r := range c.resps {
			if r.CallID == callID && r.Code >= 200 && (cseqMethod == "" || r.CSeq == cseqMethod || strings.HasSuffix(r.CSeq, " "+cseqMethod)) {
				c.mu.Unlock()
				return r, true
			}
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return rawResponse{}, false
		}
	}
}

// request builds a request from this client with the given extra headers and
// body (Content-Length is computed unless headers set it).
func (c *rawClient) request(method, ruri, callID string, cseq int, headers []string, body string) []byte {
	var b strings.Builder
	hasVia, hasTo, hasCL := false, false, false
	for _, h := range headers {
		hasVia = hasVia || strings.HasPrefix(h, "Via:")
		hasTo = hasTo || strings.HasPrefix(h, "To:")
		hasCL = hasCL || strings.HasPrefix(h, "Content-Length:")
	}
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	if !hasVia {
		b.WriteString(c.via(callID, cseq, method) + "\r\n")
	}
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:interop@127.0.0.1:%d>;tag=interop-%s\r\n", c.Port, callID)
	if !hasTo {
		fmt.Fprintf(&b, "To: <%s>\r\n", ruri)
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:interop@127.0.0.1:%d>\r\n", c.Port)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if !hasCL {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// via returns the Via header request uses for (callID, cseq, method).
func (c *rawClient) via(callID string, cseq int, method string) string {
	return fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d-%s;rport", c.Port, callID, cseq, method)
}

// Probe sends an OPTIONS and reports whether a final response came within
// timeout (one retransmission after half of it).
func (c *rawClient) Probe(ruri, callID string, timeout time.Duration) (rawResponse, bool) {
	msg := c.request("OPTIONS", ruri, callID, 1, nil, "")
	c.Send(msg)
	if r, ok := c.WaitFinal(callID, "OPTIONS", timeout/2); ok {
		return r, true
	}
	c.Send(msg)
	return c.WaitFinal(callID, "OPTIONS", timeout/2)
}
