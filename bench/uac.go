//go:build linux

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// UAC is a minimal SIP user agent client over UDP for measurements. It
// places calls with a fixed PCMU offer, measures INVITE → 200 with kernel
// receive timestamps, and answers 200 to any request the peer sends (a BYE
// from the far end). It is not a general SIP stack: one target, no auth, no
// forking, no re-INVITE handling beyond 200.
//
// It is safe for concurrent use; each Invite runs on its caller's goroutine.
type UAC struct {
	conn   *net.UDPConn
	target *net.UDPAddr
	local  string

	mu    sync.Mutex
	calls map[string]chan sipMsg // by Call-ID; guarded by mu

	seq             atomic.Uint64
	Retransmissions atomic.Int64 // requests we had to send again
	Stray           atomic.Int64 // messages for no known call

	done chan struct{}
}

// NewUAC opens a socket on 127.0.0.1 aimed at target (host:port). Its reader
// goroutine is owned by the UAC and ends in Close.
func NewUAC(target string) (*UAC, error) {
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := enableRxStamps(conn); err != nil {
		conn.Close()
		return nil, err
	}
	u := &UAC{conn: conn, target: raddr, local: conn.LocalAddr().String(),
		calls: map[string]chan sipMsg{}, done: make(chan struct{})}
	go u.read()
	return u, nil
}

// Close stops the reader.
func (u *UAC) Close() error {
	err := u.conn.Close()
	<-u.done
	return err
}

// sipMsg is what the client needs from a received message.
type sipMsg struct {
	at      time.Time // kernel receive time
	from    *net.UDPAddr
	code    int    // responses
	method  string // requests
	cseq    string // "1 INVITE"
	callID  string
	toTag   string
	contact string
	raw     []byte
}

func (u *UAC) read() {
	defer close(u.done)
	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	for {
		n, addr, at, err := readStamped(u.conn, buf, oob)
		if err != nil {
			return
		}
		m, ok := parseSIP(buf[:n])
		if !ok {
			u.Stray.Add(1)
			continue
		}
		m.at, m.from = at, addr
		if m.method != "" {
			u.answerRequest(m)
		}
		u.mu.Lock()
		ch := u.calls[m.callID]
		u.mu.Unlock()
		if ch == nil {
			if m.method == "" {
				u.Stray.Add(1)
			}
			continue
		}
		select {
		case ch <- m:
		default: // the call's queue is full: it is not listening
		}
	}
}

