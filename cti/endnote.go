package cti

import (
	"fmt"
	"strings"

	"github.com/anyphone/anyphone/phone"
)

// What happened to a call beyond its outcome, for the user and the
// journal's note: the redirects a call we placed followed (phone/follow.go)
// and why one was not followed.

// redirected publishes a followed 3xx as an event and a notice.
func (s *Service) redirected(e phone.RedirectFollowed) {
	s.publish(Redirected{CallID: e.CallID, Hop: e.Hop, Redirect: e.Redirect})
	text := fmt.Sprintf("%s redirected (%d %s) to %s", e.CallID, e.Code, e.Reason, e.To)
	if e.After != "" {
		text += " (" + e.After + ")"
	}
	s.Notify(NoticeInfo, text)
}

// endNote is the journal note of an ended call: "redirected by 302 to
// sip:vm@h, answered by sip:vm@h", and what EndInfo.Note says.
func endNote(ci phone.CallInfo) string {
	var parts []string
	for _, r := range ci.Redirects {
		p := fmt.Sprintf("redirected by %d to %s", r.Code, r.To)
		if r.After != "" {
			p += " (" + r.After + ")"
		}
		parts = append(parts, p)
	}
	if len(ci.Redirects) > 0 && !ci.Answered.IsZero() {
		parts = append(parts, "answered by "+ci.Remote.URI)
	}
	if ci.End != nil {
		if ci.End.Code >= 300 && ci.End.Code < 400 && ci.Direction == phone.Outgoing && ci.End.Note == "" {
			parts = append(parts, fmt.Sprintf("%d not followed", ci.End.Code))
		}
		if ci.End.Note != "" {
			parts = append(parts, fmt.Sprintf("%d %s", ci.End.Code, ci.End.Note))
		}
		if ci.End.Text != "" && ci.End.Reason != "" { // else the phrase has it (journaling.go)
			parts = append(parts, ci.End.Text)
		}
		if ci.End.Cause == phone.EndRemoteHangup && (ci.End.Q850 != 0 || ci.End.Text != "") {
			parts = append(parts, "BYE Reason: "+ReasonText(ci.End.Q850, ci.End.Text))
		}
		if d := ci.End.Diagnostic; !d.IsZero() {
			parts = append(parts, d.String())
		}
	}
	return strings.Join(parts, "; ")
}

// refused tells the user about an incoming INVITE refused before it
// became a call (the CallChanged that follows shows and journals it).
func (s *Service) refused(e phone.CallRefused) {
	from := e.Call.Remote.URI
	if e.Call.Remote.DisplayName != "" {
		from = e.Call.Remote.DisplayName + " <" + from + ">"
	}
	code, reason := 0, ""
	if e.Call.End != nil {
		code, reason = e.Call.End.Code, e.Call.End.Reason
	}
	s.Notify(NoticeWarn, fmt.Sprintf("call from %s refused: %d %s (%s)", from, code, reason, e.Why))
}

// ReasonText describes a Reason header's cause and text for the user:
// "Q.850 16 Normal call clearing", "Q.850 17 User busy: the text" when
// the text says more than the cause's name, or the text alone.
func ReasonText(q850 int, text string) string {
	if q850 == 0 {
		return text
	}
	name := phone.Q850Text(q850)
	s := fmt.Sprintf("Q.850 %d %s", q850, name)
	if text != "" && !strings.EqualFold(text, name) {
		s += ": " + text
	}
	return s
}
