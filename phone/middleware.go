package phone

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
	"github.com/anyphone/anyphone/phone/internal/sipguard"
)

// middleware runs before diago sees any incoming request (LIBRARIES §2.16a).
// It fences diago's defects:
//   - a panic anywhere in handling answers 500 instead of killing the process
//     (sipgo and diago have no recover: LIBRARIES §2.15 #6);
//   - SDP is normalised before diago's parser sees it (defects #1, #2), extra
//     m-lines are stripped and answered as rejected (#3), remote hold forms
//     gate our uplink (#4);
//   - unsupported extensions and bodies get 420 / 415 (RFC 3261 §8.2.2.3, §8.2.3);
//   - the Reason of a CANCEL is kept, to tell "answered elsewhere" (RFC 3326)
//     from a caller who gave up.
func (p *Phone) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if req.IsInvite() {
			if sh := p.shedding.Load(); sh != nil {
				sh.Arrived(req) // internal/sipguard: is this the INVITE being timed?
			}
		}
		rtx := &responseHook{ServerTransaction: tx, p: p, req: req}
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("request handler panic", "method", req.Method.String(), "call_id", callIDOf(req), "panic", r)
				if !rtx.responded.Load() && !req.IsAck() {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
				}
			}
		}()
		if p.answerInvalid(req, rtx) {
			return // validate.go
		}
		if req.Method == sip.INFO {
			p.handleInfo(req, rtx) // diago answers 406 to DTMF INFO (dtmf.go)
			return
		}
		if !p.sourceAllowed(req.Source()) || !p.inviteSourceAllowed(req) {
			p.refuseSource(req, rtx) // acl.go
			return
		}
		if req.IsInvite() && !p.checkInvite(req, rtx) {
			return
		}
		if req.IsInvite() {
			// RFC 3261 §17.2.1: 100 Trying at once, through the hook, so
			// the ladder times it when it is sent (LIBRARIES §3 #30).
			// sipgo's own (its
			// transaction sends one after 200 ms without a response,
			// past our hook, and the trace timed it after the write) no
			// longer fires when a gate or a re-INVITE waiting for its
			// turn takes longer; diago's later Trying is a repeat the
			// hook drops.
			_ = rtx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil))
		}
		if p.serveEvent(req, rtx) {
			return // events.go: SUBSCRIBE, and NOTIFYs of our event packages
		}
		if !p.screenRefer(req, rtx) {
			return // authorize.go: the gate refused the REFER's target
		}
		if p.serveRefer(req, rtx) {
			return // referrecv.go: we carry out the transfer, NOTIFYs in flight
		}
		if !req.IsInvite() && req.IsAck() && len(req.Body()) > 0 {
			if clean, _, err := sdpfence.Normalize(req.Body()); err == nil {
				req.SetBody(clean)
			} else {
				req.SetBody(nil) // a broken answer in an ACK must not reach diago's parser
			}
		}
		p.awaitAnswered(req)      // bye.go: a BYE that overtook our handling of the 200
		defer p.lockOffers(req)() // reinvite.go: one in-dialog offer or ACK at a time per call
		p.noteBye(req)            // byereason.go: the BYE's Reason and ms-diagnostics
		next(req, rtx)
		if req.IsAck() {
			p.peerOfferAcked(req) // reinvite.go: our next re-INVITE may go
		}
	}
}

