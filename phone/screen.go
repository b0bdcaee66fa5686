package phone

import "github.com/emiago/sipgo/sip"

// respondScreening sends the final answer a reject or redirect screening
// asks for and returns how the call ended.
func respondScreening(d interface {
	Respond(int, string, []byte, ...sip.Header) error
}, s Screening) EndInfo {
	switch s.Action {
	case ScreenRedirect:
		code, phrase := s.Code, s.Phrase
		if code == 0 {
			code, phrase = 302, "Moved Temporarily"
		}
		var target sip.Uri
		hdrs := []sip.Header{}
		if u, err := parseURI(s.Target); err == nil {
			target = u
			hdrs = append(hdrs, &sip.ContactHeader{Address: target})
		}
		for _, h := range s.Headers {
			hdrs = append(hdrs, sip.NewHeader(h[0], h[1]))
		}
		_ = d.Respond(code, phrase, nil, hdrs...)
		return EndInfo{Cause: EndRejected, Code: code, Reason: phrase, Text: "redirected to " + s.Target}
	default:
		code, phrase := s.Code, s.Phrase
		if code == 0 {
			code = 486
		}
		if phrase == "" {
			phrase = SIPPhrase(code)
		}
		reason := s.Reason
		if reason == "" {
			if q := Q850ForSIP(code); q != 0 {
				reason = ReasonHeader{Protocol: "Q.850", Cause: q, Text: Q850Text(q)}.String()
			}
		}
		var hdrs []sip.Header
		if reason != "" {
			hdrs = append(hdrs, sip.NewHeader("Reason", reason))
		}
		for _, h := range s.Headers {
			hdrs = append(hdrs, sip.NewHeader(h[0], h[1]))
		}
		_ = d.Respond(code, phrase, nil, hdrs...)
		end := EndInfo{Cause: EndRejected, Code: code, Reason: phrase}
		if r, err := ParseReason(reason); err == nil && r.Protocol == "Q.850" {
			end.Q850 = r.Cause
		}
		return end
	}
}
