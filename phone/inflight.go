package phone

// Every request we send is fire-and-track (issue 17): it is started, and
// what becomes of it is followed in the background and reported, never
// awaited on the path that changes a call's state or serves the user.
// The request hook (middleware.go) passes every non-INVITE request through
// trackRequest, which
//   - bounds the requests awaiting an answer from one peer (host:port) at
//     Config.MaxInFlightPerPeer: beyond it a new one fails at once with
//     ErrTooManyInFlight instead of piling up goroutines and timers;
//   - reports the outcome (answered with a code, timed out, transport
//     error, not sent, given up) as a RequestOutcome event and, unless it
//     is an answer, as an entry in the call's ladder ("BYE: timed out after
//     32 s");
//   - notices a peer that vanished: while a request is unanswered the peer
//     is probed (watchVanish); a closed UDP port answers with ICMP port
//     unreachable, a closed TCP port refuses the connection, and the
//     request ends as a transport error within about a second instead of
//     waiting for Timer F. RFC 3261 §8.1.3.1 treats a transport error like
//     a 503 and §12.2.1.2 ends a dialog whose request got no response.
// INVITEs (calls and re-INVITEs) are bounded by the calls themselves
// (MaxCalls, one re-INVITE per call at a time); re-INVITEs use the same
// probe (reinvite.go).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
)

// defaultMaxInFlightPerPeer is Config.MaxInFlightPerPeer's default.
const defaultMaxInFlightPerPeer = 32

// OutcomeKind says how a request we sent ended.
type OutcomeKind int

const (
	// OutcomeUnknown is the zero value.
	OutcomeUnknown OutcomeKind = iota
	// OutcomeAnswered: a final response came (RequestOutcome.Code).
	OutcomeAnswered
	// OutcomeTimedOut: no final response before Timer B/F.
	OutcomeTimedOut
	// OutcomeTransportError: the request could not be sent, or the peer
	// vanished (ICMP port unreachable, connection refused or reset).
	OutcomeTransportError
	// OutcomeNotSent: too many requests to the peer were in flight.
	OutcomeNotSent
	// OutcomeGivenUp: we stopped waiting (our own deadline or shutdown).
	OutcomeGivenUp
)

// String names the outcome for logs and the wire.
func (k OutcomeKind) String() string {
	switch k {
	case OutcomeUnknown:
		return "unknown"
	case OutcomeAnswered:
		return "answered"
	case OutcomeTimedOut:
		return "timed_out"
	case OutcomeTransportError:
		return "transport_error"
	case OutcomeNotSent:
		return "not_sent"
	case OutcomeGivenUp:
		return "given_up"
	default:
		return fmt.Sprintf("OutcomeKind(%d)", int(k))
	}
}

