package phone

// Being transferred, on our own: diago v0.31 answers a REFER with 202 and
// then sends NOTIFY 100 and waits for its answer before it calls the
// target, and sends the final NOTIFY 200 from inside the new dialog's state
// callback, waiting again (LIBRARIES §2.8). A transferor that goes silent
// after the 202 (a bot that dropped its state) therefore held the transfer
// for Timer F: the target was never called, or sat "ringing" after its
// 200/ACK. RFC 3515 does not make the transfer wait for the transferor's
// answers to NOTIFY, so this file takes the REFER from diago: it answers
// 202, hands the NOTIFYs to a notifier that sends them in order, each
// bounded by a timer, and calls the target at once (onRefer). A silent
// transferor costs a timer, never the transfer.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// notifyTimeout bounds one NOTIFY of a transfer we carry out.
const notifyTimeout = 4 * time.Second

// serveRefer carries out an in-dialog REFER for a confirmed call; false
// means it is not ours to take (no such call, no dialog yet), and diago
// answers it.
func (p *Phone) serveRefer(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.Method != sip.REFER {
		return false
	}
	c := p.callFor(req)
	if c == nil {
		return false
	}
	c.mu.Lock()
	dlg := c.dialog
	c.mu.Unlock()
	if dlg == nil {
		return false
	}
	reply := func(code int, reason string) bool {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
		return true
	}
	// RFC 3515 §2.4.2: exactly one Refer-To.
	hs := req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		return reply(400, "Bad Request")
	}
	var referTo sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(hs[0].Value(), &referTo, &params); err != nil || referTo.Host == "" {
		return reply(400, "Bad Request")
	}
	contact := req.Contact()
	if contact == nil {
		return reply(400, "Bad Request")
	}
	if !reply(202, "Accepted") {
		return true
	}
	n := newReferNotifier(p, c, dlg, contact.Address)
	referredBy, replaces := req.GetHeader("Referred-By"), req.GetHeader("Replaces")
	p.wg.Go(func() {
		// The transfer's goroutine: owned by the phone, joined by Shutdown.
		defer n.close()
		n.send(100, "Trying", false)
		rd, err := p.dg.NewDialog(referTo, diago.NewDialogOptions{Transport: transportOf(referTo, p.cfg.Transport)})
		if err != nil {
			n.send(503, "Service Unavailable", true)
			return
		}
		defer func() { _ = rd.Close() }()
		if referredBy != nil {
			rd.InviteRequest.AppendHeader(sip.HeaderClone(referredBy))
		}
		if replaces != nil { // as diago did; Refer-To's ?Replaces= is the standard form (onRefer)
			rd.InviteRequest.AppendHeader(sip.HeaderClone(replaces))
		}
		// The final NOTIFY is queued, never sent, from diago's state
		// callback: the new call goes on while it is in flight.
		rd.OnState(func(s sip.DialogState) {
			if s == sip.DialogStateConfirmed {
				n.send(200, "OK", true)
			}
		})
		err = p.onRefer(c, rd)
		var de *sipgo.ErrDialogResponse
		switch {
		case err == nil:
			n.send(200, "OK", true) // a no-op when the state callback sent it
		case errors.As(err, &de):
			n.send(int(de.Res.StatusCode), de.Res.Reason, true)
		default:
			n.send(500, "Server Internal Error", true)
		}
	})
	return true
}

// referNotifier sends the NOTIFYs of one transfer in order (RFC 3515
// §2.4.4), each bounded by notifyTimeout, without ever making the transfer
// wait; after the final one it sends nothing more.
type referNotifier struct {
	p      *Phone
	c      *call
	dlg    diago.DialogSession
	target sip.Uri

	mu    sync.Mutex
	queue []sip.Request
	final bool
	wake  chan struct{}
	done  chan struct{}
}

func newReferNotifier(p *Phone, c *call, dlg diago.DialogSession, target sip.Uri) *referNotifier {
	n := &referNotifier{p: p, c: c, dlg: dlg, target: target, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.wg.Go(n.run) // owned by the phone, ends after the final NOTIFY or at Shutdown
	return n
}

// send queues a NOTIFY carrying "SIP/2.0 code reason"; final terminates
// the implicit subscription (reason noresource).
func (n *referNotifier) send(code int, reason string, final bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.final {
		return
	}
	n.final = final
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req := sip.NewRequest(sip.NOTIFY, n.target)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason))
	n.queue = append(n.queue, *req)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// close says no more NOTIFYs will be queued: one is sent as final if none
// was (a transfer always ends its subscription).
func (n *referNotifier) close() {
	n.mu.Lock()
	final := n.final
	n.mu.Unlock()
	if !final {
		n.send(500, "Server Internal Error", true)
	}
}

func (n *referNotifier) run() {
	defer close(n.done)
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			final := n.final
			n.mu.Unlock()
			if final {
				return
			}
			select {
			case <-n.wake:
				continue
			case <-n.p.ctx.Done():
				return
			}
		}
		req := n.queue[0]
		n.queue = n.queue[1:]
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(n.p.ctx, notifyTimeout)
		res, err := n.dlg.Do(ctx, &req)
		cancel()
		switch {
		case err != nil:
			n.p.log.Info("refer notify unanswered", "call_id", n.c.id, "frag", string(req.Body()), "err", err)
		case res.StatusCode >= 300:
			n.p.log.Info("refer notify refused", "call_id", n.c.id, "frag", string(req.Body()), "code", res.StatusCode)
		}
	}
}

// String names the notifier for logs.
func (n *referNotifier) String() string { return fmt.Sprintf("refer notifier of %s", n.c.id) }
