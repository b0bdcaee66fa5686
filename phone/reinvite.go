package phone

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// midcall is one call's mid-call control state: hold, transfer, conference.
// Fields are guarded by call.mu except reinvite, which is held across the
// network exchange it serialises.
type midcall struct {
	// reinvite serialises our own re-INVITEs and REFERs on the dialog
	// (Hold, Resume, Toggle, transfer): RFC 3261 §14.1 forbids a second
	// INVITE transaction while one is pending, and diago's re-INVITE path
	// races with itself (LIBRARIES §3 rows 7 and 8). A 491 from a peer
	// whose own re-INVITE crossed ours is retried by diago after 2.1-4 s
	// (reInviteDo), which is what §14.1 asks of the Call-ID owner.
	reinvite sync.Mutex

	// initialHold: the INVITE offered a held SDP (DialOptions.Hold).
	initialHold bool
	// triedHold lists dialects a peer refused with 488.
	triedHold []HoldDialect
	// onAnswered runs once the call is active (calls placed for a REFER
	// end the referring leg then).
	onAnswered func()
	// referAnswer receives the user's decision on a REFER under
	// TransferAsk (AcceptRefer / RejectRefer).
	referAnswer chan bool
	// transfer is the REFER we sent and are waiting on, nil otherwise.
	transfer *transferState
	// conf links this call's media with another one (conference.go).
	conf *confLink
	// tePT is the peer's telephone-event payload type when it is not
	// diago's 101 (dtmf.go); 0 otherwise.
	tePT int
}

// handleUpdate answers UPDATE (RFC 3311), which diago does not register
// (sipgo would answer 405). A session refresh without a body gets 200 with
// our Contact; an UPDATE carrying an offer gets 488: we renegotiate media
// only by re-INVITE, which diago implements. Unknown dialogs get 481.
func (p *Phone) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	c := p.bySIP[callIDOf(req)]
	p.mu.Unlock()
	if c == nil || c.state() == CallEnded {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) > 0 {
		res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 anyphone "use re-INVITE to change media"`))
		_ = tx.Respond(res)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.Name, Host: p.host, Port: p.port}})
	_ = tx.Respond(res)
}
