package phone

// Being transferred: a REFER from the peer (RFC 3515) asks us to call a
// target. diago answers 202, sends NOTIFY 100, builds the new dialog and
// hands it to OnRefer, then NOTIFies 200 when the new dialog is confirmed or
// the error our callback returns (LIBRARIES §2.8). The callback blocks for
// the life of the new call, which we run as an ordinary outgoing call.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TransferPolicy decides what happens when a peer asks us to transfer
// (REFER).
type TransferPolicy int

const (
	// TransferAuto accepts every REFER (the zero value).
	TransferAuto TransferPolicy = iota
	// TransferAsk reports ReferReceived with Pending and waits for
	// AcceptRefer or RejectRefer (until Config.TransferTimeout).
	TransferAsk
	// TransferReject refuses every REFER (NOTIFY 603).
	TransferReject
)

// String returns the name ParseTransferPolicy accepts.
func (t TransferPolicy) String() string {
	switch t {
	case TransferAuto:
		return "auto"
	case TransferAsk:
		return "ask"
	case TransferReject:
		return "reject"
	default:
		return fmt.Sprintf("TransferPolicy(%d)", int(t))
	}
}

// ParseTransferPolicy parses auto, ask or reject ("" is auto).
func ParseTransferPolicy(s string) (TransferPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto", "accept":
		return TransferAuto, nil
	case "ask":
		return TransferAsk, nil
	case "reject":
		return TransferReject, nil
	}
	return TransferAuto, fmt.Errorf("phone: unknown transfer policy %q (want auto, ask or reject)", s)
}