// answerRequest answers 200 OK to a request from the peer (BYE, OPTIONS,
// re-INVITE without a new offer); ACK gets no answer.
func (u *UAC) answerRequest(m sipMsg) {
	if m.method == "ACK" {
		return
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range headerLines(m.raw) {
		switch canonicalHeader(h.name) {
		case "Via", "From", "To", "Call-ID", "CSeq":
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	_, _ = u.conn.WriteToUDP(b.Bytes(), m.from)
}

// Leg is one established call.
type Leg struct {
	u       *UAC
	callID  string
	fromTag string
	toTag   string
	ruri    string
	toURI   string
	ch      chan sipMsg
	// Setup is INVITE sent → 200 received (kernel timestamp).
	Setup time.Duration
	// Answer is the peer's SDP answer.
	Answer []byte
}

func token() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Offer returns a PCMU + telephone-event offer for media at port on
// 127.0.0.1.
func Offer(port int) []byte {
	return []byte("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n")
}

// T1 is the first retransmission interval (RFC 3261 §17.1.1.2).
const T1 = 500 * time.Millisecond

// Invite places a call to user at the target with an offer for media at
// rtpPort and returns once the 200 has been acknowledged. A non-2xx final
// response is a *RejectedError.
func (u *UAC) Invite(ctx context.Context, user string, rtpPort int) (*Leg, error) {
	return u.InviteSDP(ctx, user, Offer(rtpPort))
}

// OfferCodec is Offer with another audio codec: "G722" (payload type 9)
// or "opus" (96, 48000/2), telephone-event on 101 as in Offer.
func OfferCodec(port int, codec string) []byte {
	pt, rtpmap := "0", "PCMU/8000"
	switch codec {
	case "PCMA":
		pt, rtpmap = "8", "PCMA/8000"
	case "G722":
		pt, rtpmap = "9", "G722/8000"
	case "opus":
		pt, rtpmap = "96", "opus/48000/2"
	}
	return []byte("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP " + pt + " 101\r\na=rtpmap:" + pt + " " + rtpmap + "\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n")
}

// InviteSDP is Invite with the offer body given.
func (u *UAC) InviteSDP(ctx context.Context, user string, body []byte) (*Leg, error) {
	n := u.seq.Add(1)
	l := &Leg{u: u, callID: fmt.Sprintf("%d-%s@bench", n, token()), fromTag: token(),
		ruri: fmt.Sprintf("sip:%s@%s", user, u.target), ch: make(chan sipMsg, 16)}
	l.toURI = l.ruri
	u.mu.Lock()
	u.calls[l.callID] = l.ch
	u.mu.Unlock()
	branch := "z9hG4bK" + token()
	req := l.request("INVITE", l.ruri, branch, 1, "application/sdp", body)
	sent := time.Now()
	if _, err := u.conn.WriteToUDP(req, u.target); err != nil {
		l.forget()
		return nil, err
	}
	rto := T1
	timer := time.NewTimer(rto)
	defer timer.Stop()
	provisional := false
	deadline := time.After(64 * T1)
	for {
		select {
		case <-ctx.Done():
			l.forget()
			return nil, ctx.Err()
		case <-deadline:
			l.forget()
			return nil, fmt.Errorf("INVITE: %w", ErrTimeout)
		case <-timer.C:
			if !provisional {
				u.Retransmissions.Add(1)
				_, _ = u.conn.WriteToUDP(req, u.target)
				rto *= 2
				timer.Reset(rto)
			}
		case m := <-l.ch:
			if m.method != "" || !strings.HasSuffix(m.cseq, "INVITE") {
				continue
			}
			switch {
			case m.code < 200:
				provisional = true
			case m.code < 300:
				l.Setup = m.at.Sub(sent)
				l.toTag = m.toTag
				if m.contact != "" {
					l.ruri = m.contact
				}
				if i := bytes.Index(m.raw, []byte("\r\n\r\n")); i >= 0 {
					l.Answer = m.raw[i+4:]
				}
				l.ack()
				return l, nil
			default:
				// RFC 3261 §17.1.1.3: ACK a non-2xx in the same transaction.
				l.toTag = m.toTag
				_, _ = u.conn.WriteToUDP(l.request("ACK", l.toURI, branch, 1, "", nil), u.target)
				l.forget()
				return nil, &RejectedError{Method: "INVITE", Code: m.code}
			}
		}
	}
}

func (l *Leg) ack() {
	_, _ = l.u.conn.WriteToUDP(l.request("ACK", l.ruri, "z9hG4bK"+token(), 1, "", nil), l.u.target)
}

func (l *Leg) forget() {
	l.u.mu.Lock()
	delete(l.u.calls, l.callID)
	l.u.mu.Unlock()
}

// Bye hangs the call up and waits for the answer to the BYE. A
// retransmitted 200 to the INVITE (our ACK lost) is acknowledged again.
func (l *Leg) Bye(ctx context.Context) error {
	defer l.forget()
	req := l.request("BYE", l.ruri, "z9hG4bK"+token(), 2, "", nil)
	if _, err := l.u.conn.WriteToUDP(req, l.u.target); err != nil {
		return err
	}
	rto := T1
	timer := time.NewTimer(rto)
	defer timer.Stop()
	deadline := time.After(64 * T1)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("BYE: %w", ErrTimeout)
		case <-timer.C:
			l.u.Retransmissions.Add(1)
			_, _ = l.u.conn.WriteToUDP(req, l.u.target)
			rto = min(rto*2, 4*time.Second)
			timer.Reset(rto)
		case m := <-l.ch:
			switch {
			case m.method == "BYE": // the peer hung up first; answered by the reader
				return nil
			case m.method != "":
			case strings.HasSuffix(m.cseq, "INVITE") && m.code >= 200 && m.code < 300:
				l.ack()
			case strings.HasSuffix(m.cseq, "BYE") && m.code >= 200:
				if m.code >= 300 && m.code != 481 {
					return &RejectedError{Method: "BYE", Code: m.code}
				}
				return nil
			}
		}
	}
}

func (l *Leg) request(method, ruri, branch string, cseq int, ctype string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", l.u.local, branch)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:bench@%s>;tag=%s\r\n", l.u.local, l.fromTag)
	if l.toTag != "" {
		fmt.Fprintf(&b, "To: <%s>;tag=%s\r\n", l.toURI, l.toTag)
	} else {
		fmt.Fprintf(&b, "To: <%s>\r\n", l.toURI)
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\n", l.callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:bench@%s>\r\n", l.u.local)
	if ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

type header struct{ name, value string }

// headerLines returns the header fields of a message (no folding: none of
// the peers measured here folds).
func headerLines(raw []byte) []header {
	head := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head = raw[:i]
	}
	lines := strings.Split(string(head), "\r\n")
	out := make([]header, 0, len(lines))
	for _, ln := range lines[1:] {
		k, v, ok := strings.Cut(ln, ":")
		if ok {
			out = append(out, header{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// canonicalHeader maps compact and differently cased names to one form.
func canonicalHeader(k string) string {
	switch strings.ToLower(k) {
	case "i", "call-id":
		return "Call-ID"
	case "v", "via":
		return "Via"
	case "f", "from":
		return "From"
	case "t", "to":
		return "To"
	case "m", "contact":
		return "Contact"
	case "cseq":
		return "CSeq"
	}
	return k
}

// parseSIP reads the start line and the headers the client needs.
func parseSIP(raw []byte) (sipMsg, bool) {
	m := sipMsg{raw: raw}
	eol := bytes.Index(raw, []byte("\r\n"))
	if eol < 0 {
		return m, false
	}
	start := string(raw[:eol])
	if rest, ok := strings.CutPrefix(start, "SIP/2.0 "); ok {
		code, _, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			return m, false
		}
		m.code = n
	} else {
		f := strings.Fields(start)
		if len(f) != 3 || f[2] != "SIP/2.0" {
			return m, false
		}
		m.method = f[0]
	}
	for _, h := range headerLines(raw) {
		switch canonicalHeader(h.name) {
		case "Call-ID":
			m.callID = h.value
		case "CSeq":
			m.cseq = h.value
		case "To":
			if _, tag, ok := strings.Cut(h.value, ";tag="); ok {
				tag, _, _ = strings.Cut(tag, ";")
				m.toTag = tag
			}
		case "Contact":
			v := h.value
			if i := strings.IndexByte(v, '<'); i >= 0 {
				if j := strings.IndexByte(v[i:], '>'); j > 0 {
					v = v[i+1 : i+j]
				}
			} else {
				v, _, _ = strings.Cut(v, ";")
			}
			m.contact = v
		}
	}
	return m, m.callID != ""
}
