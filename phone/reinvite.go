package phone

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

var (
	// errGlareStopped: the re-INVITE was abandoned during its 491 back-off.
	errGlareStopped = errors.New("phone: re-INVITE abandoned during 491 back-off")
	// errGlareNoDialog: a 491 came back on a call without a dialog.
	errGlareNoDialog = errors.New("phone: no dialog to resend the re-INVITE in")
)

// midcall is one call's mid-call control state: hold, transfer, conference.
// Fields are guarded by call.mu except reinvite, which is held across the
// network exchange it serialises.
type midcall struct {
	// reinvite serialises our own re-INVITEs and REFERs on the dialog
	// (Hold, Resume, Toggle, transfer): RFC 3261 §14.1 forbids a second
	// INVITE transaction while one is pending, and diago's re-INVITE path
	// races with itself (LIBRARIES §3 rows 7 and 8). A 491 from a peer
	// whose own re-INVITE crossed ours is retried with the §14.1 back-off
	// by glareTx below, never by diago.
	reinvite sync.Mutex

	// initialHold: the INVITE offered a held SDP (DialOptions.Hold).
	initialHold bool
	// triedHold lists dialects a peer refused with 488.
	triedHold []HoldDialect
	// onAnswered runs once the call is active (calls placed for a REFER
	// end the referring leg then).
	onAnswered func()
	// referrer is the leg whose REFER placed this call: its 2xx marks that
	// leg transferred at once, before diago's NOTIFY 200 lets the referrer
	// send its BYE (RFC 5589 §6), so the BYE cannot end it as a hang-up.
	referrer *call
	// referAnswer receives the user's decision on a REFER under
	// TransferAsk (AcceptRefer / RejectRefer).
	referAnswer chan bool
	// transfer is the REFER we sent and are waiting on, nil otherwise.
	transfer *transferState
	// replacedAt: an attended transfer's REFER for this consultation call
	// is out; its target's BYE (RFC 3891 §3, after it took our Replaces)
	// ends this call as transferred, even before the final NOTIFY.
	replacedAt string
	// conf links this call's media with another one (conference.go).
	conf *confLink
	// tePT is the peer's telephone-event payload type when it is not
	// diago's 101 (dtmf.go); 0 otherwise.
	tePT int

	// offers serialises the peer's in-dialog INVITEs, UPDATEs and ACKs
	// while diago handles them (lockOffers).
	offers sync.Mutex
	// offerOut is true while our re-INVITE waits for its final response:
	// a re-INVITE from the peer then gets 491 (RFC 3261 §14.2).
	offerOut bool
	// offerApplying is non-nil from the 2xx to our re-INVITE until diago
	// applied its answer (Hold/Unhold returned); a re-INVITE from the
	// peer waits for it to close (see answerGlare).
	offerApplying chan struct{}
	// heard is true once the peer's UA answered our current re-INVITE
	// with more than a 100 Trying (a 491 and its back-off, a 18x): it is
	// there and negotiating, not silent (transfer.go waitHold).
	heard bool
	// ackCSeq is the CSeq number of our latest re-INVITE: the ACK of its
	// 2xx carries it (RFC 3261 §13.2.2.4) even when a REFER went out
	// while it was pending (fixAckCSeq).
	ackCSeq uint32
	// peerUnacked is non-nil from our 2xx to the peer's re-INVITE until
	// diago handled its ACK: that INVITE transaction is still in progress
	// (RFC 6026 "Accepted"), so our own re-INVITE waits for it to close.
	peerUnacked chan struct{}
}

// peerAckWait bounds how long our re-INVITE waits for the ACK of the
// peer's: a peer that never ACKs loses the dialog anyway (RFC 3261
// §13.3.1.4), and the user's hold should not hang on it.
const peerAckWait = 4 * time.Second

// peerOfferAccepted notes that res, a response we send to req, accepted
// the peer's re-INVITE: its ACK is now due.
func (p *Phone) peerOfferAccepted(req *sip.Request, res *sip.Response) {
	if !isReInvite(req) || res.StatusCode < 200 || res.StatusCode > 299 {
		return
	}
	if c := p.callFor(req); c != nil {
		c.mu.Lock()
		if c.mc.peerUnacked == nil {
			c.mc.peerUnacked = make(chan struct{})
		}
		c.mu.Unlock()
	}
}

