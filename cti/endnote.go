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
	s.Notify(NoticeInfo, fmt.Sprintf("%s redirected (%d %s) to %s", e.CallID, e.Code, e.Reason, e.To))
}

// endNote is the journal note of an ended call: "redirected by 302 to
// sip:vm@h, answered by sip:vm@h", and what EndInfo.Note says.
func endNote(ci phone.CallInfo) string {
	var parts []string
	for _, r := range ci.Redirects {
		parts = append(parts, fmt.Sprintf("redirected by %d to %s", r.Code, r.To))
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
	}
	return strings.Join(parts, "; ")
}
