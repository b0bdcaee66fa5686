package sipguard

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
// answered waited behind it, timed out and came again. The Shedder sits
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
// once and the backlog waits in the Go run queue instead (measured at 4,500
// calls/s offered: socket queue wait 1–20 ms while calls piled up). So the
// Shedder also times one new INVITE per probeEvery from the kernel's
// receive to our request handler (the probe: it passes even while
// shedding, so that it can see the backlog drain); while INVITEs arrive at
// busyRate or more and the last probe took longer than ageLimit, new
// INVITEs are refused the same way.

// shedRemember is how long a refused INVITE's branch is remembered, so its
// retransmissions and ACK get the same treatment: 64×T1 (Timer H, 32 s).
const shedRemember = 32 * time.Second

// shedMaxRemembered bounds that memory; past it a retransmission of a
// refused INVITE may reach sipgo (and is served or refused anew).
const shedMaxRemembered = 100_000

// ageDivisor sets how long the timed INVITE may take to reach the handler:
// a sixth of the socket-queue limit (50 ms at the endpoint's 300 ms). The
// socket-queue limit is the last moment before UACs retransmit (T1); the
// backlog behind sipgo's goroutines must be caught earlier, while it is
// still short. Measured with sipp's UAC in 30 s steps: with the limit
// itself, 300 ms, the Shedder fired too late and the step past the
// ceiling collapsed (1,334 calls/s completed at 3,645 offered, 983
// retransmissions, 10.9 GB RSS). With 50 ms a ramp from 2,916 kept 2,916
// clean and completed 3,517 at 3,645 (3,361 refused, 0 retransmissions),
// and a fresh endpoint offered 4,500 completed 4,021 a second; a ramp
// from 1,866, on a larger heap by then, refused 1,047 of 87,480 at 2,916.
const ageDivisor = 6

// busyRate gates that signal: it counts only while at least this many
// INVITEs a second arrive (over the last probeEvery). An overload the
// socket queue misses needs a busy endpoint (thousands of calls a second
// on the 2-vCPU bench machine); below the gate a machine busy with other
// work (a CI run, the TUI's own rendering) cannot make a lightly loaded
// endpoint refuse calls because one INVITE was scheduled late.
const busyRate = 200

// probeEvery is how often a new INVITE is timed; probeLost is when a probe
// that never reached the handler (a retransmission sipgo absorbed, a
// request answered earlier) is given up for a new one.
const (
	probeEvery = 100 * time.Millisecond
	probeLost  = time.Second
)

type Shedder struct {
	conn     *net.UDPConn
	delay    time.Duration
	ageLimit time.Duration // for the timed INVITE: delay / ageDivisor
	log      *slog.Logger
	oob      []byte

	// Owned by the socket's one reader (sipgo's read loop).
	rx      time.Time     // kernel receive time of the last datagram read
	avg     time.Duration // moving average of the queue wait, weight 1/8
	refused map[string]time.Time
	swept   time.Time
	logged  time.Time

	count atomic.Int64 // INVITEs refused with 503

	// Also the reader's: when the last probe started and what the last
	// one that arrived measured.
	probed time.Time
	age    time.Duration
	// INVITEs counted since window began, and whether the last window
	// had busyRate of them.
	invites int
	window  time.Time
	busy    bool

	probe atomic.Pointer[inviteProbe] // read by the request handler (arrived)
}

// inviteProbe is one new INVITE being timed from the kernel to the handler.
type inviteProbe struct {
	branch string
	rx     time.Time
	at     atomic.Int64 // when it reached the handler (Unix ns); 0 until then
}

func NewShedder(u *net.UDPConn, delay time.Duration, log *slog.Logger) (*Shedder, error) {
	if err := enableRxTimestamps(u); err != nil {
		return nil, err
	}
	return &Shedder{conn: u, delay: delay, ageLimit: delay / ageDivisor, log: log, oob: make([]byte, 128),
		refused: map[string]time.Time{}}, nil
}

