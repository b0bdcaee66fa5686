package phone

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Load shedding (RFC 6357 §4; RFC 3261 §21.5.4).
//
// Past its ceiling the endpoint used to collapse instead of saturating
// (make bench, 30 s steps: clean at 2,916 calls/s, then 880 calls/s
// completed at 3,645 offered, with 12,617 retransmissions and 4,075
// datagrams dropped by the full socket buffer): every new INVITE cost a
// whole call's work while the INVITEs, ACKs and BYEs of calls already
// answered waited behind it, timed out and came again. The shedder sits
// in the UDP guard, before sipgo parses anything. It reads each
// datagram's kernel receive time (SO_TIMESTAMPNS) and so knows how long it
// waited in the socket queue. While that wait is over Config.OverloadDelay
// (the datagram's own and the running average, so that one scheduling
// hiccup sheds nothing), a new INVITE (no To tag) is answered 503 Service
// Unavailable with Retry-After, statelessly, from its own bytes; its
// retransmissions get the same answer and the ACK of that answer is
// absorbed, so none of them reaches sipgo. Everything else (responses,
// ACK, BYE, re-INVITEs, CANCEL) goes on: the calls in progress finish.
// (Linux turns receive timestamps on a moment after the first socket asks;
// until then a datagram is stamped when it is read and reads as not having
// waited, so nothing is shed in that moment.)
//
// The socket queue is only half of the wait: sipgo hands every datagram to
// a goroutine of its own, so a process short of CPU drains its socket at
// once and the backlog waits in the Go run queue instead (runqueue.go).
// The shedder also refuses new INVITEs while, over the last runQueueEvery,
// the process was busy (at least runQueueBusy sampled schedulings) and the
// 90th percentile of the run-queue wait was over runQueueLimit. With
// that, one ×1.25 step past its clean rate the endpoint saturates instead
// of collapsing (30 s steps, after 2,916 clean: 3,301 calls/s completed at
// 3,645 offered, 9,952 refused, 0 retransmissions; without it 880).

// shedRemember is how long a refused INVITE's branch is remembered, so its
// retransmissions and ACK get the same treatment: 64×T1 (Timer H, 32 s).
const shedRemember = 32 * time.Second

// The run-queue signal (see above). Measured on the 2-vCPU bench machine:
// p90 at most 0.5 ms at 2,900 calls/s clean, 4–7 ms in the 30 s step at
// the edge, 10–30 ms once a step past it spirals. Fewer sampled
// schedulings than runQueueBusy in a window (an idle or lightly loaded
// phone, a test beside a busy machine) never shed.
const (
	runQueueEvery = 100 * time.Millisecond
	runQueueLimit = 8 * time.Millisecond
	runQueueBusy  = 200
)

// shedMaxRemembered bounds that memory; past it a retransmission of a
// refused INVITE may reach sipgo (and is served or refused anew).
const shedMaxRemembered = 100_000

type shedder struct {
	conn  *net.UDPConn
	delay time.Duration
	log   *slog.Logger
	oob   []byte

	// Owned by the socket's one reader (sipgo's read loop).
	rx      time.Time     // kernel receive time of the last datagram read
	avg     time.Duration // moving average of the queue wait, weight 1/8
	refused map[string]time.Time
	swept   time.Time
	logged  time.Time

	count atomic.Int64 // INVITEs refused with 503

	// Also the reader's: the run-queue probe and what it read last.
	probe  func() (p90 time.Duration, n uint64)
	probed time.Time
	rqWait time.Duration // p90 over the last window; 0 when not busy
}

func newShedder(u *net.UDPConn, delay time.Duration, log *slog.Logger) (*shedder, error) {
	if err := enableRxTimestamps(u); err != nil {
		return nil, err
	}
	rq := newRunQueue()
	return &shedder{conn: u, delay: delay, log: log, oob: make([]byte, 128), refused: map[string]time.Time{},
		probe: func() (time.Duration, uint64) { return rq.read(0.9) }}, nil
}

