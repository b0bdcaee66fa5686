package phone

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Redirect answers an incoming call that is still ringing with 302 Moved
// Temporarily and a Contact of target (RFC 3261 §21.3.3), plus the extra
// headers given as name/value pairs (History-Info, Diversion). It is the
// redirect counterpart of Reject for a call already alerting, where
// Config.Screen (which decides before the 180) is too early: a follow-me
// controller sends a call to voicemail once every device declined. The call
// ends with EndRejected, code 302.
func (p *Phone) Redirect(id CallID, target string, headers [][2]string) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	if c.info.Direction != Incoming || c.state() != CallIncoming {
		return ErrBadState
	}
	u, err := parseURI(target)
	if err != nil {
		return fmt.Errorf("phone: redirect target %q: %w", target, err)
	}
	hdrs := []sip.Header{&sip.ContactHeader{Address: u}}
	for _, h := range headers {
		hdrs = append(hdrs, sip.NewHeader(h[0], h[1]))
	}
	if !c.apply(inLocalEnd, func(ci *CallInfo) {}) {
		return ErrBadState
	}
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	// The incoming handler sends a non-answer decision as the final
	// response with these headers (call.go), so a 302 needs no path of
	// its own there.
	c.decision <- decision{code: 302, reason: "Moved Temporarily", hdrs: hdrs}
	return nil
}
