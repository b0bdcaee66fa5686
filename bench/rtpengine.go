//go:build linux

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anyphone/anyphone/phone/phonetest/ports"
)

// The errors of the rtpengine driver. (They belong in errors.go, which this
// file's author does not own.)
var (
	// ErrBencode is returned for input that is not one bencoded value, or a
	// value Bencode cannot encode.
	ErrBencode = errors.New("bench: malformed bencode")
	// ErrNoRtpengine is returned when the rtpengine binary is not installed
	// (Debian rtpengine-daemon).
	ErrNoRtpengine = errors.New("bench: rtpengine not installed (apt-get install rtpengine-daemon)")
	// ErrNGTimeout is returned when rtpengine does not answer an ng command.
	ErrNGTimeout = errors.New("bench: no ng reply from rtpengine")
)

// NGError is rtpengine's "result": "error" reply to an ng command.
type NGError struct {
	Command string
	Reason  string
}

func (e *NGError) Error() string {
	return fmt.Sprintf("bench: rtpengine %s: %s", e.Command, e.Reason)
}

// Bencode encodes v: strings and byte slices as byte strings, integers,
// lists ([]any, []string) and dictionaries (map[string]any, keys sorted).
func Bencode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := bencodeTo(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func bencodeTo(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		b.WriteString(strconv.Itoa(len(x)))
		b.WriteByte(':')
		b.WriteString(x)
	case []byte:
		b.WriteString(strconv.Itoa(len(x)))
		b.WriteByte(':')
		b.Write(x)
	case int:
		fmt.Fprintf(b, "i%de", x)
	case int64:
		fmt.Fprintf(b, "i%de", x)
	case []string:
		b.WriteByte('l')
		for _, s := range x {
			_ = bencodeTo(b, s)
		}
		b.WriteByte('e')
	case []any:
		b.WriteByte('l')
		for _, e := range x {
			if err := bencodeTo(b, e); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('d')
		for _, k := range keys {
			_ = bencodeTo(b, k)
			if err := bencodeTo(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	default:
		return fmt.Errorf("%w: cannot encode %T", ErrBencode, v)
	}
	return nil
}

// Bdecode decodes one bencoded value that fills all of p: byte strings
// become string, integers int64, lists []any and dictionaries
// map[string]any.
func Bdecode(p []byte) (any, error) {
	v, rest, err := bdecode(p, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", ErrBencode, len(rest))
	}
	return v, nil
}

// maxBencodeDepth bounds nesting so hostile input cannot exhaust the stack.
const maxBencodeDepth = 64

func bdecode(p []byte, depth int) (any, []byte, error) {
	if len(p) == 0 {
		return nil, nil, fmt.Errorf("%w: unexpected end", ErrBencode)
	}
	if depth > maxBencodeDepth {
		return nil, nil, fmt.Errorf("%w: nested too deep", ErrBencode)
	}
	switch c := p[0]; {
	case c == 'i':
		end := bytes.IndexByte(p, 'e')
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: unterminated integer", ErrBencode)
		}
		n, err := strconv.ParseInt(string(p[1:end]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: integer %q", ErrBencode, p[1:end])
		}
		return n, p[end+1:], nil
	case c == 'l':
		list := []any{}
		p = p[1:]
		for {
			if len(p) == 0 {
				return nil, nil, fmt.Errorf("%w: unterminated list", ErrBencode)
			}
			if p[0] == 'e' {
				return list, p[1:], nil
			}
			v, rest, err := bdecode(p, depth+1)
			if err != nil {
				return nil, nil, err
			}
			list = append(list, v)
			p = rest
		}
	case c == 'd':
		dict := map[string]any{}
		p = p[1:]
		for {
			if len(p) == 0 {
				return nil, nil, fmt.Errorf("%w: unterminated dictionary", ErrBencode)
			}
			if p[0] == 'e' {
				return dict, p[1:], nil
			}
			k, rest, err := bdecode(p, depth+1)
			if err != nil {
				return nil, nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, nil, fmt.Errorf("%w: dictionary key is %T", ErrBencode, k)
			}
			v, rest, err := bdecode(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			dict[key] = v
			p = rest
		}
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(p, ':')
		if colon < 0 {
			return nil, nil, fmt.Errorf("%w: string without length", ErrBencode)
		}
		n, err := strconv.Atoi(string(p[:colon]))
		if err != nil || n < 0 || n > len(p)-colon-1 {
			return nil, nil, fmt.Errorf("%w: string length %q", ErrBencode, p[:colon])
		}
		return string(p[colon+1 : colon+1+n]), p[colon+1+n:], nil
	default:
		return nil, nil, fmt.Errorf("%w: unexpected %q", ErrBencode, c)
	}
}

// NGClient speaks rtpengine's ng control protocol: a cookie, a space and a
// bencoded dictionary per UDP datagram, answered with the same cookie. It
// is safe for concurrent use; commands are sent one at a time.
type NGClient struct {
	conn   *net.UDPConn
	prefix string

	mu  sync.Mutex // held for one command: send, wait for its reply
	seq int        // guarded by mu
	buf []byte     // guarded by mu
}

// DialNG opens a client for the ng listener at addr (host:port).
func DialNG(addr string) (*NGClient, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &NGClient{conn: conn, prefix: hex.EncodeToString(r[:]), buf: make([]byte, 65536)}, nil
}

// Close closes the socket.
func (c *NGClient) Close() error { return c.conn.Close() }

// Do sends req (it must hold "command") and returns the reply dictionary.
// It resends every 500 ms until ctx ends (ErrNGTimeout). A "result":
// "error" reply is an *NGError.
func (c *NGClient) Do(ctx context.Context, req map[string]any) (map[string]any, error) {
	cmd, _ := req["command"].(string)
	body, err := Bencode(req)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	cookie := c.prefix + "_" + strconv.Itoa(c.seq)
	msg := append([]byte(cookie+" "), body...)
	for {
		if _, err := c.conn.Write(msg); err != nil {
			return nil, fmt.Errorf("ng %s: %w", cmd, err)
		}
		resend := time.Now().Add(500 * time.Millisecond)
		if d, ok := ctx.Deadline(); ok && d.Before(resend) {
			resend = d
		}
		_ = c.conn.SetReadDeadline(resend)
		for {
			n, err := c.conn.Read(c.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				// A refused datagram (nothing listening yet) reads as an
				// error on a connected socket: wait and resend.
				time.Sleep(50 * time.Millisecond)
				break
			}
			got, rest, ok := bytes.Cut(c.buf[:n], []byte(" "))
			if !ok || string(got) != cookie {
				continue // a late reply to an earlier attempt
			}
			v, err := Bdecode(rest)
			if err != nil {
				return nil, fmt.Errorf("ng %s reply: %w", cmd, err)
			}
			reply, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: ng %s reply is %T", ErrBencode, cmd, v)
			}
			if res, _ := reply["result"].(string); res == "error" {
				reason, _ := reply["error-reason"].(string)
				return nil, &NGError{Command: cmd, Reason: reason}
			}
			return reply, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNGTimeout, cmd, context.Cause(ctx))
		}
	}
}

// Ping succeeds once rtpengine answers "pong".
func (c *NGClient) Ping(ctx context.Context) error {
	r, err := c.Do(ctx, map[string]any{"command": "ping"})
	if err != nil {
		return err
	}
	if s, _ := r["result"].(string); s != "pong" {
		return fmt.Errorf("%w: ping answered %q", ErrNGTimeout, s)
	}
	return nil
}

// rtpengine's tags for the two sides of a bridged call.
const (
	ngFromTag = "caller"
	ngToTag   = "callee"
)

// Bridge sets up call callID through rtpengine: an offer from a caller
// with RTP at callerPort, then an answer from a callee at calleePort, both
// on 127.0.0.1 with PCMU. It returns the rtpengine port the caller must
// send to (from the answer's SDP) and the one facing the callee (from the
// offer's).
func (c *NGClient) Bridge(ctx context.Context, callID string, callerPort, calleePort int) (callerSide, calleeSide int, err error) {
	common := func(cmd string, port int) map[string]any {
		return map[string]any{
			"command": cmd, "call-id": callID, "from-tag": ngFromTag,
			"sdp":     Offer(port),
			"replace": []string{"origin", "session-connection"},
			"ICE":     "remove",
		}
	}
	r, err := c.Do(ctx, common("offer", callerPort))
	if err != nil {
		return 0, 0, err
	}
	if calleeSide, err = replyPort(r, "offer"); err != nil {
		return 0, 0, err
	}
	ans := common("answer", calleePort)
	ans["to-tag"] = ngToTag
	if r, err = c.Do(ctx, ans); err != nil {
		return 0, 0, err
	}
	if callerSide, err = replyPort(r, "answer"); err != nil {
		return 0, 0, err
	}
	return callerSide, calleeSide, nil
}

// replyPort is the audio port of a reply's SDP.
func replyPort(r map[string]any, cmd string) (int, error) {
	sdp, _ := r["sdp"].(string)
	m := ngAudioPort.FindStringSubmatch(sdp)
	if m == nil {
		return 0, &NGError{Command: cmd, Reason: "reply without an audio port: " + strings.TrimSpace(sdp)}
	}
	return strconv.Atoi(m[1])
}

var ngAudioPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// Delete ends call callID in rtpengine.
func (c *NGClient) Delete(ctx context.Context, callID string) error {
	_, err := c.Do(ctx, map[string]any{"command": "delete", "call-id": callID, "from-tag": ngFromTag})
	return err
}

// Rtpengine is a running rtpengine daemon on 127.0.0.1: userspace only
// (table -1), one worker thread, in the foreground, logging to a file.
type Rtpengine struct {
	Proc             *Proc
	NG               string // ng listener, 127.0.0.1:port
	PortMin, PortMax int    // its RTP port range
	CPU              int    // the core it is pinned to; -1: not pinned
	Log              string // its log file
}

// StartRtpengine starts rtpengine for calls bridged calls (four ports
// each: RTP and RTCP on both sides), with its log in dir, pinned with
// taskset to core cpu (cpu < 0, or no taskset: not pinned), and waits until
// it answers an ng ping.
func StartRtpengine(ctx context.Context, dir string, calls, cpu int) (*Rtpengine, error) {
	bin, err := exec.LookPath("rtpengine")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRtpengine, err)
	}
	size := 4*calls + 64
	base, err := freeRange(size + 2)
	if err != nil {
		return nil, err
	}
	r := &Rtpengine{NG: net.JoinHostPort("127.0.0.1", strconv.Itoa(base)), PortMin: base + 2, PortMax: base + 1 + size, CPU: cpu}
	args := []string{
		"--config-file=none", "--foreground", "--log-stderr", "--log-level=5",
		"--table=-1", "--num-threads=1", "--delete-delay=0",
		"--interface=127.0.0.1", "--listen-ng=" + r.NG,
		"--port-min=" + strconv.Itoa(r.PortMin), "--port-max=" + strconv.Itoa(r.PortMax),
	}
	if ts, err := exec.LookPath("taskset"); err == nil && cpu >= 0 {
		args = append([]string{"-c", strconv.Itoa(cpu), bin}, args...)
		bin = ts
	} else {
		r.CPU = -1
	}
	r.Log = filepath.Join(dir, fmt.Sprintf("rtpengine-%d.log", base))
	if r.Proc, err = StartProc("rtpengine", r.Log, nil, bin, args...); err != nil {
		return nil, err
	}
	c, err := DialNG(r.NG)
	if err != nil {
		r.Stop()
		return nil, err
	}
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping := make(chan error, 1)
	go func() { ping <- c.Ping(pctx) }() // joined below
	select {
	case err = <-ping:
	case <-r.Proc.Done():
		cancel()
		<-ping
		err = fmt.Errorf("exited: %v", r.Proc.ExitErr())
	}
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("rtpengine: %w (see %s)", err, r.Log)
	}
	return r, nil
}

// Stop stops the daemon by its PID.
func (r *Rtpengine) Stop() { r.Proc.Stop(3 * time.Second) }

// freeRange returns the first of n consecutive ports free on 127.0.0.1,
// below the kernel's ephemeral range so that sockets bound to port 0 later
// do not take them.
func freeRange(n int) (int, error) {
	base, err := ports.Free(n, nil)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return base, nil
}