// MarshalText makes policies readable in JSON.
func (t TransferPolicy) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseTransferPolicy.
func (t *TransferPolicy) UnmarshalText(b []byte) error {
	v, err := ParseTransferPolicy(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// SetTransferPolicy changes the policy for REFERs received from now on.
func (p *Phone) SetTransferPolicy(t TransferPolicy) {
	p.xferPolicy.Store(int32(t) + 1)
}

// transferPolicy is the policy in force: SetTransferPolicy's, else the
// Config's.
func (p *Phone) transferPolicy() TransferPolicy {
	if v := p.xferPolicy.Load(); v != 0 {
		return TransferPolicy(v - 1)
	}
	return p.cfg.TransferPolicy
}

func (p *Phone) transferTimeout() time.Duration {
	if p.cfg.TransferTimeout > 0 {
		return p.cfg.TransferTimeout
	}
	return 30 * time.Second
}

// AcceptRefer accepts the REFER waiting on call id under TransferAsk.
func (p *Phone) AcceptRefer(id CallID) error { return p.answerRefer(id, true) }

// RejectRefer refuses the REFER waiting on call id under TransferAsk; the
// referrer gets NOTIFY 603.
func (p *Phone) RejectRefer(id CallID) error { return p.answerRefer(id, false) }

func (p *Phone) answerRefer(id CallID, yes bool) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	c.mu.Lock()
	ch := c.mc.referAnswer
	c.mu.Unlock()
	if ch == nil {
		return ErrBadState
	}
	select {
	case ch <- yes:
		return nil
	default:
		return ErrBadState
	}
}

// declined is the error OnRefer returns to make diago NOTIFY a failure.
func declined(req *sip.Request, code int, reason string) error {
	return &sipgo.ErrDialogResponse{Res: sip.NewResponseFromRequest(req, code, reason, nil)}
}

// onRefer is diago's OnRefer for call c: it runs on the REFER's sipgo
// goroutine and blocks for the life of the new call (rd), which it runs as
// a phone call of its own. Once that call is answered the referring leg c
// ends as transferred.
func (p *Phone) onRefer(c *call, rd *diago.DialogClientSession) error {
	req := rd.InviteRequest
	target := req.Recipient
	target.Headers = nil
	hasReplaces := moveReplacesToHeader(req)
	referredBy := ""
	if h := req.GetHeader("Referred-By"); h != nil {
		referredBy = h.Value()
	}
	ev := ReferReceived{CallID: c.id, ReferredBy: referredBy, Target: uriString(target), Replaces: hasReplaces}
	switch p.transferPolicy() {
	case TransferReject:
		p.emit(ev)
		return declined(req, 603, "Declined")
	case TransferAsk:
		ch := make(chan bool, 1)
		c.mu.Lock()
		c.mc.referAnswer = ch
		c.mu.Unlock()
		ev.Pending = true
		p.emit(ev)
		ev.Pending = false
		t := time.NewTimer(p.transferTimeout())
		var yes bool
		select {
		case yes = <-ch:
		case <-t.C:
		case <-p.ctx.Done():
		}
		t.Stop()
		c.mu.Lock()
		c.mc.referAnswer = nil
		c.mu.Unlock()
		if !yes {
			p.emit(ev)
			return declined(req, 603, "Declined")
		}
	}
	ncID := p.newCallID()
	if err := p.authorize(CallRequest{Kind: RequestRefer, Call: ncID, Related: c.id, Target: uriString(target)}); err != nil {
		// Judged once before diago accepted the REFER (screenRefer); the
		// gate may still refuse now (a channel went in between).
		p.emit(ev)
		code, reason := refusal(err)
		return declined(req, code, reason)
	}
	ev.Accepted = true
	p.emit(ev)

	nc := &call{
		p:         p,
		id:        ncID,
		sipCallID: sip.GenerateTagN(24) + "@anyphone",
		log:       p.log,
		gone:      make(chan struct{}),
	}
	cid := sip.CallIDHeader(nc.sipCallID)
	req.AppendHeader(&cid)
	nc.info = CallInfo{
		ID:              nc.id,
		SIPCallID:       nc.sipCallID,
		Direction:       Outgoing,
		Local:           p.localParty(),
		Remote:          Party{URI: uriString(target), User: target.User},
		ReferredBy:      referredBy,
		TransferredFrom: c.id,
		Created:         time.Now(),
	}
	nc.mc.onAnswered = func() { p.endTransferred(c) }
	nc.mc.referrer = c
	if err := p.srtpDial(nc, rd); err != nil { // srtp.go: the transferred call is encrypted too
		return declined(req, 500, "Server Internal Error")
	}
	if err := p.addCall(nc); err != nil {
		// The gate may have counted it: tell the owner it ended.
		nc.finish(EndInfo{Cause: EndFailed, Code: 486, Reason: "Busy Here", Text: "refer: " + err.Error()})
		return declined(req, 486, "Busy Here")
	}
	ictx, cancel := context.WithTimeout(p.ctx, p.cfg.RingTimeout)
	nc.cancelInvite = cancel
	nc.apply(inDial, nil)
	p.wg.Add(1)
	func() {
		defer p.wg.Done()
		defer p.recoverCall(nc)
		p.runOutgoing(ictx, cancel, nc, rd, target, DialOptions{})
	}()
	info := nc.snapshot()
	if info.Answered.IsZero() {
		code, reason := 500, "Server Internal Error"
		if e := info.End; e != nil && e.Code >= 300 {
			code, reason = e.Code, e.Reason
		} else if e != nil && e.Cause == EndTimeout {
			code, reason = 408, "Request Timeout"
		}
		return declined(req, code, reason)
	}
	return nil
}

// markTransferred records that c's REFER succeeded (its new call got a
// 2xx): whatever ends c now, it ends as transferred.
func markTransferred(c *call) {
	c.mu.Lock()
	if c.info.End == nil {
		c.info.End = &EndInfo{Cause: EndTransferred, Text: "transferred by the peer"}
	}
	c.mu.Unlock()
}

// endTransferred ends the leg that referred us once the new call is up: the
// referrer normally sends BYE right after our NOTIFY 200 (RFC 5589 §6); if
// it does not within two seconds we hang up ourselves.
func (p *Phone) endTransferred(c *call) {
	markTransferred(c)
	c.mu.Lock()
	dlg := c.dialog
	c.mu.Unlock()
	p.wg.Go(func() {
		// Owned by the phone, joined by Shutdown.
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		if dlg != nil {
			select {
			case <-dlg.Context().Done():
				return
			case <-t.C:
			case <-p.ctx.Done():
			}
		}
		_ = c.hangup()
	})
}