// checkInvite validates an INVITE and prepares its SDP; false means it has
// been answered already.
func (p *Phone) checkInvite(req *sip.Request, tx *responseHook) bool {
	reply := func(code int, reason string, hdrs ...sip.Header) bool {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
		return false
	}
	// Require was checked by sipguard.ValidateRequest before we got here.
	initial := req.To() == nil || !req.To().Params.Has("tag")
	if initial {
		p.retried(req) // refused.go: a 422's retry is no refused call
	}
	if !p.sessionTimer(req, tx) {
		// update.go: RFC 4028 Session-Expires below Min-SE (422) or no
		// number (400); an initial INVITE so refused is reported, a 422
		// only when the caller does not retry with our Min-SE.
		switch code := int(tx.status.Load()); {
		case !initial || code < 400:
		case code == 422:
			why := fmt.Sprintf("Session-Expires below our Min-SE %d s and not retried with it", minSE)
			p.refusedRetryable(req, code, tx.reason, RuleSessionInterval, why)
		default:
			p.refusedInvite(req, code, tx.reason, RuleSessionInterval, "Session-Expires is no number")
		}
		return false
	}
	body := req.Body()
	// refuse answers an initial INVITE and reports it as an ended call
	// (refused.go); a re-INVITE refused leaves its call as it was.
	refuse := func(code int, reason, rule, why string, hdrs ...sip.Header) bool {
		reply(code, reason, hdrs...)
		if initial {
			p.refusedInvite(req, code, reason, rule, why)
		}
		return false
	}
	if p.cfg.StrictHold && initial && sdpfence.HeldOffer(body) {
		// The strict-hold peer profile (initialhold.go), reported as an
		// ended call (refused.go).
		const phrase = "Call hold not allowed for initial INVITE offer"
		reply(488, phrase)
		p.refusedInvite(req, 488, phrase, RuleStrictHold, "held initial offer refused (strict hold)")
		return false
	}
	if len(body) > 0 {
		if ct := req.ContentType(); ct != nil && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct.Value())), "application/sdp") {
			return refuse(415, "Unsupported Media Type", RuleUnsupportedMedia, "body is "+clip(ct.Value(), 60)+", not SDP",
				sip.NewHeader("Accept", "application/sdp"))
		}
		clean, info, removed, err := sdpfence.FenceIncoming(body)
		if err != nil {
			p.log.Info("unusable sdp", "call_id", callIDOf(req), "err", err)
			var se *sdpfence.Error
			if errors.As(err, &se) && se.Code == 488 {
				return refuse(488, "Not Acceptable Here", RuleBadSDP, "unusable offer: "+err.Error())
			}
			return refuse(400, "Bad Request - malformed SDP", RuleBadSDP, "malformed offer: "+err.Error())
		}
		if len(removed) > 0 {
			prev := tx.fix // sessionTimer's
			tx.fix = func(res *sip.Response) {
				if prev != nil {
					prev(res)
				}
				if res.StatusCode >= 200 && res.StatusCode < 300 && len(res.Body()) > 0 {
					res.SetBody(sdpfence.AddRejectedMedia(res.Body(), removed))
				}
			}
		}
		req.SetBody(p.remapTelephoneEvent(req, tx, clean, info))
		if ok, why := p.srtpIncoming(req, initial); !ok { // srtp.go
			p.log.Info("srtp offer refused", "call_id", callIDOf(req), "why", why)
			return refuse(488, "Not Acceptable Here", RuleSRTP, why)
		}
	}
	to := req.To()
	if to != nil && to.Params.Has("tag") {
		// re-INVITE: update remote hold before diago answers it.
		c := p.callFor(req)
		if c != nil {
			if st := c.state(); st == CallIncoming || st == CallAnswering {
				// RFC 3261 §14.2: the INVITE that made the dialog is not
				// ACKed yet. Answer 491 here: diago's own re-INVITE path
				// would read the dialog's 200 while our answer still
				// writes it (a data race under -race) and could end
				// sipgo's wait for the ACK.
				return reply(491, "Request Pending")
			}
			if !p.answerGlare(c, req, tx) {
				return false // 491: our own re-INVITE is in progress (reinvite.go)
			}
			p.applyRemoteSDP(c, req.Body())
		}
		return true
	}
	id := callIDOf(req)
	tx.OnCancel(func(r *sip.Request) {
		// The Reason, and the ms-diagnostics Lync / Skype for Business put
		// on a CANCEL (byereason.go reads the same from a BYE).
		n := cancelNote{diag: diagnosticOf(r)}
		if h := r.GetHeader("Reason"); h != nil {
			n.reason = h.Value()
		}
		p.mu.Lock()
		if n.reason != "" || !n.diag.IsZero() {
			p.cancels[id] = n
		}
		p.mu.Unlock()
	})
	return true
}

// responseHook lets the middleware edit responses diago sends, and knows
// whether one was sent (so a panic does not get a second final answer).
type responseHook struct {
	sip.ServerTransaction
	p         *Phone
	req       *sip.Request
	fix       func(*sip.Response)
	responded atomic.Bool
	tried     atomic.Bool  // a 100 Trying went out
	status    atomic.Int32 // the final status sent, 0 before
	reason    string       // its reason phrase; read after Respond returned, on the same goroutine
}

