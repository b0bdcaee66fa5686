package phone

import (
	"errors"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// sipgo fence (LIBRARIES.md, "no ACK for a 2xx"): sipgo's
// DialogServerSession.WriteResponse waits for the ACK of our 200 in a loop
// whose Timer H branch is a time.After(64*T1) re-armed on every pass; the
// 200 is retransmitted every T2 (4 s), so that branch never fires. The wait
// only ends when the INVITE server transaction is gone (Timer L, 64*T1)
// and the next retransmission fails with ErrTransactionTerminated, which
// diago's Answer returns. Taken as "answered", such a call went active and
// stayed up for ever without an ACK (issue 17). RFC 3261 §13.3.1.4: after
// 64*T1 without ACK the dialog is confirmed but the session SHOULD be
// terminated with a BYE: noAck recognises that outcome so that
// serveIncoming ends the call.

// noAck reports whether Answer's err means our 200 was never ACKed within
// 64*T1: the transaction is gone and the dialog never got confirmed.
func noAck(d *diago.DialogServerSession, err error) bool {
	return errors.Is(err, sip.ErrTransactionTerminated) && d.LoadState() < sip.DialogStateConfirmed
}

// endUnacked ends an incoming call whose 200 was never ACKed: BYE (tracked
// in the background, bye.go) and the call ends as a timeout.
func (p *Phone) endUnacked(c *call, d *diago.DialogServerSession) {
	c.log.Warn("no ACK for our 200 within 64*T1: ending the call (RFC 3261 §13.3.1.4)", "call_id", c.id)
	c.mu.Lock()
	c.dialog = d
	c.ending = true
	c.mu.Unlock()
	if err := p.sendBye(c, d); err != nil {
		c.log.Warn("bye after no ACK", "call_id", c.id, "err", err)
	}
	c.finish(EndInfo{Cause: EndTimeout, Text: "no ACK for our 200 (RFC 3261 §13.3.1.4)"})
}
