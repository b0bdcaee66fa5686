package ui

import (
	"strings"

	"github.com/anyphone/anyphone/cti/api"
)

// endDetail is what the ended-call status line adds after the cause, code
// and Q.850: the text of the BYE's or the response's Reason when it says
// more than the Q.850 name, and a Lync / Skype for Business
// ms-diagnostics (code, reason, source).
func endDetail(e api.EndInfo) string {
	var s string
	if e.Text != "" && (e.Q850 == 0 || !strings.EqualFold(e.Text, api.Q850Text(e.Q850))) {
		s += ` "` + e.Text + `"`
	}
	if e.Note != "" {
		s += " — " + e.Note
	}
	if !e.Diagnostic.IsZero() {
		s += "; " + e.Diagnostic.String()
	}
	return s
}
