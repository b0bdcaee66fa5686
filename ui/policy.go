package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
)

// onPolicyDecision tells the user about calls the busy policy kept from
// ringing: rejected, redirected to voicemail, or ringing silently. Calls
// that ring or wait announce themselves through CallChanged.
func (m *Model) onPolicyDecision(e api.PolicyDecision) {
	d := e.Decision
	why := string(d.Rule)
	if d.Detail != "" {
		why += ": " + d.Detail
	}
	switch {
	case d.Action == busy.Voicemail:
		m.notice.set(api.NoticeInfo, fmt.Sprintf("a call went to voicemail (%s)", why))
	case d.Action.Rejects():
		m.notice.set(api.NoticeInfo, fmt.Sprintf("a call was refused: %d %s (%s)", d.Code, d.Phrase, why))
	case d.Action == busy.Silent:
		m.notice.set(api.NoticeInfo, fmt.Sprintf("a call rings silently (%s)", why))
	}
}

// onJournalChanged refreshes the journal pane when it is open.
func (m *Model) onJournalChanged(api.JournalChanged) tea.Cmd {
	j, ok := m.ctl.(Journaler)
	if !ok || m.mode != modeJournal {
		return nil
	}
	return journalCmd(j, m.opts.CommandTimeout, m.journal.filter, false)
}
