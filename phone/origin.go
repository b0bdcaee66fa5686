package phone

import "github.com/emiago/sipgo/sip"

// keepOrigin applies the call's sdpfence.Origin to body.
func (p *Phone) keepOrigin(callID string, body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	p.mu.Lock()
	c := p.bySIP[callID]
	p.mu.Unlock()
	if c == nil {
		return body
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.origin.Keep(body)
}

// keepOriginResponse fixes the o= of a 2xx with SDP we send to an INVITE.
func (p *Phone) keepOriginResponse(req *sip.Request, res *sip.Response) {
	if req.IsInvite() && res.StatusCode >= 200 && res.StatusCode < 300 && len(res.Body()) > 0 {
		res.SetBody(p.keepOrigin(callIDOf(req), res.Body()))
	}
}