// peerOfferAcked runs once diago handled an in-dialog ACK from the peer.
func (p *Phone) peerOfferAcked(req *sip.Request) {
	if req.To() == nil || !req.To().Params.Has("tag") {
		return
	}
	if c := p.callFor(req); c != nil {
		c.mu.Lock()
		if c.mc.peerUnacked != nil {
			close(c.mc.peerUnacked)
			c.mc.peerUnacked = nil
		}
		c.mu.Unlock()
	}
}

// waitPeerAck holds our re-INVITE while the peer's accepted re-INVITE
// waits for its ACK (RFC 3261 §14.1: no new INVITE transaction while one
// is in progress in either direction). diago would otherwise apply the
// answer to ours while it handles that ACK (LIBRARIES §2.7).
func (c *call) waitPeerAck(ctx context.Context) {
	c.mu.Lock()
	ch := c.mc.peerUnacked
	c.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(peerAckWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
	case <-t.C:
		c.log.Debug("re-invite: no ACK from the peer, sending anyway", "call_id", c.id)
	case <-c.gone:
	}
}

// Re-INVITE glare, RFC 3261 §14.
//
// diago v0.31.0 never detects crossing re-INVITEs: a client session answers
// every re-INVITE, a server session answers 491 only before the first ACK.
// Its Hold/Unhold fork the media session *before* sending the offer and
// install that fork when the answer arrives, so when the peer's offer is
// answered in between, the answer comes from a local mode that is about to
// be replaced, and the fork installed afterwards discards what was agreed
// with the peer. Held and resumed from both ends at once, one side then
// ended in recvonly or sendonly (negotiateMediaDirection against a stale
// Mode) although neither held any more: audio stopped one way while every
// hold flag read false. We therefore:
//   - answer 491 to a peer's re-INVITE while ours is in progress (§14.2);
//   - hold a peer's re-INVITE that arrives between the 2xx to ours and the
//     moment diago applied that answer until it is applied;
//   - resend our own re-INVITE after a 491 ourselves, with the §14.1 back-off
//     (diago would wait 2-4 s on both ends; the non-owner of the Call-ID
//     must wait 0-2 s so the two retries do not cross again).

// glareRetryKey marks the context of a re-INVITE we resend after a 491: the
// request hook sends it as is (it was fixed the first time).
type glareRetryKey struct{}

func isGlareRetry(ctx context.Context) bool { return ctx.Value(glareRetryKey{}) != nil }

// isReInvite reports whether req is an INVITE inside a dialog.
func isReInvite(req *sip.Request) bool {
	return req.IsInvite() && req.To() != nil && req.To().Params.Has("tag")
}

// glareBackoff is how long to wait after a 491 before resending a re-INVITE
// (RFC 3261 §14.1): 2.1-4 s for the owner of the Call-ID (we generated it:
// we placed the call), 0-2 s otherwise, in units of 10 ms.
func glareBackoff(owner bool) time.Duration {
	if owner {
		return time.Duration(210+rand.IntN(191)) * 10 * time.Millisecond
	}
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// sendReInvite sends one of our re-INVITEs for the request hook: it marks
// the offer as in progress and returns a transaction that hides 491s from
// diago and resends the request after the back-off.
func (p *Phone) sendReInvite(ctx context.Context, req *sip.Request, send func(context.Context, *sip.Request) (sip.ClientTransaction, error)) (sip.ClientTransaction, error) {
	c := p.callFor(req)
	if c == nil {
		return send(ctx, req)
	}
	c.waitPeerAck(ctx)
	c.mu.Lock()
	c.mc.heard = false
	c.mu.Unlock()
	c.setOffer(offerSent)
	start := time.Now()
	tx, err := send(ctx, req)
	if err != nil {
		c.setOffer(offerFailed)
		p.reportOutcome(req, RequestOutcome{Method: "re-INVITE", Peer: peerOf(req), Outcome: OutcomeTransportError, Reason: err.Error(), After: time.Since(start)})
		return nil, err
	}
	c.noteReInviteCSeq(req)
	g := &glareTx{
		p: p, c: c, req: req, tx: tx,
		res:  make(chan *sip.Response),
		done: make(chan struct{}),
		stop: make(chan struct{}),
	}
	// pump is owned by g: it ends with the final response, the end of the
	// transaction, Terminate (sipgo's Dialog.Do defers it) or the phone's end.
	p.wg.Go(func() { g.pump(ctx) })
	return g, nil
}

type offerEvent int

const (
	offerSent     offerEvent = iota // our re-INVITE left
	offerFailed                     // it got a final non-2xx or no answer
	offerPending                    // it got 491: backing off
	offerAnswered                   // it got a 2xx: diago applies the answer
	offerSettled                    // Hold/Unhold returned
)

// setOffer records the progress of our re-INVITE.
func (c *call) setOffer(ev offerEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev {
	case offerSent:
		c.mc.offerOut = true
	case offerFailed, offerPending:
		c.mc.offerOut = false
	case offerAnswered:
		c.mc.offerOut = false
		if c.mc.offerApplying == nil {
			c.mc.offerApplying = make(chan struct{})
		}
	case offerSettled:
		c.mc.offerOut = false
		if c.mc.offerApplying != nil {
			close(c.mc.offerApplying)
			c.mc.offerApplying = nil
		}
	}
}

// answerGlare decides on a re-INVITE from the peer before diago sees it:
// 491 while our own re-INVITE is in progress (RFC 3261 §14.2), a short wait
// while diago applies the answer to ours. It returns false when it answered.
func (p *Phone) answerGlare(c *call, req *sip.Request, tx sip.ServerTransaction) bool {
	c.mu.Lock()
	out, applying := c.mc.offerOut, c.mc.offerApplying
	c.mu.Unlock()
	if out {
		p.log.Debug("re-invite glare", "call_id", c.id)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusRequestPending, "Request Pending", nil))
		return false
	}
	if applying != nil {
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case <-applying:
		case <-t.C:
		}
	}
	return true
}

