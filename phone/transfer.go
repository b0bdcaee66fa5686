package phone

// Transfers we start: blind (REFER to a URI), consultation (a second call
// while the first is held), toggle, and attended (REFER with Replaces built
// from the consultation dialog, RFC 3891, RFC 5589 §7).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// ErrTransferPending is returned when a call already has a transfer under way.
var ErrTransferPending = vocab.ErrTransferPending

// transferState follows one REFER we sent, from 202 to the final NOTIFY.
type transferState struct {
	target  string
	consult *call // attended transfer: the consultation call, nil for blind
	// held: we put the call on hold for the transfer; failed: the
	// transfer failed (both guarded by the call's mu: a late hold answer
	// sets held, transferHold).
	held   bool
	failed bool

	once   sync.Once
	done   chan struct{}
	code   int
	reason string
}

func (t *transferState) finish(code int, reason string) {
	t.once.Do(func() {
		t.code, t.reason = code, reason
		close(t.done)
	})
}

// Transfer asks the peer of call id to call target (blind transfer, RFC
// 3515): the call is held, a REFER with Refer-To and our own Referred-By
// goes out (diago would send the peer's Contact: LIBRARIES §3 row 13), and
// Transfer returns once the peer accepted it (202). Progress arrives as
// TransferProgress events from the NOTIFY sipfrags. On success our leg ends
// with EndTransferred; on failure or after Config.TransferTimeout the call
// is taken off hold again and the last event says why.
func (p *Phone) Transfer(id CallID, target string) error {
	return p.TransferContext(p.ctx, id, target)
}

// TransferContext is Transfer for a caller whose ctx bounds the hold and
// the REFER; the wait for the final NOTIFY is the phone's, not the caller's.
func (p *Phone) TransferContext(ctx context.Context, id CallID, target string) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	uri, err := p.resolveTarget(target)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", id, err)
	}
	return p.refer(ctx, c, uri, "<"+uriString(uri)+">", nil)
}

// Consult holds call id and places a consultation call to target; it
// returns the new call's id. CompleteTransfer joins the two, Toggle swaps
// between them.
func (p *Phone) Consult(ctx context.Context, id CallID, target string) (CallID, error) {
	c := p.lookup(id)
	if c == nil {
		return "", ErrNoSuchCall
	}
	if c.state() != CallActive {
		return "", ErrBadState
	}
	if err := p.holdAwhile(ctx, c); err != nil {
		return "", fmt.Errorf("consult: %w", err)
	}
	return p.Dial(ctx, target, DialOptions{})
}

// holdAwhile holds c for the commands that go on with another call while
// this one is held (Consult, Toggle, Split). A peer that gives the hold no
// answer within transferHoldWait (nothing, or only the 100 Trying its
// transaction layer sends for a hung UA too) costs them that much, not
// Timer B (issue 17): the command goes on, the hold follows in the
// background (its fate arrives as a RequestOutcome and, with no answer at
// all, ends the call per RFC 3261 §12.2.1.2). A peer that negotiates (a
// 491 and its §14.1 back-off of up to 4 s, a 18x) is there: the command
// waits for the hold as before, so the held party does not overhear the
// next call. It returns the hold's error when it ended in time.
func (p *Phone) holdAwhile(ctx context.Context, c *call) error {
	settled := make(chan struct{})
	var err error
	p.wg.Go(func() {
		// Owned by the phone, joined by Shutdown; the re-INVITE is bounded
		// by Timer B and given up when the call ends (setHold).
		defer close(settled)
		err = p.HoldContext(p.ctx, c.id)
	})
	if p.waitHold(ctx, c, settled) {
		return err
	}
	p.log.Info("no answer to the hold yet, going on", "call_id", c.id)
	return nil
}

