package phone

import (
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ScreenAction is what to do with an incoming call before it rings.
type ScreenAction int

const (
	ScreenRing     ScreenAction = iota // alert the user (the default)
	ScreenWait                         // alert with the call-waiting cue
	ScreenSilent                       // keep it ringing, no alert
	ScreenReject                       // answer Code (486, 480, 603, ...) at once
	ScreenRedirect                     // answer 302 to Target (voicemail)
)

func (a ScreenAction) String() string {
	switch a {
	case ScreenWait:
		return "wait"
	case ScreenSilent:
		return "silent"
	case ScreenReject:
		return "reject"
	case ScreenRedirect:
		return "redirect"
	default:
		return "ring"
	}
}

// MarshalText makes actions readable in JSON.
func (a ScreenAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Screening is the decision about one incoming call, made by Config.Screen
// before the call is published (so every event already carries it).
type Screening struct {
	Action ScreenAction `json:"action"`
	// Rule names the rule that decided (recorded in CallInfo and journal).
	Rule string `json:"rule,omitempty"`
	// Code/Phrase for ScreenReject; Reason is the Reason header value
	// (e.g. Q.850;cause=17;text="User busy").
	Code   int    `json:"code,omitempty"`
	Phrase string `json:"phrase,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Target for ScreenRedirect (the Contact of the 302), and the headers
	// that go with it (Diversion, History-Info: RFC 5806, RFC 7044).
	Target  string      `json:"target,omitempty"`
	Headers [][2]string `json:"-"`
	// NoAnswer, if > 0, applies NoAnswerThen after the call rang that long
	// unanswered (a Screening with ScreenReject or ScreenRedirect).
	NoAnswer     time.Duration `json:"no_answer,omitempty"`
	NoAnswerThen *Screening    `json:"-"`
}

// ScreenFunc decides about an incoming call; it runs on the call's
// goroutine before the call is published and must not block for long.
type ScreenFunc func(CallInfo) Screening

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

func (s Screening) String() string { return fmt.Sprintf("%s(%s)", s.Action, s.Rule) }
