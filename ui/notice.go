package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// noticeLine shows the latest notice: audio fallbacks, errors of commands,
// incoming-call alerts.
type noticeLine struct {
	st   *Styles
	w    int
	last api.Notice
}

func (n *noticeLine) SetSize(w, _ int) { n.w = w }

func (n *noticeLine) Update(msg tea.Msg) tea.Cmd {
	if e, ok := msg.(api.Notice); ok {
		n.last = e
	}
	return nil
}

func (n *noticeLine) set(level api.NoticeLevel, text string) {
	n.last = api.Notice{Level: level, Text: text}
}

func (n *noticeLine) View() string {
	if n.last.Text == "" {
		return ""
	}
	st := n.st.Info
	prefix := ""
	switch n.last.Level {
	case api.NoticeWarn:
		st, prefix = n.st.Warn, "! "
	case api.NoticeError:
		st, prefix = n.st.Error, "✗ "
	}
	return fitLine(st.Render(prefix+n.last.Text), n.w)
}

func (n *noticeLine) ShortHelp() []key.Binding  { return nil }
func (n *noticeLine) FullHelp() [][]key.Binding { return nil }