// waitHold waits for settled, the end of c's hold re-INVITE: at most
// transferHoldWait unless the peer negotiates (offerHeard: then as long
// as it takes, bounded by Timer B and the 491 back-off), or until ctx
// ends. It reports whether the hold settled.
func (p *Phone) waitHold(ctx context.Context, c *call, settled <-chan struct{}) bool {
	t := time.NewTimer(transferHoldWait)
	defer t.Stop()
	select {
	case <-settled:
		return true
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	if !c.offerHeard() {
		return false
	}
	select {
	case <-settled:
		return true
	case <-ctx.Done():
		return false
	}
}

// Toggle makes call id the active one: every other active call we do not
// hold is held, then id is resumed. Calls in a conference are left alone.
func (p *Phone) Toggle(id CallID) error { return p.ToggleContext(p.ctx, id) }

// ToggleContext is Toggle for a caller whose ctx bounds the re-INVITEs.
func (p *Phone) ToggleContext(ctx context.Context, id CallID) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	if c.state() != CallActive {
		return ErrBadState
	}
	for _, o := range p.Calls() {
		if o.ID == id || o.State != CallActive || o.LocalHold || o.Conference != "" {
			continue
		}
		oc := p.lookup(o.ID)
		if oc == nil {
			continue
		}
		if err := p.holdAwhile(ctx, oc); err != nil && !errors.Is(err, ErrNoSuchCall) {
			return fmt.Errorf("toggle: hold %s: %w", o.ID, err)
		}
	}
	return p.ResumeContext(ctx, id)
}

// CompleteTransfer ends an attended transfer: the peer of heldID is asked
// to call the peer of consultID with a Replaces header naming the
// consultation dialog (RFC 3891 §3), so the two talk and both our calls
// end as transferred. Either call may be incoming or outgoing.
func (p *Phone) CompleteTransfer(heldID, consultID CallID) error {
	return p.CompleteTransferContext(p.ctx, heldID, consultID)
}

// CompleteTransferContext is CompleteTransfer for a caller whose ctx
// bounds the hold and the REFER.
func (p *Phone) CompleteTransferContext(ctx context.Context, heldID, consultID CallID) error {
	hc, cc := p.lookup(heldID), p.lookup(consultID)
	if hc == nil || cc == nil {
		return ErrNoSuchCall
	}
	if hc == cc || cc.state() != CallActive {
		return ErrBadState
	}
	cc.mu.Lock()
	dlg := cc.dialog
	cc.mu.Unlock()
	if dlg == nil {
		return ErrBadState
	}
	r, err := replacesFor(dlg)
	if err != nil {
		return fmt.Errorf("complete transfer: %w", err)
	}
	var contact *sip.ContactHeader
	switch d := dlg.(type) {
	case *diago.DialogClientSession:
		contact = d.RemoteContact()
	case *diago.DialogServerSession:
		contact = d.RemoteContact()
	}
	if contact == nil {
		return fmt.Errorf("complete transfer: %w: consultation peer has no Contact", ErrBadState)
	}
	return p.refer(ctx, hc, contact.Address, referToWithReplaces(contact.Address, r), cc)
}

