package phone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// A BYE is fire-and-track (issue 17): the hang-up ends the call for the
// user at once, the BYE is retransmitted in the background until the
// peer answers or Timer F (64*T1) gives up, and Shutdown joins the BYEs
// still in flight after a short grace.
//
// diago fence (LIBRARIES.md, "Hangup waits for the BYE"): diago's
// Hangup(ctx) (sipgo WriteBye) blocks the caller until the BYE is answered
// or ctx ends, terminates the BYE transaction when ctx ends (so the BYE is
// retransmitted only for as long as the caller waits, never for Timer F),
// and moves the dialog to Ended only on a 200: a silent peer left the
// dialog's context alive, so the call goroutine never saw the end, and
// diago's INVITE handler, once our handler returned, sent a second BYE on
// its own with a 10 s timeout ("hanguping call failed: context deadline
// exceeded"). We therefore never call Hangup on an established dialog: we
// start the BYE's client transaction ourselves and end the dialog locally
// at once (RFC 3261 §15.1.1: the session is over as soon as the BYE is
// passed to the client transaction), through sipgo's ReadBye with a
// transaction that sends nothing (endDialog below), so diago's handler
// finds the dialog ended and sends no BYE of its own.

// byeTimeout bounds the tracking of one BYE: Timer F (64*T1) and a margin
// for the last retransmission's answer.
var byeTimeout = 64*sip.T1 + time.Second

// byeGrace is how long Shutdown lets BYEs in flight finish before it
// terminates their transactions: peers that answer do so within
// milliseconds; silent ones must not hold the exit (2 s budget).
const byeGrace = 500 * time.Millisecond

// sendBye starts the BYE of c's established dialog (with extra headers,
// e.g. Reason), ends the dialog for us at once and tracks the BYE's
// outcome in the background. An error means no BYE left.
func (p *Phone) sendBye(c *call, dlg diago.DialogSession, extra ...sip.Header) error {
	var (
		bye   *sip.Request
		start func(context.Context, *sip.Request) (sip.ClientTransaction, error)
	)
	switch d := dlg.(type) {
	case *diago.DialogClientSession:
		if d.InviteResponse == nil {
			return errors.New("bye: no answer to our INVITE")
		}
		to := d.InviteRequest.Recipient
		if ct := d.RemoteContact(); ct != nil {
			to = ct.Address
		}
		bye = sip.NewRequest(sip.BYE, *to.Clone())
		start = d.DialogClientSession.TransactionRequest
	case *diago.DialogServerSession:
		req := d.InviteRequest
		ct := d.RemoteContact()
		if ct == nil {
			return errors.New("bye: the INVITE had no Contact")
		}
		bye = sip.NewRequest(sip.BYE, *ct.Address.Clone())
		bye.SetTransport(req.Transport())
		start = d.DialogServerSession.TransactionRequest
	default:
		return fmt.Errorf("bye: unknown dialog %T", dlg)
	}
	for _, h := range extra {
		bye.AppendHeader(h)
	}
	ctx := p.byes.context()
	tx, err := start(ctx, bye)
	if err != nil {
		return fmt.Errorf("bye: %w", err)
	}
	endDialog(dlg)
	id := c.id
	p.byes.track(func(ctx context.Context) {
		defer tx.Terminate()
		t := time.NewTimer(byeTimeout)
		defer t.Stop()
		for {
			select {
			case res := <-tx.Responses():
				if res.IsProvisional() {
					continue
				}
				if res.StatusCode >= 300 {
					p.log.Info("bye answered", "call_id", id, "code", res.StatusCode, "reason", res.Reason)
				} else {
					p.log.Debug("bye answered", "call_id", id, "code", res.StatusCode)
				}
				return
			case <-tx.Done():
				p.log.Warn("bye unanswered", "call_id", id, "err", tx.Err())
				return
			case <-t.C:
				p.log.Warn("bye unanswered", "call_id", id, "err", "timer F")
				return
			case <-ctx.Done():
				p.log.Warn("bye given up at shutdown", "call_id", id)
				return
			}
		}
	})
	return nil
}

// endDialog moves an established dialog to Ended without sending anything:
// sipgo offers no exported way but ReadBye, which answers the BYE it reads
// through the transaction it is given; nopTx drops that answer.
func endDialog(dlg diago.DialogSession) {
	switch d := dlg.(type) {
	case *diago.DialogClientSession:
		_ = d.DialogClientSession.ReadBye(localBye(d.InviteRequest), nopTx{})
	case *diago.DialogServerSession:
		_ = d.DialogServerSession.ReadBye(localBye(d.InviteRequest), nopTx{})
	}
}

// localBye is the stand-in BYE endDialog hands to ReadBye: the INVITE's
// CSeq number passes the server session's CSeq check.
func localBye(invite *sip.Request) *sip.Request {
	bye := sip.NewRequest(sip.BYE, invite.Recipient)
	if cs := invite.CSeq(); cs != nil {
		bye.AppendHeader(&sip.CSeqHeader{SeqNo: cs.SeqNo, MethodName: sip.BYE})
	}
	if h := invite.CallID(); h != nil {
		bye.AppendHeader(sip.HeaderClone(h))
	}
	return bye
}

// nopTx is a server transaction that sends nothing (endDialog).
type nopTx struct{}

var nopDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (nopTx) Respond(*sip.Response) error        { return nil }
func (nopTx) Acks() <-chan *sip.Request          { return nil }
func (nopTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (nopTx) Terminate()                         {}
func (nopTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (nopTx) Done() <-chan struct{}              { return nopDone }
func (nopTx) Err() error                         { return nil }

// byeOvertakeWait bounds how long a BYE that overtook our own handling of
// the 200 it follows is held (awaitAnswered).
const byeOvertakeWait = 2 * time.Second

// awaitAnswered holds a BYE for our outgoing call that arrives while we
// are still handling the callee's 200: a callee that hangs up as soon as
// our ACK reaches it (RFC 3261 lets it) can have its BYE here before diago
// has stored the dialog under its final tags; diago then answers 481 and
// the call stays up on our side for ever (the soak's blind transfer, 1 in
// 200 under -race). The dialog is ours from the 200 on (RFC 3261 §12.1.1),
// so the BYE waits, at most byeOvertakeWait, until the call is active or
// ended, as an INVITE with Replaces waits for its ACK (replaces.go).
func (p *Phone) awaitAnswered(req *sip.Request) {
	if req.Method != sip.BYE {
		return
	}
	c := p.callFor(req)
	if c == nil {
		return
	}
	for wait := time.Now().Add(byeOvertakeWait); time.Now().Before(wait); {
		c.mu.Lock()
		dir, st := c.info.Direction, c.info.State
		c.mu.Unlock()
		if dir != Outgoing || (st != CallDialing && st != CallRinging && st != CallEarly) {
			return
		}
		time.Sleep(5 * time.Millisecond) // the call goroutine sets the state once diago has the dialog
	}
}
