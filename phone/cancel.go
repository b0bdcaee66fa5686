package phone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ReasonCompletedElsewhere is the Reason a forking controller sends in the
// CANCEL to the legs that lost: the callee's phone logs no missed call
// (RFC 3326, RFC 3261 §9.1).
const ReasonCompletedElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

// HangupWithReason ends a call like Hangup, but the request that ends it
// carries a Reason header (RFC 3326), e.g. ReasonCompletedElsewhere:
//   - an outgoing call that rings gets a CANCEL we build ourselves, because
//     sipgo's CANCEL takes no extra headers (LIBRARIES §2.4); before the first
//     provisional response it waits up to 2 s for one (RFC 3261 §9.1);
//   - an established call gets a BYE with the Reason;
//   - an incoming call that rings is declined with 603 and the Reason.
//
// If the callee answered while our CANCEL was under way, the call gets a BYE
// with the same Reason. It is safe to call from any goroutine and returns
// once the request is on its way; the end arrives as a CallChanged event.
func (p *Phone) HangupWithReason(id CallID, reason string) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	if reason == "" {
		return c.hangup()
	}
	c.mu.Lock()
	if c.ending || c.info.State == CallEnded {
		c.mu.Unlock()
		return nil
	}
	st, dir, dlg := c.info.State, c.info.Direction, c.dialog
	c.mu.Unlock()

	switch {
	case dir == Incoming && st == CallIncoming:
		if !c.apply(inLocalEnd, func(ci *CallInfo) {}) {
			return ErrBadState
		}
		c.mu.Lock()
		c.ending = true
		c.mu.Unlock()
		c.decision <- decision{code: 603, reason: "Decline", hdrs: []sip.Header{sip.NewHeader("Reason", reason)}}
		return nil
	case st == CallActive && dlg != nil:
		if !c.markEnding(reason) {
			return nil
		}
		p.wg.Add(1)
		go func() {
			// Owned by p.wg: joined by Shutdown.
			defer p.wg.Done()
			p.byeWithReason(c, dlg, reason)
		}()
		return nil
	case dir == Outgoing && (st == CallRinging || st == CallEarly):
		if !c.markEnding(reason) {
			return nil
		}
		c.endSoon() // the CANCEL is tracked; the user need not wait for it
		p.wg.Add(1)
		go func() {
			// Owned by p.wg: joined by Shutdown.
			defer p.wg.Done()
			p.cancelWithReason(c, reason)
		}()
		return nil
	case dir == Outgoing && st == CallDialing:
		// RFC 3261 §9.1: no CANCEL before a provisional response. Wait
		// for one (at most 2 s), then go on from the state it left.
		p.wg.Add(1)
		go func() {
			// Owned by p.wg: joined by Shutdown.
			defer p.wg.Done()
			deadline := time.Now().Add(2 * time.Second)
			for c.state() == CallDialing && time.Now().Before(deadline) {
				select {
				case <-p.ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			if c.state() == CallDialing {
				_ = c.hangup() // diago's CANCEL, without a Reason
				return
			}
			_ = p.HangupWithReason(id, reason)
		}()
		return nil
	default:
		return c.hangup()
	}
}

// markEnding records a local end with reason; false if the call is ending
// already.
func (c *call) markEnding(reason string) bool {
	c.mu.Lock()
	if c.ending || c.info.State == CallEnded {
		c.mu.Unlock()
		return false
	}
	c.ending = true
	if c.info.End == nil {
		c.info.End = &EndInfo{Cause: EndLocalHangup, Text: reason}
	}
	c.mu.Unlock()
	c.apply(inLocalEnd, nil)
	return true
}

// byeWithReason sends BYE with a Reason header in an established dialog.
// sipgo fills in the dialog's headers and route set (LIBRARIES §2.6).
func (p *Phone) byeWithReason(c *call, dlg diago.DialogSession, reason string) {
	// Fire-and-track like every BYE (bye.go): the call ends for the user
	// at once, whatever the peer does with the BYE.
	if err := p.sendBye(c, dlg, sip.NewHeader("Reason", reason)); err != nil {
		c.log.Warn("hangup", "call_id", c.id, "err", err)
		c.markGone()
		_ = dlg.Close()
	}
}

// cancelWithReason sends our own CANCEL for c's INVITE and watches the
// outcome: the INVITE ends with 487 (the call goroutine records it), or the
// callee answered first and gets a BYE, or nothing happens and diago's own
// CANCEL is the backstop.
func (p *Phone) cancelWithReason(c *call, reason string) {
	c.mu.Lock()
	d, cancelInvite := c.outDialog, c.cancelInvite
	c.mu.Unlock()
	backstop := func() {
		if cancelInvite != nil {
			cancelInvite()
		}
	}
	if d == nil {
		backstop()
		return
	}
	if d.LoadState() >= sip.DialogStateEstablished {
		p.answeredDespiteCancel(c, d, reason)
		return
	}
	req, err := buildCancel(d.InviteRequest, reason)
	if err != nil {
		c.log.Warn("cancel", "call_id", c.id, "err", err)
		backstop()
		return
	}
	ctx, done := context.WithTimeout(p.ctx, 8*time.Second)
	defer done()
	res, err := p.cli.Do(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil || res.StatusCode != 200 {
		c.log.Info("cancel not accepted", "call_id", c.id, "err", err, "code", codeOf(res))
	}
	// Wait for the INVITE to end (487) or to be answered (200 crossed our
	// CANCEL: RFC 3261 §9.1 says the UAC then sends BYE).
	for {
		if c.state() == CallEnded {
			return
		}
		if d.LoadState() >= sip.DialogStateConfirmed {
			p.answeredDespiteCancel(c, d, reason)
			return
		}
		select {
		case <-ctx.Done():
			backstop()
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// answeredDespiteCancel ends a call whose 200 crossed our CANCEL.
func (p *Phone) answeredDespiteCancel(c *call, d *diago.DialogClientSession, reason string) {
	// Wait until the call goroutine has ACKed and published the dialog.
	for range 100 {
		c.mu.Lock()
		dlg := c.dialog
		ended := c.info.State == CallEnded
		c.mu.Unlock()
		if ended {
			return
		}
		if dlg != nil && d.LoadState() >= sip.DialogStateConfirmed {
			p.byeWithReason(c, dlg, reason)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.log.Warn("cancel: answered call never confirmed", "call_id", c.id)
}

// buildCancel builds a CANCEL for inv the way RFC 3261 §9.1 asks: the same
// Request-URI, top Via, From, To, Call-ID, Route and CSeq number, plus our
// Reason header.
func buildCancel(inv *sip.Request, reason string) (*sip.Request, error) {
	if inv == nil {
		return nil, errors.New("phone: no INVITE to cancel")
	}
	via := inv.Via()
	cseq := inv.CSeq()
	if via == nil || cseq == nil || inv.From() == nil || inv.To() == nil || inv.CallID() == nil {
		return nil, fmt.Errorf("phone: INVITE lacks headers for a CANCEL")
	}
	req := sip.NewRequest(sip.CANCEL, inv.Recipient)
	req.SipVersion = inv.SipVersion
	req.AppendHeader(via.Clone())
	sip.CopyHeaders("Route", inv, req)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	sip.CopyHeaders("From", inv, req)
	sip.CopyHeaders("To", inv, req)
	sip.CopyHeaders("Call-ID", inv, req)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo, MethodName: sip.CANCEL})
	req.AppendHeader(sip.NewHeader("Reason", reason))
	req.SetTransport(inv.Transport())
	req.SetSource(inv.Source())
	req.SetDestination(inv.Destination())
	return req, nil
}

func codeOf(res *sip.Response) int {
	if res == nil {
		return 0
	}
	return int(res.StatusCode)
}