// glareTx is the client transaction diago sees for one of our re-INVITEs.
// Responses of the current underlying transaction are passed on, except a
// 491: then it waits glareBackoff and resends the request in the dialog (a
// new transaction, the next CSeq), so diago only ever sees the final answer.
type glareTx struct {
	p   *Phone
	c   *call
	req *sip.Request

	mu sync.Mutex
	tx sip.ClientTransaction // current underlying transaction

	res      chan *sip.Response
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	err      error // set before done closes
}

func (g *glareTx) current() sip.ClientTransaction {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tx
}

func (g *glareTx) Responses() <-chan *sip.Response { return g.res }
func (g *glareTx) Done() <-chan struct{}           { return g.done }

func (g *glareTx) Err() error {
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

func (g *glareTx) Terminate() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.current().Terminate()
}

func (g *glareTx) OnTerminate(f sip.FnTxTerminate) bool { return g.current().OnTerminate(f) }

func (g *glareTx) OnRetransmission(f sip.FnTxResponse) bool {
	return g.current().OnRetransmission(f)
}

func (g *glareTx) finish(err error) {
	g.err = err
	close(g.done)
}

func (g *glareTx) pump(ctx context.Context) {
	tx := g.current()
	// A peer that vanished never answers: give the re-INVITE up as a
	// transport error at once instead of after Timer B (inflight.go).
	watchStop := make(chan struct{})
	defer close(watchStop)
	peer, start := peerOf(g.req), time.Now()
	gone := g.p.watchVanish(g.req, peer, watchStop)
	report := func(o RequestOutcome) {
		o.CallID, o.Method, o.Peer, o.After = g.c.id, "re-INVITE", peer, time.Since(start)
		g.p.reportOutcome(g.req, o)
	}
	for {
		select {
		case <-gone:
			g.c.setOffer(offerFailed)
			tx.Terminate()
			report(RequestOutcome{Outcome: OutcomeTransportError, Reason: "peer unreachable"})
			g.finish(errPeerVanished)
			return
		case r := <-tx.Responses():
			if r.StatusCode == sip.StatusRequestPending || (r.StatusCode > 100 && r.StatusCode < 200) {
				g.c.mu.Lock()
				g.c.mc.heard = true // not a 100: the transaction layer sends it for a hung UA too
				g.c.mu.Unlock()
			}
			switch {
			case r.StatusCode == sip.StatusRequestPending:
				g.c.setOffer(offerPending)
				next, err := g.resend(ctx)
				if err != nil {
					g.finish(err)
					return
				}
				tx.Terminate()
				g.mu.Lock()
				g.tx = next
				g.mu.Unlock()
				tx = next
				continue
			case r.StatusCode >= 300:
				g.c.setOffer(offerFailed)
			case r.StatusCode >= 200:
				g.p.srtpAnswerReceived(g.c, r) // srtp.go
				g.c.setOffer(offerAnswered)
			}
			if r.StatusCode >= 200 {
				report(RequestOutcome{Outcome: OutcomeAnswered, Code: int(r.StatusCode), Reason: r.Reason})
			}
			select {
			case g.res <- r:
			case <-g.stop:
				g.c.setOffer(offerFailed)
				g.finish(nil)
				return
			}
			if r.StatusCode >= 200 {
				g.finish(nil)
				return
			}
		case <-tx.Done():
			g.c.setOffer(offerFailed)
			report(outcomeOf(tx.Err()))
			g.finish(tx.Err())
			return
		case <-g.stop:
			g.c.setOffer(offerFailed)
			g.finish(nil)
			return
		}
	}
}

