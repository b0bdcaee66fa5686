package phone

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxLadder bounds the record of one dialog; a long call with many
// re-INVITEs keeps its first and latest messages.
const maxLadder = 256

// sipgo reports every message to one process-wide tracer (sip.SIPDebugTracer).
// tracers routes them to the phone that owns the local address, or, for
// connections we opened (TCP), to the phone that knows the Call-ID.
var tracers = struct {
	sync.RWMutex
	phones map[*Phone]struct{}
	n      atomic.Int32 // len(phones): no phone traces, nothing to do
}{phones: map[*Phone]struct{}{}}

// sipgo reads sip.SIPDebug and its tracer without synchronisation on every
// message, so both are set once, before any transport of this process
// serves (setting them at the first traced phone's Start raced with
// untraced phones already reading, and -race said so). A process whose
// phones all run without trace pays one atomic load per message.
func init() {
	sip.SIPDebugTracer(tracerFunc{})
	sip.SIPDebug = true
}

type tracerFunc struct{}

func (tracerFunc) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	if tracers.n.Load() == 0 {
		return
	}
	if !strings.EqualFold(transport, "tcp") && !strings.EqualFold(transport, "tls") {
		// UDP: one datagram; WebSocket: one frame, one message (RFC 7118 §5.1).
		dispatchTrace(false, transport, laddr, raddr, msg)
		return
	}
	// sipgo traces what one Read of a connection returned (LIBRARIES
	// §3 #24): several messages, or part of one. Each complete message
	// is recorded on its own.
	for _, m := range streamMessages(transport+" "+laddr+" "+raddr, msg) {
		dispatchTrace(false, transport, laddr, raddr, m)
	}
}

func (tracerFunc) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	if tracers.n.Load() == 0 {
		return
	}
	dispatchTrace(true, transport, laddr, raddr, msg)
}

func registerTracer(p *Phone) {
	if p.cfg.NoTrace && p.trace == nil {
		return
	}
	tracers.Lock()
	tracers.phones[p] = struct{}{}
	tracers.n.Store(int32(len(tracers.phones)))
	tracers.Unlock()
}

func unregisterTracer(p *Phone) {
	tracers.Lock()
	delete(tracers.phones, p)
	tracers.n.Store(int32(len(tracers.phones)))
	tracers.Unlock()
}

func dispatchTrace(sent bool, transport, laddr, raddr string, msg []byte) {
	tracers.RLock()
	var owner *Phone
	for p := range tracers.phones {
		if p.Addr() == laddr {
			owner = p
			break
		}
	}
	callID := headerValue(msg, "Call-ID", "i")
	if owner == nil && !strings.EqualFold(transport, "udp") {
		// A connection we opened (TCP/TLS) has an ephemeral local port:
		// find the phone by Call-ID. When the peer is in this process too
		// (the TUI's built-in contacts), the peer is the one listening on
		// raddr, so it is not the owner.
		for p := range tracers.phones {
			if p.Addr() == raddr {
				continue
			}
			p.mu.Lock()
			_, ok := p.bySIP[callID]
			p.mu.Unlock()
			if ok || (p.ladders != nil && p.ladders.known(callID)) {
				owner = p
				break
			}
		}
	}
	tracers.RUnlock()
	if owner == nil {
		return
	}
	msg = redactSDES(msg) // srtpsdp.go: SRTP keys are never shown
	m := SIPMessage{
		Time: time.Now(), Sent: sent, Local: laddr, Remote: raddr,
		Summary: firstLineSummary(msg), CSeq: headerValue(msg, "CSeq", ""),
		Protocol: strings.ToLower(transport),
	}
	if m.Protocol == "tcp" && owner.cfg.Transport == "tls" {
		m.Protocol = "tls" // sipgo's TLS connection is its TCPConnection: it traces "TCP"
	}
	if sent && owner.ladders != nil {
		// ordered by when it was handed to the transport (ladders.go)
		if t, ok := owner.ladders.sentAt(callID, m.CSeq, m.Summary); ok {
			m.Time = t
		}
	}
	if owner.trace != nil {
		owner.trace.write(m, msg)
	}
	if owner.cfg.NoTrace || owner.ladders == nil {
		return
	}
	m.Raw = string(redactAuth(msg))
	owner.ladders.add(callID, m)
}

