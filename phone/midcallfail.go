package phone

import (
	"context"
	"errors"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// reinviteTimeout bounds our wait for the answer to a re-INVITE: Timer B
// (64*T1) and a margin, so that the transaction's own timeout, not our
// context, reports the silence.
var reinviteTimeout = 64*sip.T1 + 2*sip.T1

// dialogGone reports whether err, the outcome of a request we sent inside
// a dialog, means the dialog is over: RFC 3261 §12.2.1.2: "If the response
// for a request within a dialog is a 481 (Call/Transaction Does Not Exist)
// or a 408 (Request Timeout), the UAC SHOULD terminate the dialog. A UAC
// SHOULD also terminate a dialog if no response at all is received for the
// request (the client transaction would inform the TU about the timeout.)"
func dialogGone(err error) (code int, gone bool) {
	var e1 *sipgo.ErrDialogResponse
	var e2 sipgo.ErrDialogResponse
	var res *sip.Response
	switch {
	case errors.As(err, &e1):
		res = e1.Res
	case errors.As(err, &e2):
		res = e2.Res
	}
	if res != nil {
		c := int(res.StatusCode)
		return c, c == 408 || c == 481
	}
	if errors.Is(err, sip.ErrTransactionTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return 408, true
	}
	if errors.Is(err, sip.ErrTransactionTransport) {
		// The peer vanished (inflight.go): no response will ever come.
		// RFC 3261 §8.1.3.1 treats a transport error like a 503.
		return 503, true
	}
	return 0, false
}

// endAfterFailedRequest ends c when err (the outcome of our re-INVITE)
// says the dialog is over (dialogGone): the call ends as a timeout (no
// answer, 408) or with the peer's 481, BYE tracked in the background
// (bye.go). It reports whether it ended the call.
func (c *call) endAfterFailedRequest(what string, err error) bool {
	code, gone := dialogGone(err)
	if !gone {
		return false
	}
	end := EndInfo{Cause: EndTimeout, Code: code, Reason: SIPPhrase(code), Text: what + ": no answer (RFC 3261 §12.2.1.2)"}
	if code == 503 {
		end = EndInfo{Cause: EndFailed, Code: code, Reason: SIPPhrase(code), Text: what + ": the peer is unreachable (RFC 3261 §8.1.3.1)"}
	}
	if code == 481 {
		end = EndInfo{Cause: EndFailed, Code: code, Reason: SIPPhrase(code), Text: what + ": the peer lost the dialog (RFC 3261 §12.2.1.2)"}
	}
	c.log.Warn("ending the call after "+what, "call_id", c.id, "err", err)
	c.mu.Lock()
	if c.info.State == CallEnded || c.ending {
		c.mu.Unlock()
		return true
	}
	c.info.End = &end
	c.mu.Unlock()
	_ = c.hangup()
	return true
}
