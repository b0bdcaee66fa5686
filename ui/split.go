package ui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// Splitter takes a call out of its local conference (the other leg is
// held); *cti.Service implements it. With it, C on a conference leg
// splits the conference and C again rejoins the two calls.
type Splitter interface {
	Split(ctx context.Context, id api.CallID) error
}

// split takes the selected leg c out of its conference: it stays active
// and the other leg is held. h on a leg holds the whole conference (cti).
func (m *Model) split(c api.CallInfo) tea.Cmd {
	sp, ok := m.ctl.(Splitter)
	if !ok {
		m.notice.set(api.NoticeInfo, "already in a conference (h holds it, e hangs up this leg)")
		return nil
	}
	id := c.ID
	m.notice.set(api.NoticeInfo, "conference split: this call stays, the other is held (C rejoins)")
	return m.do("split", func(ctx context.Context, _ Controller) error { return sp.Split(ctx, id) })
}
