package phone

// The gate: one place that decides about every call this phone would place
// or let take over another. A B2BUA (anydevice) is a toll-fraud target on
// every path that makes it send an INVITE, not only on its front door, so
// the phone asks Config.Authorize before each one: a Dial, a peer's REFER
// (RFC 3515), and an incoming INVITE with Replaces (RFC 3891) that would
// take over a confirmed call. A 3xx to a call we placed is never followed
// (RFC 3261 §8.1.3.4 leaves it to the UAC); it is reported as
// RedirectReceived so that the owner can record it.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RequestKind says which path would place a call.
type RequestKind int

const (
	// RequestUnknown is the zero value; the phone never asks with it.
	RequestUnknown RequestKind = iota
	// RequestDial is Phone.Dial.
	RequestDial
	// RequestRefer is a REFER received on Related, asking us to call Target.
	RequestRefer
	// RequestReplaces is an incoming INVITE whose Replaces header names
	// Related, a confirmed call of ours, to be taken over by Call.
	RequestReplaces
)

// String returns the kind's name.
func (k RequestKind) String() string {
	switch k {
	case RequestDial:
		return "dial"
	case RequestRefer:
		return "refer"
	case RequestReplaces:
		return "replaces"
	default:
		return fmt.Sprintf("RequestKind(%d)", int(k))
	}
}

// CallRequest is a call the phone is about to place or let in.
type CallRequest struct {
	Kind RequestKind
	// Call is the new call's id; empty on a probe.
	Call CallID
	// Related is the call the REFER arrived on, or the call a Replaces
	// INVITE would take over.
	Related CallID
	// Target is the SIP URI the new call would go to (RequestDial,
	// RequestRefer), or the Request-URI of a Replaces INVITE.
	Target string
	// Owner is DialOptions.Owner for RequestDial; the phone sets nothing
	// for the other kinds (the owner knows whose Related is).
	Owner string
	// Source is the address (host:port) a REFER or Replaces INVITE came
	// from; empty for RequestDial.
	Source string
	// Probe is true when the phone only asks: a REFER is judged before it
	// is accepted, so that a refusal is answered 403 on the REFER itself
	// (RFC 3515 §2.4.2); the same request comes again, not as a probe,
	// with Call set, when the call is placed. A gate takes resources
	// (channels) on the second ask only.
	Probe bool
}

// AuthorizeFunc is the gate: nil error lets the call go. It runs on the
// goroutine that would send the INVITE, before it is built, and may block
// briefly (it must not call back into the phone for Related). Every call
// it lets go (Probe false) later ends with a CallChanged in state
// CallEnded, even one that could not be placed at all, so a gate that
// counts calls can count them back.
type AuthorizeFunc func(CallRequest) error

// ForbiddenError is a refusal that names the rule and the SIP answer a
// gate wants (403 when Code is 0). Any other error refuses with 403 too.
type ForbiddenError struct {
	Rule   string
	Code   int
	Reason string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("phone: refused by rule %s", e.Rule)
}

// ErrRefused marks every refusal of the gate: errors.Is(err, ErrRefused)
// holds for what Dial returns when the gate said no.
var ErrRefused = errors.New("phone: refused by the call gate")

// RedirectReceived reports a 3xx final answer to a call we placed. The
// phone does not follow it: the call ends with the 3xx as its end code.
type RedirectReceived struct {
	CallID  CallID
	Code    int
	Reason  string
	Targets []string // the Contact URIs, in order
}

func (RedirectReceived) phoneEvent() {}

// authorize asks the gate; nil when there is none.
func (p *Phone) authorize(r CallRequest) error {
	if p.cfg.Authorize == nil {
		return nil
	}
	if err := p.cfg.Authorize(r); err != nil {
		p.log.Warn("call refused by the gate", "kind", r.Kind.String(), "call_id", r.Call, "related", r.Related, "target", r.Target, "err", err)
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// refusal is the SIP code and phrase for a gate's error.
func refusal(err error) (int, string) {
	var fe *ForbiddenError
	if errors.As(err, &fe) && fe.Code >= 400 && fe.Code <= 699 {
		reason := fe.Reason
		if reason == "" {
			reason = SIPPhrase(fe.Code)
		}
		return fe.Code, reason
	}
	return 403, "Forbidden"
}

// screenRefer judges an in-dialog REFER before diago accepts it (diago
// answers 202 before it asks us anything, LIBRARIES §2.8): a refusal is
// answered here, 403, and never reaches diago. False means it was answered.
func (p *Phone) screenRefer(req *sip.Request, tx sip.ServerTransaction) bool {
	if p.cfg.Authorize == nil || req.Method != sip.REFER {
		return true
	}
	c := p.callFor(req)
	if c == nil {
		return true // diago answers 481 for a REFER outside a dialog
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		return true // diago answers 400
	}
	var uri sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(h.Value(), &uri, &params); err != nil {
		return true // diago answers 400
	}
	uri.Headers = nil
	target := uriString(uri)
	if uri.User == "" && uri.Host == "" {
		// sipgo keeps nothing of a tel: URI: judge what the peer wrote.
		target = strings.TrimSpace(strings.Trim(strings.TrimSpace(h.Value()), "<>"))
	}
	err := p.authorize(CallRequest{Kind: RequestRefer, Related: c.id, Target: target, Source: req.Source(), Probe: true})
	if err == nil {
		return true
	}
	code, reason := refusal(err)
	p.emit(ReferReceived{CallID: c.id, ReferredBy: referredBy(req), Target: target})
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	return false
}

func referredBy(req *sip.Request) string {
	if h := req.GetHeader("Referred-By"); h != nil {
		return h.Value()
	}
	return ""
}

// redirectTargets lists the Contact URIs of a 3xx.
func redirectTargets(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		var uri sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(h.Value(), &uri, &params); err == nil {
			out = append(out, uriString(uri))
		}
	}
	return out
}

// unplaced reports a call the gate let go that could not be placed, so that
// a gate counting calls sees it end.
func (p *Phone) unplaced(id CallID, err error) {
	if p.cfg.Authorize == nil {
		return
	}
	now := time.Now()
	p.emit(CallChanged{Call: CallInfo{ID: id, Direction: Outgoing, State: CallEnded, Created: now, Ended: now,
		End: &EndInfo{Cause: EndFailed, Text: err.Error()}}})
}