// read reads one datagram and notes when the kernel received it.
func (s *Shedder) read(b []byte) (int, net.Addr, error) {
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
func (s *Shedder) refuse(g *Conn, data []byte, from net.Addr) bool {
	now := time.Now()
	var wait time.Duration
	if !s.rx.IsZero() {
		wait = max(now.Sub(s.rx), 0)
	}
	s.avg += (wait - s.avg) / 8
	pr := s.probe.Load()
	if pr != nil {
		if at := pr.at.Load(); at != 0 {
			s.age = time.Duration(at - pr.rx.UnixNano())
		}
	}
	invite := bytes.HasPrefix(data, []byte("INVITE "))
	if invite {
		s.invites++
	}
	if d := now.Sub(s.window); d >= probeEvery {
		s.busy = float64(s.invites) >= busyRate*d.Seconds()
		s.invites, s.window = 0, now
	}
	overloaded := (wait > s.delay && s.avg > s.delay) || (s.busy && s.age > s.ageLimit)
	if len(s.refused) > 0 && now.Sub(s.swept) >= time.Second {
		s.sweep(now)
	}
	probeDue := now.Sub(s.probed) >= probeEvery &&
		(pr == nil || pr.at.Load() != 0 || now.Sub(pr.rx) > probeLost)
	if !overloaded && !probeDue && len(s.refused) == 0 {
		return false // the common case: nothing to look at
	}
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
	if !invite || toTag || !wellFormed(data) {
		return false // odd requests take the guard's full check (validate.go)
	}
	if probeDue {
		rx := s.rx
		if rx.IsZero() {
			rx = now
		}
		s.probed = now
		s.probe.Store(&inviteProbe{branch: branch, rx: rx})
		return false // timed, and let through even while shedding
	}
	if !overloaded {
		return false
	}
	s.answer(g, data, from, branch)
	s.remember(key, now)
	n := s.count.Add(1)
	if now.Sub(s.logged) >= 5*time.Second {
		s.logged = now
		s.log.Warn("overloaded: refusing new calls with 503", "queue_wait", wait.Round(time.Millisecond),
			"average_wait", s.avg.Round(time.Millisecond), "limit", s.delay,
			"invite_to_handler", s.age.Round(time.Millisecond), "refused_so_far", n)
	}
	return true
}

// arrived notes that req reached the request handler: if it is the INVITE
// being timed, its time from the kernel to here is the backlog the next
// new INVITEs would wait behind. Any goroutine.
func (s *Shedder) Arrived(req *sip.Request) {
	pr := s.probe.Load()
	if pr == nil || pr.at.Load() != 0 {
		return
	}
	if v := req.Via(); v != nil {
		if b, _ := v.Params.Get("branch"); b == pr.branch {
			pr.at.CompareAndSwap(0, time.Now().UnixNano())
		}
	}
}

// answer sends the 503 for an INVITE; its To tag is derived from the
// branch, the same for every retransmission.
func (s *Shedder) answer(g *Conn, data []byte, from net.Addr, branch string) {
	h := fnv.New64a()
	h.Write([]byte(branch))
	rej := reject(503, "Service Unavailable", sip.NewHeader("Retry-After", "1"))
	rej.ToTag = fmt.Sprintf("shed%x", h.Sum64())
	if res := statelessResponse(data, rej); res != nil {
		_, _ = g.PacketConn.WriteTo(res, from)
	}
}

func (s *Shedder) remember(key string, now time.Time) {
	if len(s.refused) < shedMaxRemembered {
		s.refused[key] = now
	}
}

// sweep forgets the INVITEs refused longer ago than shedRemember; once
// none is left, datagrams go past the Shedder unread again.
func (s *Shedder) sweep(now time.Time) {
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

// Refused is how many new INVITEs s refused with 503.
func (s *Shedder) Refused() int64 { return s.count.Load() }

// ProbeReached reports whether the INVITE being timed is the one with this
// Via branch and has reached the request handler (Arrived), and how long it
// took from the kernel to the handler. For tests and diagnostics.
func (s *Shedder) ProbeReached(branch string) (time.Duration, bool) {
	pr := s.probe.Load()
	if pr == nil || pr.branch != branch {
		return 0, false
	}
	at := pr.at.Load()
	if at == 0 {
		return 0, false
	}
	return time.Duration(at - pr.rx.UnixNano()), true
}