// resend waits the §14.1 back-off and sends the re-INVITE again through the
// call's dialog, which gives it a new Via branch and the next CSeq (the ACK
// diago sends for its 2xx takes that CSeq from the dialog).
func (g *glareTx) resend(ctx context.Context) (sip.ClientTransaction, error) {
	c := g.c
	c.mu.Lock()
	owner := c.info.Direction == Outgoing
	dlg := c.dialog
	c.mu.Unlock()
	t := time.NewTimer(glareBackoff(owner))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.stop:
		return nil, errGlareStopped
	case <-g.p.ctx.Done():
		return nil, ErrClosed
	}
	r := g.req.Clone()
	r.RemoveHeader("Via")
	r.RemoveHeader("Route")
	rctx := context.WithValue(ctx, glareRetryKey{}, true)
	c.setOffer(offerSent)
	var (
		tx  sip.ClientTransaction
		err error
	)
	switch d := dlg.(type) {
	case *diago.DialogClientSession:
		tx, err = d.DialogClientSession.TransactionRequest(rctx, r)
	case *diago.DialogServerSession:
		tx, err = d.DialogServerSession.TransactionRequest(rctx, r)
	default:
		err = errGlareNoDialog
	}
	if err != nil {
		c.setOffer(offerFailed)
		return nil, fmt.Errorf("resend re-INVITE after 491: %w", err)
	}
	c.noteReInviteCSeq(r)
	return tx, nil
}

// offerHeard reports whether the peer's UA answered our current
// re-INVITE with more than a 100 Trying.
func (c *call) offerHeard() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mc.heard
}

// noteReInviteCSeq records the CSeq of a re-INVITE of ours (ackCSeq).
func (c *call) noteReInviteCSeq(req *sip.Request) {
	if h := req.CSeq(); h != nil {
		c.mu.Lock()
		c.mc.ackCSeq = h.SeqNo
		c.mu.Unlock()
	}
}

// fixAckCSeq gives the ACK of a 2xx to our re-INVITE that re-INVITE's
// CSeq number. sipgo numbers an ACK with the dialog's last CSeq, which is a
// REFER's when the transfer sent one while its hold re-INVITE was pending
// (transfer.go transferHold): the peer would not match that ACK to its 2xx
// and end the dialog (RFC 3261 §13.2.2.4, §13.3.1.4).
func (p *Phone) fixAckCSeq(req *sip.Request) {
	if !req.IsAck() || req.To() == nil || !req.To().Params.Has("tag") {
		return
	}
	c := p.callFor(req)
	h := req.CSeq()
	if c == nil || h == nil {
		return
	}
	c.mu.Lock()
	want := c.mc.ackCSeq
	c.mu.Unlock()
	if want != 0 && h.SeqNo > want {
		c.log.Debug("ack: cseq of the re-invite", "call_id", c.id, "had", h.SeqNo, "cseq", want)
		h.SeqNo = want
	}
}

// lockOffers serialises diago's handling of one call's in-dialog INVITE,
// UPDATE and ACK and returns the unlock. diago reads the dialog's media
// session without its lock when it handles the ACK of a re-INVITE
// (handleReInviteACK) while the next re-INVITE replaces it (a data race,
// LIBRARIES §2.7); with one message at a time per call they cannot overlap.
func (p *Phone) lockOffers(req *sip.Request) func() {
	if !(req.IsInvite() || req.IsAck() || req.Method == sip.UPDATE) || req.To() == nil || !req.To().Params.Has("tag") {
		return func() {}
	}
	c := p.callFor(req)
	if c == nil {
		return func() {}
	}
	c.mc.offers.Lock()
	return c.mc.offers.Unlock
}
