package phone

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Why the peer hung up: a BYE's Reason header (RFC 3326: Q.850 or SIP
// cause and text) and a Lync / Skype for Business ms-diagnostics(-public)
// header, recorded on the call when the BYE arrives and put in the
// EndInfo of the remote hang-up. ms-diagnostics of a final response to
// our INVITE go in that call's EndInfo too (call.go, inviteError).

// Diagnostic is an ms-diagnostics(-public) header (vocab).
type Diagnostic = vocab.Diagnostic

// ParseDiagnostic is vocab.ParseDiagnostic.
func ParseDiagnostic(value string, public bool) (Diagnostic, error) {
	return vocab.ParseDiagnostic(value, public)
}

// diagnosticOf is the first ms-diagnostics(-public) of a message.
func diagnosticOf(m sip.Message) Diagnostic {
	return vocab.DiagnosticOf(func(name string) []string {
		var out []string
		for _, h := range m.GetHeaders(name) {
			out = append(out, h.Value())
		}
		return out
	})
}

// noteBye records what a BYE for one of our calls says, before the dialog
// layer ends the call. Called by the middleware for every BYE.
func (p *Phone) noteBye(req *sip.Request) {
	if req.Method != sip.BYE {
		return
	}
	c := p.callFor(req)
	if c == nil {
		return
	}
	end := EndInfo{Cause: EndRemoteHangup, Diagnostic: diagnosticOf(req)}
	for _, h := range req.GetHeaders("Reason") {
		rs, err := ParseReasons(h.Value())
		if err != nil {
			continue
		}
		for _, r := range rs {
			switch {
			case strings.EqualFold(r.Protocol, "Q.850"):
				end.Q850 = r.Cause
				if r.Text != "" {
					end.Text = r.Text
				}
			case end.Text == "":
				end.Text = fmt.Sprintf("%s cause %d", r.Protocol, r.Cause)
				if r.Text != "" {
					end.Text += ": " + r.Text
				}
			}
		}
	}
	if end.Q850 == 0 && end.Text == "" && end.Diagnostic.IsZero() {
		return
	}
	c.mu.Lock()
	c.bye = &end
	c.mu.Unlock()
}

// remoteHangup is the EndInfo of a call the peer ended: what its BYE said.
func (c *call) remoteHangup() EndInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mc.replacedAt != "" {
		// The consultation call of our attended transfer, BYEd by the
		// target that replaced it (transfer.go).
		return EndInfo{Cause: EndTransferred, Text: "replaced at " + c.mc.replacedAt}
	}
	if c.bye != nil {
		return *c.bye
	}
	return EndInfo{Cause: EndRemoteHangup}
}