// streams holds, per connection, the start of a message a Read of it
// returned without its end.
var streams = struct {
	sync.Mutex
	bufs map[string][]byte
}{bufs: map[string][]byte{}}

// maxStreamBuf bounds what is held for one connection; more is not SIP
// we can frame and is dropped.
const maxStreamBuf = 1 << 20

// streamMessages frames what a connection's Read returned (chunk) into
// whole SIP messages (RFC 3261 §18.3: headers up to an empty line, then
// Content-Length bytes of body), keeping an incomplete tail for the next
// Read of key. CRLF keep-alives (RFC 5626 §3.5.1) between messages are
// skipped.
func streamMessages(key string, chunk []byte) [][]byte {
	streams.Lock()
	defer streams.Unlock()
	buf := append(streams.bufs[key], chunk...)
	var out [][]byte
	for {
		for len(buf) > 0 && (buf[0] == '\r' || buf[0] == '\n') {
			buf = buf[1:]
		}
		end := bytes.Index(buf, []byte("\r\n\r\n"))
		if end < 0 {
			break
		}
		n := end + 4
		if v := headerValue(buf[:n], "Content-Length", "l"); v != "" {
			cl, err := strconv.Atoi(v)
			if err != nil || cl < 0 || cl > maxStreamBuf {
				buf = nil // not SIP we can frame: start over
				break
			}
			n += cl
		}
		if len(buf) < n {
			break
		}
		out = append(out, bytes.Clone(buf[:n]))
		buf = buf[n:]
	}
	switch {
	case len(buf) == 0 || len(buf) > maxStreamBuf:
		delete(streams.bufs, key)
	default:
		if len(streams.bufs) > 4096 {
			clear(streams.bufs) // tails of connections long gone
		}
		streams.bufs[key] = bytes.Clone(buf)
	}
	return out
}

// firstLineSummary gives "INVITE" for requests and "180 Ringing" for responses.
func firstLineSummary(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\n"))
	s := strings.TrimSpace(string(line))
	if rest, ok := strings.CutPrefix(s, "SIP/2.0 "); ok {
		return rest
	}
	if m, _, ok := strings.Cut(s, " "); ok {
		return m
	}
	return s
}

// headerValue finds a header by full or compact name in a raw message.
func headerValue(msg []byte, name, compact string) string {
	sc := bufio.NewScanner(bytes.NewReader(msg))
	sc.Buffer(make([]byte, 0, 4096), len(msg)+1)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			continue
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if strings.EqualFold(k, name) || (compact != "" && strings.EqualFold(k, compact)) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// traceFile appends every message in a readable text form.
type traceFile struct {
	mu sync.Mutex
	f  *os.File
}

func openTraceFile(path string) (*traceFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("trace file: %w", err)
	}
	return &traceFile{f: f}, nil
}

func (t *traceFile) write(m SIPMessage, raw []byte) {
	dir := "<-"
	if m.Sent {
		dir = "->"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.f, "=== %s %s %s %s %s ===\n%s\n", m.Time.Format(time.RFC3339Nano), m.Protocol, m.Local, dir, m.Remote, redactAuth(raw))
}

// redactAuth hides digest credentials in traces: secrets are never logged.
func redactAuth(raw []byte) []byte {
	lines := bytes.Split(raw, []byte("\n"))
	for i, l := range lines {
		k, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(string(k))) {
		case "authorization", "proxy-authorization":
			lines[i] = append(append([]byte{}, k...), []byte(": <redacted>\r")...)
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

func (t *traceFile) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.Close()
}
