package ui

import (
	tea "charm.land/bubbletea/v2"
)

// saveSetting keeps a settings-pane value for the next start through
// Options.SaveSetting (issue 13: settings changed with S were lost on
// restart), off the event loop; a failure shows as a notice.
func (m *Model) saveSetting(name, value string) tea.Cmd {
	save := m.opts.SaveSetting
	if save == nil {
		return nil
	}
	return func() tea.Msg {
		if err := save(name, value); err != nil {
			return resultMsg{what: "keep " + name + " for the next start", err: err}
		}
		return nil
	}
}

// saved marks the policySetMsg of cmd as a change to keep: name = value.
func saved(cmd tea.Cmd, name, value string) tea.Cmd {
	return func() tea.Msg {
		msg := cmd()
		if ps, ok := msg.(policySetMsg); ok {
			ps.setting, ps.value = name, value
			return ps
		}
		return msg
	}
}
