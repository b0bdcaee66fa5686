package phone

import (
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sipguard"
)

// SourceRejected reports a SIP request refused because its source address
// is not in Config.AllowSources: it was answered 403 (an ACK is dropped).
// An initial INVITE refused so is a CallRefused too (rule RuleSourceACL).
type SourceRejected struct {
	Source string // host:port the request came from
	Method string // INVITE, OPTIONS, ...
	CallID string // its SIP Call-ID
}

func (SourceRejected) phoneEvent() {}

// sourceAllowed reports whether a request from src (host:port) may be
// served: always when AllowSources is empty, otherwise only when one of its
// prefixes contains the address (IPv4-mapped IPv6 counts as IPv4).
func (p *Phone) sourceAllowed(src string) bool {
	if len(p.cfg.AllowSources) == 0 {
		return true
	}
	return sipguard.AddrAllowed(p.cfg.AllowSources, src)
}

// inviteSourceAllowed applies InviteSources to an INVITE outside a dialog.
func (p *Phone) inviteSourceAllowed(req *sip.Request) bool {
	if len(p.cfg.InviteSources) == 0 || !req.IsInvite() || (req.To() != nil && req.To().Params.Has("tag")) {
		return true
	}
	return sipguard.AddrAllowed(p.cfg.InviteSources, req.Source())
}

// refuseSource answers a request from a source outside the ACL with 403
// Forbidden (RFC 3261 §21.4.4) and reports it. It is called first thing in
// the middleware, before any parsing of the body.
func (p *Phone) refuseSource(req *sip.Request, tx sip.ServerTransaction) {
	p.log.Warn("request from a source outside the ACL", "peer", req.Source(), "method", req.Method.String(), "call_id", callIDOf(req))
	p.emit(SourceRejected{Source: req.Source(), Method: req.Method.String(), CallID: callIDOf(req)})
	if req.IsAck() {
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
	if req.IsInvite() && (req.To() == nil || !req.To().Params.Has("tag")) {
		// A call refused: reported like the others (refused.go), at most
		// once a second, so a scanner's flood makes one notice a second.
		p.refusedInvite(req, 403, "Forbidden", RuleSourceACL, "source "+req.Source()+" not allowed (ACL)")
	}
}
