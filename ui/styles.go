package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles holds every style the UI draws with. Colours are chosen for the
// terminal's background (light or dark); with colour off (NO_COLOR) only
// bold, reverse and underline remain.
type Styles struct {
	Header    lipgloss.Style
	HeaderDim lipgloss.Style
	Rule      lipgloss.Style
	Selected  lipgloss.Style
	Row       lipgloss.Style
	Incoming  lipgloss.Style
	Active    lipgloss.Style
	Held      lipgloss.Style
	Dim       lipgloss.Style
	Mark      lipgloss.Style
	Prompt    lipgloss.Style
	Info      lipgloss.Style
	Warn      lipgloss.Style
	Error     lipgloss.Style
	Sent      lipgloss.Style
	Received  lipgloss.Style
	Title     lipgloss.Style
	Help      help.Styles
}

// NewStyles builds the styles for a dark or light background; color false
// drops every colour (NO_COLOR).
func NewStyles(dark, color bool) *Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, darkc string) lipgloss.Style {
		if !color {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(ld(lipgloss.Color(light), lipgloss.Color(darkc)))
	}
	s := &Styles{
		Header:    c("#1a1a1a", "#e8e8e8").Bold(true),
		HeaderDim: c("#5f5f5f", "#a8a8a8"),
		Rule:      c("#b0b0b0", "#4e4e4e"),
		Row:       lipgloss.NewStyle(),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Incoming:  c("#af5f00", "#ffaf00").Bold(true),
		Active:    c("#007a00", "#5fd75f"),
		Held:      c("#875f00", "#d7af5f"),
		Dim:       c("#6c6c6c", "#8a8a8a"),
		Mark:      c("#af0000", "#ff5f5f").Bold(true),
		Prompt:    c("#005fd7", "#5fafff").Bold(true),
		Info:      c("#303030", "#d0d0d0"),
		Warn:      c("#875f00", "#ffd75f").Bold(true),
		Error:     c("#af0000", "#ff5f5f").Bold(true),
		Sent:      c("#005fd7", "#5fafff"),
		Received:  c("#007a00", "#87d787"),
		Title:     c("#1a1a1a", "#e8e8e8").Bold(true).Underline(true),
	}
	s.Help = help.DefaultStyles(dark)
	if !color {
		plain := lipgloss.NewStyle()
		s.Help = help.Styles{Ellipsis: plain, ShortKey: plain.Bold(true), ShortDesc: plain, ShortSeparator: plain,
			FullKey: plain.Bold(true), FullDesc: plain, FullSeparator: plain}
	}
	return s
}
