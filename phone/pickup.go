package phone

// Directed call pickup (RFC 4235 §4, RFC 3891, RFC 5359 §2.12): a
// colleague who sees our call ringing at someone else (from that
// someone's dialog state) sends us, the caller, an INVITE with
// Replaces: our Call-ID; to-tag = our tag; from-tag = the ringing
// party's tag[; early-only]. We answer it without alerting and CANCEL the
// ringing call with Reason: SIP;cause=200;text="Call completed
// elsewhere", so the phone that rang stops with "answered elsewhere" and
// journals no missed call. Replaces of confirmed calls stays in
// replaces.go.

import "github.com/emiago/sipgo/sip"

// toTagOf returns the To tag of a request: on an incoming INVITE, sipgo
// has put our own tag there already (it is the same on every response).
func toTagOf(req *sip.Request) string {
	if t := req.To(); t != nil {
		tag, _ := t.Params.Get("tag")
		return tag
	}
	return ""
}

// matchEarlyReplaces matches a Replaces against an outgoing call of ours
// that is still ringing. handled is false when c is no such call (then
// replaces.go matches confirmed calls); with handled true, nil means the
// tags do not match (481). The ringing party's tag is not checked: a
// forking proxy gives the call several early dialogs, and the one that
// rings at the colleague's watched phone is any of them.
func (p *Phone) matchEarlyReplaces(c *call, r replacesInfo) (match *call, handled bool) {
	c.mu.Lock()
	st, dir, od := c.info.State, c.info.Direction, c.outDialog
	c.mu.Unlock()
	if dir != Outgoing || (st != CallDialing && st != CallRinging && st != CallEarly) {
		return nil, false
	}
	if od == nil || od.InviteRequest == nil {
		return nil, true
	}
	if fromTagOf(od.InviteRequest) != r.ToTag {
		return nil, true
	}
	return c, true
}

// endPickedUp ends an outgoing call that was still ringing when a pickup
// replaced it: CANCEL with Reason cause 200. False for any other call.
func (p *Phone) endPickedUp(old *call) bool {
	old.mu.Lock()
	st, dir := old.info.State, old.info.Direction
	if dir != Outgoing || (st != CallDialing && st != CallRinging && st != CallEarly) {
		old.mu.Unlock()
		return false
	}
	if old.info.End == nil {
		old.info.End = &EndInfo{Cause: EndTransferred, Text: "picked up"}
	}
	old.mu.Unlock()
	if err := p.HangupWithReason(old.id, ReasonCompletedElsewhere); err != nil {
		p.log.Info("picked-up call: cancel", "call_id", old.id, "err", err)
	}
	return true
}