// MarshalText writes String.
func (k OutcomeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// RequestOutcome reports how a request we sent ended. CallID is empty for
// requests outside a call (REGISTER, OPTIONS, SUBSCRIBE). It is emitted for
// every request of a call and for the failures of the others.
type RequestOutcome struct {
	CallID  CallID
	Method  string
	Peer    string // host:port the request went to
	Outcome OutcomeKind
	Code    int    // the final status with OutcomeAnswered
	Reason  string // its reason phrase, or what went wrong
	After   time.Duration
}

func (RequestOutcome) phoneEvent() {}

// String is the ladder and status-line text: "BYE: timed out after 32 s".
func (o RequestOutcome) String() string {
	after := fmtAfter(o.After)
	switch o.Outcome {
	case OutcomeAnswered:
		return fmt.Sprintf("%s: %d %s after %s", o.Method, o.Code, o.Reason, after)
	case OutcomeTimedOut:
		return fmt.Sprintf("%s: timed out after %s", o.Method, after)
	case OutcomeTransportError:
		return fmt.Sprintf("%s: transport error after %s (%s)", o.Method, after, o.Reason)
	case OutcomeNotSent:
		return fmt.Sprintf("%s: not sent (%s)", o.Method, o.Reason)
	case OutcomeGivenUp:
		return fmt.Sprintf("%s: given up after %s (%s)", o.Method, after, o.Reason)
	default:
		return fmt.Sprintf("%s: %s", o.Method, o.Outcome)
	}
}

func fmtAfter(d time.Duration) string {
	if d >= 10*time.Second {
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// errPeerVanished ends a request whose peer is gone (watchVanish).
var errPeerVanished = fmt.Errorf("peer unreachable: %w", sip.ErrTransactionTransport)

// peerLimit counts the requests awaiting an answer per peer.
type peerLimit struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes a slot for peer; false when max are taken.
func (l *peerLimit) acquire(peer string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	if l.n[peer] >= max {
		return false
	}
	l.n[peer]++
	return true
}

func (l *peerLimit) release(peer string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[peer] <= 1 {
		delete(l.n, peer)
		return
	}
	l.n[peer]--
}

// inFlight is the number of requests awaiting an answer from peer.
func (l *peerLimit) inFlight(peer string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[peer]
}

// InFlight reports how many of our requests to peer (host:port) await an
// answer.
func (p *Phone) InFlight(peer string) int { return p.peers.inFlight(peer) }

func (p *Phone) maxInFlight() int {
	if p.cfg.MaxInFlightPerPeer > 0 {
		return p.cfg.MaxInFlightPerPeer
	}
	return defaultMaxInFlightPerPeer
}

// peerOf is the host:port req goes to.
func peerOf(req *sip.Request) string {
	dest := req.Destination()
	if _, _, err := net.SplitHostPort(dest); err == nil {
		return dest
	}
	port := "5060"
	if strings.EqualFold(req.Transport(), "tls") {
		port = "5061"
	}
	return net.JoinHostPort(strings.Trim(dest, "[]"), port)
}

// trackRequest sends a non-INVITE request through send and returns a
// transaction that reports its outcome (see the file comment).
func (p *Phone) trackRequest(ctx context.Context, req *sip.Request, send func(context.Context, *sip.Request) (sip.ClientTransaction, error)) (sip.ClientTransaction, error) {
	peer := peerOf(req)
	if !p.peers.acquire(peer, p.maxInFlight()) {
		err := fmt.Errorf("%s to %s: %w", req.Method, peer, ErrTooManyInFlight)
		p.reportOutcome(req, RequestOutcome{Method: req.Method.String(), Peer: peer, Outcome: OutcomeNotSent,
			Reason: fmt.Sprintf("%d requests in flight to %s", p.maxInFlight(), peer)})
		return nil, err
	}
	start := time.Now()
	var callID CallID // the call's now: it may be gone by the outcome
	if c := p.callBySIP(callIDOf(req)); c != nil {
		callID = c.id
	}
	tx, err := send(ctx, req)
	if err != nil {
		p.peers.release(peer)
		p.reportOutcome(req, RequestOutcome{CallID: callID, Method: req.Method.String(), Peer: peer, Outcome: OutcomeTransportError,
			Reason: err.Error(), After: time.Since(start)})
		return nil, err
	}
	t := &trackedTx{
		ClientTransaction: tx,
		p:                 p, req: req, peer: peer, start: start, callID: callID,
		res:  make(chan *sip.Response),
		done: make(chan struct{}),
		stop: make(chan struct{}),
	}
	p.reqs.track(t.pump)
	return t, nil
}

// trackedTx is the client transaction callers see for a tracked request:
// it passes the responses on, and ends (Done, Err) only after it passed the
// final one, as sipgo's does.
type trackedTx struct {
	sip.ClientTransaction
	p      *Phone
	req    *sip.Request
	peer   string
	start  time.Time
	callID CallID

	res      chan *sip.Response
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	err      error // set before done closes
}

func (t *trackedTx) Responses() <-chan *sip.Response { return t.res }
func (t *trackedTx) Done() <-chan struct{}           { return t.done }

func (t *trackedTx) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Terminate ends the transaction; the caller no longer reads responses.
func (t *trackedTx) Terminate() {
	t.stopOnce.Do(func() { close(t.stop) })
	t.ClientTransaction.Terminate()
}

// pump is owned by p.reqs (joined by Close): it ends with the caller's
// Terminate, the end of the transaction, a vanished peer or the phone.
func (t *trackedTx) pump(ctx context.Context) {
	inner := t.ClientTransaction
	answered := false
	released := false
	release := func() {
		if !released {
			released = true
			t.p.peers.release(t.peer)
		}
	}
	defer release()
	defer close(t.done)
	watchStop := make(chan struct{})
	defer close(watchStop)
	gone := t.p.watchVanish(t.req, t.peer, watchStop)
	report := func(o RequestOutcome) {
		o.CallID, o.Method, o.Peer, o.After = t.callID, t.req.Method.String(), t.peer, time.Since(t.start)
		t.p.reportOutcome(t.req, o)
	}
	for {
		select {
		case r := <-inner.Responses():
			if r.StatusCode >= 200 && !answered {
				answered = true
				release()
				gone = nil
				report(RequestOutcome{Outcome: OutcomeAnswered, Code: int(r.StatusCode), Reason: r.Reason})
			}
			select {
			case t.res <- r:
			case <-t.stop:
				t.err = sip.ErrTransactionCanceled
				return
			case <-ctx.Done(): // a caller that stopped reading must not hold Close
				inner.Terminate()
				t.err = sip.ErrTransactionCanceled
				return
			}
		case <-inner.Done():
			t.err = inner.Err()
			if !answered {
				report(outcomeOf(t.err))
			}
			return
		case <-gone:
			inner.Terminate()
			t.err = errPeerVanished
			report(RequestOutcome{Outcome: OutcomeTransportError, Reason: "peer unreachable"})
			return
		case <-t.stop:
			t.err = sip.ErrTransactionCanceled
			if !answered {
				report(RequestOutcome{Outcome: OutcomeGivenUp, Reason: "no answer yet"})
			}
			return
		case <-ctx.Done():
			inner.Terminate()
			t.err = sip.ErrTransactionCanceled
			if !answered {
				report(RequestOutcome{Outcome: OutcomeGivenUp, Reason: "shutdown"})
			}
			return
		}
	}
}

// outcomeOf classifies the error a transaction ended with.
func outcomeOf(err error) RequestOutcome {
	switch {
	case errors.Is(err, sip.ErrTransactionTimeout):
		return RequestOutcome{Outcome: OutcomeTimedOut, Reason: "no answer"}
	case errors.Is(err, sip.ErrTransactionTransport):
		return RequestOutcome{Outcome: OutcomeTransportError, Reason: err.Error()}
	case err == nil:
		return RequestOutcome{Outcome: OutcomeGivenUp, Reason: "transaction ended"}
	default:
		return RequestOutcome{Outcome: OutcomeGivenUp, Reason: err.Error()}
	}
}

// reportOutcome logs o, records it in the ladder of req's dialog unless it
// is an answer (the response is there already) and emits it for requests
// of a call and for failures.
func (p *Phone) reportOutcome(req *sip.Request, o RequestOutcome) {
	sipID := callIDOf(req)
	if c := p.callBySIP(sipID); c != nil && o.CallID == "" {
		o.CallID = c.id
	}
	if o.Outcome == OutcomeAnswered {
		p.log.Debug("request outcome", "call_id", o.CallID, "method", o.Method, "peer", o.Peer, "code", o.Code)
	} else {
		p.log.Info("request outcome", "call_id", o.CallID, "method", o.Method, "peer", o.Peer, "outcome", o.Outcome.String(), "reason", o.Reason)
		if p.ladders != nil && sipID != "" {
			cseq := ""
			if h := req.CSeq(); h != nil {
				cseq = h.Value()
			}
			p.ladders.add(sipID, SIPMessage{Time: time.Now(), Sent: true, Remote: o.Peer, Summary: o.String(), CSeq: cseq, Raw: o.String(), Protocol: strings.ToLower(req.Transport())})
		}
	}
	if o.CallID != "" || o.Outcome != OutcomeAnswered || o.Code >= 300 {
		p.emit(o)
	}
}

// callBySIP is the call with SIP Call-ID id, nil if none.
func (p *Phone) callBySIP(id string) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bySIP[id]
}

// probeWait bounds one vanish probe.
const probeWait = 250 * time.Millisecond

// watchVanish probes peer while a request to it is unanswered: first after
// T1 (when a UDP request is first retransmitted), then at doubling
// intervals up to T2. The returned channel closes when the peer is gone;
// the watcher ends when stop closes. A nil channel: nothing to watch.
func (p *Phone) watchVanish(req *sip.Request, peer string, stop <-chan struct{}) <-chan struct{} {
	network := "udp"
	switch strings.ToLower(req.Transport()) {
	case "udp", "":
	case "tcp", "tls":
		network = "tcp"
	default:
		return nil
	}
	gone := make(chan struct{})
	p.reqs.track(func(ctx context.Context) {
		// Owned by p.reqs; ends with stop, the phone, or a vanished peer.
		wait := sip.T1
		for {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
			if peerVanished(network, peer, probeWait) {
				close(gone)
				return
			}
			wait = min(2*wait, sip.T2)
		}
	})
	return gone
}

// peerVanished reports whether nothing listens at peer any more: a UDP
// datagram (CRLFCRLF, which SIP stacks drop as a keep-alive) from a
// connected socket draws ICMP port unreachable, read back as
// ECONNREFUSED; a TCP connect is refused. A silent peer that is still
// there is not vanished.
func peerVanished(network, peer string, wait time.Duration) bool {
	d := net.Dialer{Timeout: wait}
	conn, err := d.Dial(network, peer)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	defer conn.Close()
	if network != "udp" {
		return false
	}
	_ = conn.SetDeadline(time.Now().Add(wait))
	if _, err := conn.Write([]byte("\r\n\r\n")); err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	var b [512]byte
	_, err = conn.Read(b[:])
	return errors.Is(err, syscall.ECONNREFUSED)
}

// inflight tracks background transactions owned by the Phone. Its zero
// value is ready; stop ends them. A transaction tracked once stop has
// begun is given up at once (the phone is going away).
type inflight struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup // Add only under mu and before stopped: never concurrent with stop's Wait
}

// context returns the context every tracked transaction runs under.
func (f *inflight) context() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contextLocked()
}

func (f *inflight) contextLocked() context.Context {
	if f.ctx == nil {
		f.ctx, f.cancel = context.WithCancel(context.Background())
	}
	return f.ctx
}

// track runs fn on a goroutine owned by f (joined by stop); once stop has
// begun, it runs fn at once with a cancelled context.
func (f *inflight) track(fn func(ctx context.Context)) {
	f.mu.Lock()
	ctx := f.contextLocked()
	if f.stopped {
		f.mu.Unlock()
		dead, cancel := context.WithCancel(ctx)
		cancel()
		fn(dead) // gives up at once
		return
	}
	f.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		fn(ctx)
	}()
}

// stop waits up to grace (bounded by ctx) for the tracked transactions,
// then cancels the rest and joins them.
func (f *inflight) stop(ctx context.Context, grace time.Duration) {
	f.mu.Lock()
	f.stopped = true
	f.contextLocked()
	cancel := f.cancel
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }() // ends once wg is done, which the cancel below guarantees
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	cancel()
	<-done
}
