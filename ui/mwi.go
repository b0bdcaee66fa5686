package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// mwiLabel is the header's message-waiting part: "✉ 2/8" (new/old voice
// messages), marked when messages wait; "" when nothing is known or the
// box is empty.
func mwiLabel(m *api.MessageSummary) (label string, waiting bool) {
	if m == nil || !m.Waiting && m.New == 0 && m.Old == 0 {
		return "", false
	}
	label = fmt.Sprintf("✉ %d/%d", m.New, m.Old)
	if m.NewUrgent > 0 {
		label += fmt.Sprintf(" (%d urgent)", m.NewUrgent)
	}
	return label, m.Waiting || m.New > 0
}

// voicemailTarget is what the voicemail key calls: the configured
// voicemail URI, else the mailbox the NOTIFYs name (Message-Account).
func (m *Model) voicemailTarget() string {
	if m.opts.Voicemail != "" {
		return m.opts.Voicemail
	}
	if ms := m.header.mwi; ms != nil {
		if ms.Voicemail != "" {
			return ms.Voicemail
		}
		return ms.Account
	}
	return ""
}

// callVoicemail dials the voicemail, or says why it cannot.
func (m *Model) callVoicemail() tea.Cmd {
	to := m.voicemailTarget()
	if to == "" {
		m.notice.set(api.NoticeInfo, "no voicemail configured ([sip] voicemail)")
		return nil
	}
	m.notice.set(api.NoticeInfo, "calling the voicemail "+to)
	return m.dialCmd(to)
}