// refer sends the REFER of a transfer on c and follows it in the
// background (awaitTransfer). referTo is the Refer-To header value. ctx
// bounds the hold and the REFER transaction, not the background wait.
func (p *Phone) refer(ctx context.Context, c *call, target sip.Uri, referTo string, consult *call) error {
	c.mu.Lock()
	st, dlg, busy, held := c.info.State, c.dialog, c.mc.transfer != nil, c.info.LocalHold
	c.mu.Unlock()
	if st != CallActive || dlg == nil {
		return ErrBadState
	}
	if busy {
		return ErrTransferPending
	}
	ts := &transferState{target: uriString(target), consult: consult, done: make(chan struct{})}
	// holding is non-nil while the transfer's hold re-INVITE is still
	// unanswered when the REFER goes out (transferHold).
	var holding <-chan struct{}
	if !held {
		holding = p.transferHold(ctx, c, ts)
	}
	c.mu.Lock()
	if c.mc.transfer != nil {
		c.mu.Unlock()
		return ErrTransferPending
	}
	c.mc.transfer = ts
	c.mu.Unlock()
	if consult != nil {
		consult.mu.Lock()
		consult.mc.replacedAt = ts.target
		consult.mu.Unlock()
	}

	onNotify := func(code int) {
		// A sipgo goroutine: post and return.
		p.emit(TransferProgress{CallID: c.id, Target: ts.target, Code: code, Reason: SIPPhrase(code)})
		if code >= 200 {
			ts.finish(code, SIPPhrase(code))
		}
	}
	hdrs := []sip.Header{
		sip.NewHeader("Refer-To", referTo),
		sip.NewHeader("Referred-By", "<"+p.localParty().URI+">"),
	}
	// The REFER is fire-and-track (issue 17): the command waits for the
	// peer's answer at most referAnswerWait, so a refusal still comes back
	// as the command's error (a RejectedError); a transferee that says
	// nothing costs the user that much and no more: the REFER goes on in
	// the background and its fate arrives as a final TransferProgress (and
	// a RequestOutcome, inflight.go), the call taken off hold again.
	answered := make(chan error, 1)
	p.wg.Go(func() {
		// Owned by the phone, joined by Shutdown: sends the REFER, then
		// waits for the final NOTIFY.
		rctx, cancel := p.requestCtx(p.ctx, 32*time.Second)
		defer cancel()
		// The REFER is serialised with our re-INVITEs, except with the
		// transfer's own hold when the transferee has not answered it:
		// RFC 3261 §14.1 forbids only a second INVITE transaction while one
		// is pending, a REFER may go (its CSeq follows the re-INVITE's; the
		// ACK of a late 2xx keeps the re-INVITE's, reinvite.go ackCSeq).
		unlock := func() {}
		if holding == nil {
			c.mc.reinvite.Lock()
			unlock = c.mc.reinvite.Unlock
		}
		var err error
		switch d := dlg.(type) {
		case *diago.DialogClientSession:
			err = d.ReferOptions(rctx, target, diago.ReferClientOptions{Headers: hdrs, OnNotify: onNotify})
		case *diago.DialogServerSession:
			err = d.ReferOptions(rctx, target, diago.ReferServerOptions{Headers: hdrs, OnNotify: onNotify})
		default:
			err = ErrBadState
		}
		unlock()
		answered <- err
		if err != nil {
			code := statusOf(err)
			reason := err.Error()
			if code != 0 {
				reason = SIPPhrase(code)
			}
			p.log.Info("transfer refused", "call_id", c.id, "code", code, "err", err)
			p.transferFailed(c, ts, code, reason)
			c.endAfterFailedRequest("REFER", err) // 408, 481, no answer: RFC 3261 §12.2.1.2
			return
		}
		p.awaitTransfer(c, dlg, ts)
	})
	t := time.NewTimer(referAnswerWait)
	defer t.Stop()
	select {
	case err := <-answered:
		if err == nil {
			return nil
		}
		if code := statusOf(err); code != 0 {
			// The peer refused the REFER: an outcome as data (errors.As).
			return fmt.Errorf("transfer %s: %w: %w", c.id, &RejectedError{Code: code, Reason: SIPPhrase(code)}, err)
		}
		return fmt.Errorf("transfer %s: %w", c.id, err)
	case <-t.C:
		p.log.Info("transfer: no answer to the REFER yet, following it in the background", "call_id", c.id)
		return nil
	case <-ctx.Done():
		return nil // the REFER goes on; its outcome arrives as events
	}
}

// referAnswerWait bounds how long Transfer waits for the answer to its
// REFER before it returns and leaves the REFER to the background.
const referAnswerWait = time.Second

// transferHoldWait bounds how long a transfer (and Consult, Toggle, Split)
// waits for a peer that gives the hold re-INVITE no answer (at most a 100
// Trying) before it goes on (issue 17): a transferee that ignores the hold would
// otherwise hold the transfer for Timer B.
const transferHoldWait = 500 * time.Millisecond

