package phone

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// holder is what diago's client and server sessions offer for hold.
type holder interface {
	Hold(ctx context.Context) error
	Unhold(ctx context.Context) error
}

// Hold puts an active call on hold with a re-INVITE in the phone's hold
// dialect. diago only offers a=sendonly (LIBRARIES §2.7); the request hook
// rewrites that offer into a=inactive or c=0.0.0.0 when the dialect asks
// for it. It returns once the peer answered the re-INVITE.
func (p *Phone) Hold(id CallID) error { return p.HoldWith(id, p.cfg.HoldDialect) }

// HoldContext is Hold for a caller: cancelling ctx abandons the wait for
// the peer's answer, and the call stays unheld as when the re-INVITE fails.
func (p *Phone) HoldContext(ctx context.Context, id CallID) error {
	return p.setHold(ctx, id, true, p.cfg.HoldDialect)
}

// HoldWith is Hold in a chosen dialect.
func (p *Phone) HoldWith(id CallID, dialect HoldDialect) error {
	return p.setHold(p.ctx, id, true, dialect)
}

// HoldWithContext is HoldWith for a caller whose ctx bounds the re-INVITE.
func (p *Phone) HoldWithContext(ctx context.Context, id CallID, dialect HoldDialect) error {
	return p.setHold(ctx, id, true, dialect)
}

// Resume takes a call we hold off hold (a=sendrecv, the real address).
func (p *Phone) Resume(id CallID) error { return p.setHold(p.ctx, id, false, HoldDefault) }

// ResumeContext is Resume for a caller whose ctx bounds the re-INVITE.
func (p *Phone) ResumeContext(ctx context.Context, id CallID) error {
	return p.setHold(ctx, id, false, HoldDefault)
}

// setHold sends the hold (on) or resume re-INVITE, serialised with the
// call's other re-INVITEs, and publishes the new LocalHold. It is a no-op
// when the call is already in that state. ctx bounds the re-INVITE, as do
// 32 s and the phone's life.
func (p *Phone) setHold(ctx context.Context, id CallID, on bool, dialect HoldDialect) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	c.mu.Lock()
	st, held, dlg := c.info.State, c.info.LocalHold, c.dialog
	c.mu.Unlock()
	if st != CallActive {
		return ErrBadState
	}
	if held == on {
		return nil
	}
	h, ok := dlg.(holder)
	if !ok {
		return ErrBadState
	}
	c.mc.reinvite.Lock()
	defer c.mc.reinvite.Unlock()
	// holding tells the request hook how to shape the offer (and the
	// uplink gate whether to send); undone if the re-INVITE fails.
	c.mu.Lock()
	if on {
		c.holdDialect = dialect
	}
	c.holding = on
	c.mu.Unlock()
	ctx, cancel := p.requestCtx(ctx, reinviteTimeout) // the caller, Timer B (midcallfail.go), or Close
	defer cancel()
	// The call's end (our BYE, theirs) gives the re-INVITE up: diago
	// holds the dialog while it waits, and the call goroutine's Close
	// would wait with it (shutdown took 5 s with a silent callee).
	defer context.AfterFunc(dlg.Context(), cancel)()
	defer c.setOffer(offerSettled) // diago applied the answer (reinvite.go)
	send, verb := h.Unhold, "resume"
	if on {
		send, verb = h.Hold, "hold"
	}
	if err := send(ctx); err != nil {
		c.mu.Lock()
		c.holding = !on
		c.mu.Unlock()
		err = fmt.Errorf("%s %s: %w", verb, id, err)
		if c.endAfterFailedRequest(verb+" re-INVITE", err) {
			err = fmt.Errorf("%w; call ended", err)
		}
		return err
	}
	c.update(func(ci *CallInfo) {
		ci.LocalHold = on
		ci.HoldDialect = HoldDefault
		if on {
			ci.HoldDialect = dialect
		}
	})
	return nil
}

// rewriteHoldOffer turns diago's sendonly hold re-INVITE into the call's
// dialect, and the initial offer of a call dialled on hold into a held
// offer (initialhold.go). Called from the request hook for every outgoing
// INVITE.
func (p *Phone) rewriteHoldOffer(req *sip.Request) {
	if len(req.Body()) == 0 {
		return
	}
	initial := req.To() == nil || !req.To().Params.Has("tag")
	c := p.callFor(req)
	if c == nil {
		return
	}
	c.mu.Lock()
	holding, dialect := c.holding, c.holdDialect
	if initial && !c.mc.initialHold {
		holding = false
	}
	c.mu.Unlock()
	if holding {
		req.SetBody(sdpfence.RewriteHold(req.Body(), dialect))
	}
}

// uplinkHeld reports whether our own hold forbids sending: inactive and
// zero-ip holds send nothing; sendonly keeps sending (music on hold).
func (c *call) uplinkHeld() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holding && c.holdDialect != HoldSendonly && c.holdDialect != HoldDefault
}

// sendingMusic reports whether we hold with a=sendonly, when the peer hears
// Config.HoldMusic instead of our microphone.
func (c *call) sendingMusic() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holding && (c.holdDialect == HoldSendonly || c.holdDialect == HoldDefault)
}

// fixHeldAnswer corrects diago's answer to a peer's hold while we hold too.
// diago answers a sendonly offer with recvonly whatever its own mode
// (media.negotiateMediaDirection): with our sendonly hold it answers
// recvonly, and under our inactive and zero-ip holds (which diago knows as
// sendonly) too. But while we hold we do not want the peer's audio, and the
// peer, sending only, does not want ours: RFC 3264 §6.1 lets the answer to
// sendonly be recvonly or inactive, and only inactive says what both ends
// want. The peer then stops its music on hold towards us, and the call
// reads "held" and "held by remote" on both sides.
func (p *Phone) fixHeldAnswer(req *sip.Request, res *sip.Response) {
	if !isReInvite(req) || res.StatusCode < 200 || res.StatusCode > 299 || len(res.Body()) == 0 {
		return
	}
	c := p.callFor(req)
	if c == nil {
		return
	}
	c.mu.Lock()
	holding := c.holding
	c.mu.Unlock()
	if !holding {
		return
	}
	if body, ok := sdpfence.AnswerHeldInactive(res.Body()); ok {
		res.SetBody(body)
	}
}
