package phone

import (
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The CallInfo.Rule of an initial INVITE the phone refused before a call
// existed for it (CallRefused).
const (
	// RuleStrictHold: Config.StrictHold's 488 to a held initial offer.
	RuleStrictHold = "strict-hold"
	// RuleUnsupportedMedia: 415, a body that is not SDP.
	RuleUnsupportedMedia = "unsupported-media"
	// RuleBadSDP: 400 or 488, an offer we cannot use (phone/internal/sdpfence).
	RuleBadSDP = "bad-sdp"
	// RuleMaxCalls: 486, Config.MaxCalls calls exist already.
	RuleMaxCalls = "max-calls"
	// RuleSourceACL: 403, the source is outside Config.AllowSources or
	// Config.InviteSources (acl.go).
	RuleSourceACL = "source-acl"
	// RuleSessionInterval: 422 (RFC 4028 §6), a Session-Expires below our
	// Min-SE, or 400 for one that is no number. A caller that knows RFC
	// 4028 retries with our Min-SE, so a 422 is often followed by the call.
	RuleSessionInterval = "session-interval"
	// RuleBadExtension: 420 (RFC 3261 §8.2.2.3), a Require we do not support.
	RuleBadExtension = "bad-extension"
	// RuleNotAcceptable: 406 (RFC 3261 §21.4.7), an Accept without SDP.
	RuleNotAcceptable = "not-acceptable"
	// RuleInvalidRequest: the other faults request validation answers
	// (400 a header missing or doubled, 416 URI scheme, 505 version; internal/sipguard).
	RuleInvalidRequest = "invalid-request"
	// RuleSRTP: 488, an offer without the SRTP Config.SRTP requires (srtp.go).
	RuleSRTP = "srtp"
)

// RefusalRules are the rules of CallRefused, for owners that treat a
// refused INVITE as declined by this phone rather than a missed call.
var RefusalRules = []string{RuleStrictHold, RuleUnsupportedMedia, RuleBadSDP, RuleMaxCalls,
	RuleSourceACL, RuleSessionInterval, RuleBadExtension, RuleNotAcceptable, RuleInvalidRequest, RuleSRTP}

// refusalWindow is how often one rule is reported at most: a flood of
// refused INVITEs (max-calls under load, a scanner sending garbage) makes
// one report per window, the later ones counted in its Why, so the
// owner's notices and journal do not grow with the flood.
const refusalWindow = time.Second

// CallRefused reports an initial INVITE the phone refused before a call
// existed for it (Config.StrictHold's 488 to a held offer, 415 to a body
// that is not SDP, 400/488 to an unusable offer, 486 at Config.MaxCalls,
// 403 from the source ACL, 422 to a short Session-Expires that the caller
// did not retry with our Min-SE within retryWindow, 420 / 406 / 400
// / 416 / 505 from request validation).
// The CallChanged of that call, already ended with the refusal, follows
// it, so that the owner shows and journals it like any other call.
//
// At most one refusal per rule is reported per second; Count is how many
// INVITEs it stands for (1, or the refusals of the last second after the
// first one was reported), the call being the last of them.
//
// The 503 of overload shedding (Config.OverloadDelay, internal/sipguard)
// is never reported: it answers for a phone that has no time to spare,
// and reporting each one would add load exactly then.
type CallRefused struct {
	Call  CallInfo
	Why   string
	Count int
}

func (CallRefused) phoneEvent() {}

// refusalLimiter aggregates refusals per rule (refusalWindow).
type refusalLimiter struct {
	mu    sync.Mutex
	rules map[string]*refusalRule
	// retry holds the 422s not reported yet, by SIP Call-ID: a caller
	// that knows RFC 4028 retries at once with our Min-SE on the same
	// Call-ID, and that negotiation is no refused call (retryWindow).
	retry map[string]*time.Timer
}

// retryWindow is how long a 422 waits for the caller's retry before it
// is reported as a refused call.
const retryWindow = 2 * time.Second

// refusedRetryable reports a 422 unless the caller retries the INVITE on
// the same Call-ID within retryWindow (retried).
func (p *Phone) refusedRetryable(req *sip.Request, code int, reason, rule, why string) {
	if req.CallID() == nil {
		return
	}
	id := callIDOf(req)
	l := &p.refusals
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retry == nil {
		l.retry = make(map[string]*time.Timer)
	}
	if t := l.retry[id]; t != nil {
		t.Stop()
	}
	l.retry[id] = time.AfterFunc(retryWindow, func() {
		l.mu.Lock()
		_, pending := l.retry[id]
		delete(l.retry, id)
		l.mu.Unlock()
		if pending {
			p.refusedInvite(req, code, reason, rule, why)
		}
	})
}

// retried drops the pending 422 report of an INVITE's Call-ID: the
// caller came back with a new Session-Expires.
func (p *Phone) retried(req *sip.Request) {
	if req.CallID() == nil {
		return
	}
	l := &p.refusals
	l.mu.Lock()
	if t := l.retry[callIDOf(req)]; t != nil {
		t.Stop()
		delete(l.retry, callIDOf(req))
	}
	l.mu.Unlock()
}

type refusalRule struct {
	open bool      // a report went out less than refusalWindow ago
	n    int       // refusals held back since
	last CallInfo  // the last of them
	why  string    // its Why
	t    time.Time // first held back
}

// refusedInvite reports an initial INVITE answered code before it became a
// call; rule names why (recorded as CallInfo.Rule).
func (p *Phone) refusedInvite(req *sip.Request, code int, reason, rule, why string) {
	if req.From() == nil || req.CallID() == nil {
		return // too broken to name a caller: logged where it was answered
	}
	now := time.Now()
	ci := CallInfo{
		ID:         p.newCallID(),
		SIPCallID:  callIDOf(req),
		SIPFromTag: fromTagOf(req),
		Direction:  Incoming,
		State:      CallEnded,
		Remote:     remoteParty(req),
		Screen:     ScreenReject,
		Rule:       rule,
		Headers:    interestingHeaders(req),
		Created:    now,
		Ended:      now,
		End:        &EndInfo{Cause: EndRejected, Code: code, Reason: reason, Text: why},
	}
	if to := req.To(); to != nil {
		ci.Local = partyOf(to.DisplayName, to.Address)
	}
	p.log.Info("initial INVITE refused", "call_id", ci.ID, "sip_call_id", ci.SIPCallID, "code", code, "rule", rule)
	if p.ladders != nil && !p.cfg.NoTrace {
		// Its ladder (the INVITE and our answer) is read by the call's
		// id like any call's: ctl ladder cN, the TUI's dialog list.
		p.ladders.link(ci.ID, ci.SIPCallID)
	}
	l := &p.refusals
	l.mu.Lock()
	if l.rules == nil {
		l.rules = make(map[string]*refusalRule)
	}
	r := l.rules[rule]
	if r == nil {
		r = &refusalRule{}
		l.rules[rule] = r
	}
	if r.open {
		if r.n == 0 {
			r.t = now
		}
		r.n++
		r.last, r.why = ci, why
		l.mu.Unlock()
		return
	}
	r.open = true
	l.mu.Unlock()
	time.AfterFunc(refusalWindow, func() { p.refusalWindowEnd(rule) })
	p.reportRefusal(ci, why, 1)
}

// refusalWindowEnd reports the refusals of rule held back in the window
// that ends, as one, and opens the next window if there were any.
func (p *Phone) refusalWindowEnd(rule string) {
	l := &p.refusals
	l.mu.Lock()
	r := l.rules[rule]
	if r == nil || r.n == 0 {
		if r != nil {
			r.open = false
		}
		l.mu.Unlock()
		return
	}
	ci, why, n, since := r.last, r.why, r.n, r.t
	r.n = 0
	l.mu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	time.AfterFunc(refusalWindow, func() { p.refusalWindowEnd(rule) })
	why = fmt.Sprintf("%s; %d more refused in %s", why, n, time.Since(since).Round(10*time.Millisecond))
	ci.End.Text = why
	p.reportRefusal(ci, why, n)
}

func (p *Phone) reportRefusal(ci CallInfo, why string, n int) {
	p.emit(CallRefused{Call: ci, Why: why, Count: n})
	p.emit(CallChanged{Call: ci})
}
