package phone

// Hold in the initial INVITE: the 3PCC "make call" of call-centre software
// dials an agent on hold and transfers the call later with a REFER. Peers
// disagree about the form (seed 004, RFC 3264 §8.4, RFC 4317 §5.2): the
// Skype for Business Mediation Server refuses c=0.0.0.0 and a=inactive in
// an initial offer with "488 Call hold not allowed for initial INVITE
// offer" and only takes a=sendonly. As caller we fall back through the
// dialects; as callee we accept all three unless Config.StrictHold imitates
// that peer.

import (
	"context"
	"errors"
	"slices"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// holdFallback is the order in which a refused held offer is retried: each
// step is accepted by more peers than the one before.
var holdFallback = []HoldDialect{HoldZeroIP, HoldInactive, HoldSendonly}

// nextHoldDialect returns the dialect to retry with after d was refused.
func nextHoldDialect(d HoldDialect) (HoldDialect, bool) {
	if d == HoldDefault {
		d = HoldSendonly
	}
	i := slices.Index(holdFallback, d)
	if i < 0 || i+1 >= len(holdFallback) {
		return 0, false
	}
	return holdFallback[i+1], true
}

// invite sends the initial INVITE of an outgoing call. With o.Hold the
// offer is held (the request hook rewrites diago's body, see
// rewriteHoldOffer); a 488 to it is retried with the next dialect on a new
// dialog (new Call-ID, RFC 3261 §8.1.3.5 lets a UAC retry a failed request
// as a new one), and the outcome is reported as InitialHoldResult. It
// returns the dialog in use, which replaces d.
func (p *Phone) invite(ctx context.Context, c *call, d *diago.DialogClientSession, uri sip.Uri, opts diago.InviteClientOptions, o DialOptions) (*diago.DialogClientSession, error) {
	if o.Hold == nil {
		headers := opts.Headers
		err := d.Invite(ctx, opts)
		for statusOf(err) == 488 && c.srtpFallback() { // srtp.go: optional SRTP refused
			p.log.Info("srtp offer refused, retrying", "call_id", c.id, "retry", c.srtpState().retries())
			nd, nerr := p.redial(c, d, uri)
			if nerr != nil {
				return d, err
			}
			d = nd
			opts.Headers = cloneHeaders(headers)
			err = d.Invite(ctx, opts)
		}
		return d, err
	}
	dialect := *o.Hold
	if dialect == HoldDefault {
		dialect = HoldSendonly
	}
	headers := opts.Headers
	for {
		opts.Headers = cloneHeaders(headers)
		c.mu.Lock()
		c.holding, c.holdDialect, c.mc.initialHold = true, dialect, true
		c.mu.Unlock()
		err := d.Invite(ctx, opts)
		next, more := nextHoldDialect(dialect)
		if !more || statusOf(err) != 488 {
			c.mu.Lock()
			tried := slices.Clone(c.mc.triedHold)
			c.mu.Unlock()
			ok := err == nil || errors.Is(err, diago.ErrClientEarlyMedia)
			p.emit(InitialHoldResult{CallID: c.id, Dialect: dialect, Tried: tried, OK: ok})
			if ok {
				c.update(func(ci *CallInfo) { ci.HoldDialect = dialect })
			}
			return d, err
		}
		p.log.Info("held offer refused, retrying", "call_id", c.id, "dialect", dialect, "next", next)
		nd, nerr := p.redial(c, d, uri)
		if nerr != nil {
			return d, err
		}
		c.mu.Lock()
		c.mc.triedHold = append(c.mc.triedHold, dialect)
		c.mu.Unlock()
		d, dialect = nd, next
	}
}

// redial closes d and makes a new dialog for the same call with a fresh
// Call-ID, re-keying the call.
func (p *Phone) redial(c *call, d *diago.DialogClientSession, uri sip.Uri) (*diago.DialogClientSession, error) {
	nd, err := p.dg.NewDialog(uri, diago.NewDialogOptions{Transport: transportOf(uri, p.cfg.Transport)})
	if err != nil {
		return nil, err
	}
	if err := p.srtpDial(c, nd); err != nil { // srtp.go: new dialog, new SRTP sockets and keys
		_ = nd.Close()
		return nil, err
	}
	if dest := d.InviteRequest.Destination(); dest != "" && dest != d.InviteRequest.Recipient.HostPort() {
		nd.InviteRequest.SetDestination(dest)
	}
	_ = d.Close()
	id := sip.CallIDHeader(sip.GenerateTagN(24) + "@anyphone")
	nd.InviteRequest.AppendHeader(&id)
	p.mu.Lock()
	if p.bySIP[c.sipCallID] == c {
		delete(p.bySIP, c.sipCallID)
	}
	p.bySIP[string(id)] = c
	if p.ladders != nil {
		p.ladders.link(c.id, string(id))
	}
	p.mu.Unlock()
	c.mu.Lock()
	c.sipCallID = string(id)
	c.outDialog = nd
	c.mu.Unlock()
	c.update(func(ci *CallInfo) { ci.SIPCallID = string(id) })
	return nd, nil
}

func cloneHeaders(hs []sip.Header) []sip.Header {
	out := make([]sip.Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, sip.HeaderClone(h))
	}
	return out
}

// statusOf returns the SIP status of a failed INVITE, 0 if none.
func statusOf(err error) int {
	var e1 *sipgo.ErrDialogResponse
	var e2 sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &e1):
		return int(e1.Res.StatusCode)
	case errors.As(err, &e2):
		return int(e2.Res.StatusCode)
	}
	return 0
}

// afterAnswered runs in the call goroutine once an outgoing call is active:
// a call dialled on hold shows LocalHold (Resume takes it off), and a call
// placed for a REFER ends the referring leg.
func (p *Phone) afterAnswered(c *call) {
	c.mu.Lock()
	held, dialect, hook := c.mc.initialHold && c.holding, c.holdDialect, c.mc.onAnswered
	c.mu.Unlock()
	if held {
		c.update(func(ci *CallInfo) { ci.LocalHold = true; ci.HoldDialect = dialect })
	}
	if hook != nil {
		hook()
	}
}