func (t *responseHook) Respond(r *sip.Response) error {
	if r.StatusCode == 100 && t.tried.Swap(true) {
		return nil // one 100 Trying per transaction (middleware sent it)
	}
	if t.fix != nil {
		t.fix(r)
	}
	if t.p != nil && t.req != nil {
		if t.p.srtpRespond(t.req, r) { // srtp.go: our key in, the helper 183 out
			return nil
		}
		t.p.fixHeldAnswer(t.req, r)
		t.p.keepOriginResponse(t.req, r)
		t.p.peerOfferAccepted(t.req, r)
		t.p.ladders.stamp(r) // ladders.go: timed before it is sent
	}
	if r.StatusCode >= 200 {
		t.responded.Store(true)
		if t.status.CompareAndSwap(0, int32(r.StatusCode)) {
			t.reason = r.Reason
		}
	}
	return t.ServerTransaction.Respond(r)
}

// requestHook passes every outgoing request, ACK included, through fix
// (LIBRARIES §2.16b).
type requestHook struct {
	ua  *sipgo.UserAgent
	fix func(*sip.Request)
	// reinvite, if set, sends re-INVITEs (reinvite.go: glare, RFC 3261 §14).
	reinvite func(context.Context, *sip.Request, func(context.Context, *sip.Request) (sip.ClientTransaction, error)) (sip.ClientTransaction, error)
	// track, if set, sends every other non-INVITE request (inflight.go:
	// per-peer bound, outcome, vanished peers).
	track func(context.Context, *sip.Request, func(context.Context, *sip.Request) (sip.ClientTransaction, error)) (sip.ClientTransaction, error)
}

func (h *requestHook) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if isGlareRetry(ctx) {
		return h.send(ctx, req) // fixed when first sent
	}
	h.fix(req)
	if req.IsAck() {
		return nil, h.ua.TransportLayer().WriteMsg(req)
	}
	if h.reinvite != nil && isReInvite(req) {
		return h.reinvite(ctx, req, h.send)
	}
	if h.track != nil && !req.IsInvite() {
		return h.track(ctx, req, h.send)
	}
	return h.send(ctx, req)
}

// send starts req's client transaction. A request that cannot be sent (a
// TCP connection refused: the peer vanished) fails as a transport error
// (sip.ErrTransactionTransport), as it does when sipgo's write fails:
// RFC 3261 §8.1.3.1 treats both alike.
func (h *requestHook) send(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	tx, err := h.ua.TransactionLayer().Request(ctx, req)
	if err != nil {
		if !errors.Is(err, sip.ErrTransactionTransport) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", sip.ErrTransactionTransport, err)
		}
		return nil, err
	}
	return tx, nil
}

// fixRequest edits what we send: diago's 64-bit o= session ids become
// int64-safe (defect #10) and we advertise what we support.
func (p *Phone) fixRequest(req *sip.Request) {
	fixRouteDestination(req) // routeset.go: in-dialog requests follow Record-Route
	if b := req.Body(); len(b) > 0 {
		req.SetBody(sdpfence.FixOrigin(b))
		if req.IsInvite() {
			p.rewriteHoldOffer(req)
			p.srtpOffer(req) // srtp.go
			req.SetBody(p.keepOrigin(callIDOf(req), req.Body()))
		}
	}
	if req.IsInvite() && req.GetHeader("Allow") == nil {
		req.AppendHeader(sip.NewHeader("Allow", sipguard.Allowed))
	}
	p.fixAckCSeq(req)    // reinvite.go: a REFER sent during our re-INVITE
	p.ladders.stamp(req) // ladders.go: timed before it is sent
}

// cleanResponseSDP normalises the SDP of a response to our INVITE before
// diago parses it (defects #1, #2).
func (p *Phone) cleanResponseSDP(res *sip.Response) {
	b := res.Body()
	if len(b) == 0 {
		return
	}
	clean, _, err := sdpfence.Normalize(b)
	if err != nil {
		p.log.Info("malformed sdp in response", "code", int(res.StatusCode), "err", err)
		return
	}
	clean, _ = sdpfence.StripExtraMedia(clean)
	res.SetBody(clean)
}

func callIDOf(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// callFor is the call req belongs to by its Call-ID, nil if none.
func (p *Phone) callFor(req *sip.Request) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bySIP[callIDOf(req)]
}