// transferHold holds c for the transfer ts (RFC 5589 §6: the transferor
// holds the transferee while it waits) and waits for the answer as
// waitHold does: at most transferHoldWait from a peer that does not
// negotiate (ctx may end the wait sooner). It returns nil once the
// hold is settled, answered or refused; otherwise a channel that closes
// when the hold, still under way, settles. A hold answered late marks ts
// held then, and is taken back if the transfer failed meanwhile.
func (p *Phone) transferHold(ctx context.Context, c *call, ts *transferState) <-chan struct{} {
	settled := make(chan struct{})
	p.wg.Go(func() {
		// Owned by the phone, joined by Shutdown; the hold re-INVITE is
		// bounded by Timer B and given up when the call ends (setHold).
		defer close(settled)
		err := p.HoldContext(p.ctx, c.id)
		c.mu.Lock()
		ts.held = err == nil
		failed := ts.failed
		c.mu.Unlock()
		if err == nil && failed && c.state() == CallActive {
			if err := p.Resume(c.id); err != nil {
				p.log.Warn("resume after failed transfer", "call_id", c.id, "err", err)
			}
		}
	})
	if p.waitHold(ctx, c, settled) {
		return nil
	}
	p.log.Info("transfer: no answer to the hold yet, sending the REFER", "call_id", c.id)
	return settled
}

// awaitTransfer waits for the outcome of a REFER we sent.
func (p *Phone) awaitTransfer(c *call, dlg diago.DialogSession, ts *transferState) {
	t := time.NewTimer(p.transferTimeout())
	defer t.Stop()
	select {
	case <-ts.done:
	case <-t.C:
		p.transferFailed(c, ts, 0, "no final NOTIFY in time")
		return
	case <-dlg.Context().Done():
		// The transferee hung up before telling us the outcome: most do
		// so only after success, but we cannot know.
		select {
		case <-ts.done:
		default:
			c.mu.Lock()
			c.mc.transfer = nil
			c.mu.Unlock()
			p.emit(TransferProgress{CallID: c.id, Target: ts.target, Final: true, Reason: "call ended before the final NOTIFY"})
			return
		}
	case <-p.ctx.Done():
		return
	}
	if ts.code < 200 || ts.code >= 300 {
		p.transferFailed(c, ts, ts.code, ts.reason)
		return
	}
	p.emit(TransferProgress{CallID: c.id, Target: ts.target, Code: ts.code, Reason: ts.reason, Final: true, OK: true})
	c.mu.Lock()
	if c.info.End == nil {
		c.info.End = &EndInfo{Cause: EndTransferred, Code: ts.code, Text: "transferred to " + ts.target}
	}
	c.mu.Unlock()
	_ = c.hangup()
	if cc := ts.consult; cc != nil {
		// The target replaces the consultation dialog and BYEs it (RFC
		// 3891 §3); hang up ourselves if it does not.
		cc.mu.Lock()
		if cc.info.End == nil {
			cc.info.End = &EndInfo{Cause: EndTransferred, Text: "replaced at " + ts.target}
		}
		cdlg := cc.dialog
		cc.mu.Unlock()
		if cdlg != nil {
			w := time.NewTimer(3 * time.Second)
			defer w.Stop()
			select {
			case <-cdlg.Context().Done():
				return
			case <-w.C:
			case <-p.ctx.Done():
			}
		}
		_ = cc.hangup()
	}
}

// transferFailed reports a failed transfer and takes the call back off the
// hold the transfer put it on.
func (p *Phone) transferFailed(c *call, ts *transferState, code int, reason string) {
	c.mu.Lock()
	c.mc.transfer = nil
	ts.failed = true
	held := ts.held
	c.mu.Unlock()
	if cc := ts.consult; cc != nil {
		cc.mu.Lock()
		cc.mc.replacedAt = ""
		cc.mu.Unlock()
	}
	p.emit(TransferProgress{CallID: c.id, Target: ts.target, Code: code, Reason: reason, Final: true})
	if held && c.state() == CallActive {
		if err := p.Resume(c.id); err != nil {
			p.log.Warn("resume after failed transfer", "call_id", c.id, "err", err)
		}
	}
}
