package phone

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// RuleStrictHold is the CallInfo.Rule of a call Config.StrictHold refused.
const RuleStrictHold = "strict-hold"

// CallRefused reports an initial INVITE the phone refused before a call
// existed for it (Config.StrictHold's 488 to a held offer). The
// CallChanged of that call, already ended with the refusal, follows it, so
// that the owner shows and journals it like any other call.
type CallRefused struct {
	Call CallInfo
	Why  string
}

func (CallRefused) phoneEvent() {}

// refusedInvite reports an initial INVITE answered code before it became a
// call; rule names why (recorded as CallInfo.Rule).
func (p *Phone) refusedInvite(req *sip.Request, code int, reason, rule, why string) {
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
	p.emit(CallRefused{Call: ci, Why: why})
	p.emit(CallChanged{Call: ci})
}