// read reads one datagram and notes when the kernel received it.
func (s *shedder) read(b []byte) (int, net.Addr, error) {
	n, oobn, _, ap, err := s.conn.ReadMsgUDPAddrPort(b, s.oob)
	if err != nil {
		return n, nil, err
	}
	s.rx, _ = rxTimestamp(s.oob[:oobn])
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// refuse reports whether data, the datagram just read, stops here: a new
// INVITE while overloaded (answered 503), or a retransmission or ACK of
// one refused before.
func (s *shedder) refuse(g *guardConn, data []byte, from net.Addr) bool {
	now := time.Now()
	var wait time.Duration
	if !s.rx.IsZero() {
		wait = max(now.Sub(s.rx), 0)
	}
	s.avg += (wait - s.avg) / 8
	if now.Sub(s.probed) >= runQueueEvery {
		s.probed = now
		s.rqWait = 0
		if p90, n := s.probe(); n >= runQueueBusy {
			s.rqWait = p90
		}
	}
	overloaded := (wait > s.delay && s.avg > s.delay) || s.rqWait > runQueueLimit
	if len(s.refused) > 0 && now.Sub(s.swept) >= time.Second {
		s.sweep(now)
	}
	if !overloaded && len(s.refused) == 0 {
		return false // the common case: nothing to look at
	}
	invite := bytes.HasPrefix(data, []byte("INVITE "))
	if !invite && !bytes.HasPrefix(data, []byte("ACK ")) {
		return false
	}
	branch, toTag := inviteKeys(data)
	if branch == "" {
		return false // RFC 2543 requests are rare and left to sipgo
	}
	key := from.String() + "|" + branch
	if _, ok := s.refused[key]; ok {
		if invite {
			s.answer(g, data, from, branch) // a retransmission: the same 503
		}
		return true
	}
	if !invite || toTag || !overloaded || !wellFormed(data) {
		return false // odd requests take the guard's full check (validate.go)
	}
	s.answer(g, data, from, branch)
	s.remember(key, now)
	n := s.count.Add(1)
	if now.Sub(s.logged) >= 5*time.Second {
		s.logged = now
		s.log.Warn("overloaded: refusing new calls with 503", "queue_wait", wait.Round(time.Millisecond),
			"average_wait", s.avg.Round(time.Millisecond), "limit", s.delay,
			"run_queue_p90", s.rqWait.Round(100*time.Microsecond), "run_queue_limit", runQueueLimit, "refused_so_far", n)
	}
	return true
}

// answer sends the 503 for an INVITE; its To tag is derived from the
// branch, the same for every retransmission.
func (s *shedder) answer(g *guardConn, data []byte, from net.Addr, branch string) {
	h := fnv.New64a()
	h.Write([]byte(branch))
	rej := reject(503, "Service Unavailable", sip.NewHeader("Retry-After", "1"))
	rej.ToTag = fmt.Sprintf("shed%x", h.Sum64())
	if res := statelessResponse(data, rej); res != nil {
		_, _ = g.PacketConn.WriteTo(res, from)
	}
}

func (s *shedder) remember(key string, now time.Time) {
	if len(s.refused) < shedMaxRemembered {
		s.refused[key] = now
	}
}

// sweep forgets the INVITEs refused longer ago than shedRemember; once
// none is left, datagrams go past the shedder unread again.
func (s *shedder) sweep(now time.Time) {
	s.swept = now
	for k, at := range s.refused {
		if now.Sub(at) > shedRemember {
			delete(s.refused, k)
		}
	}
}

// inviteKeys returns the branch of the top Via and whether To has a tag,
// reading the header lines of an INVITE or ACK datagram in place. It runs
// for every INVITE and ACK while shedding, so it does not copy lines as
// headerFields (validate.go) does; a folded Via or To only makes it miss,
// and the datagram then takes the normal path.
func inviteKeys(data []byte) (branch string, toTag bool) {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	first := true
	for line := range bytes.SplitSeq(head, []byte("\n")) {
		if first {
			first = false
			continue
		}
		name, val, ok := bytes.Cut(bytes.TrimRight(line, "\r"), []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "via", "v":
			if branch != "" {
				continue
			}
			v, _, _ := bytes.Cut(val, []byte(",")) // the top value only
			if _, b, ok := bytes.Cut(v, []byte("branch=")); ok {
				if end := bytes.IndexAny(b, "; \t,"); end >= 0 {
					b = b[:end]
				}
				branch = string(b)
			}
		case "to", "t":
			toTag = bytes.Contains(val, []byte(";tag=")) || bytes.Contains(val, []byte("; tag="))
		}
	}
	return branch, toTag
}

// Shed is how many new INVITEs load shedding refused with 503
// (Config.OverloadDelay).
func (p *Phone) Shed() int64 {
	p.mu.Lock()
	g := p.guard
	p.mu.Unlock()
	if g == nil || g.shed == nil {
		return 0
	}
	return g.shed.count.Load()
}
