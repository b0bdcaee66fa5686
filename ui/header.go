package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/anyphone/anyphone/cti"
)

// header is the top line: account and registration state, active audio
// device, number of calls. Busy policy and missed calls join it when the
// core offers them (issues 4 and 6).
type header struct {
	st      *Styles
	w       int
	account string // what we present: AOR, or our direct URI when unregistered
	device  string
	reg     *cti.RegInfo
	calls   int
}

func (h *header) SetSize(w, _ int) { h.w = w }

func (h *header) Update(msg tea.Msg) tea.Cmd {
	if e, ok := msg.(cti.RegistrationChanged); ok {
		r := e.Reg
		h.reg = &r
	}
	return nil
}

func (h *header) View() string {
	var parts []string
	acct := h.account
	state := "no registrar"
	if h.reg != nil {
		if h.reg.AOR != "" {
			acct = h.reg.AOR
		}
		state = h.reg.State.String()
		if h.reg.Code != 0 && h.reg.State != cti.RegRegistered {
			state += fmt.Sprintf(" %d", h.reg.Code)
		}
	}
	parts = append(parts, h.st.Header.Render("anyphone"))
	acct = strings.TrimPrefix(strings.TrimPrefix(acct, "sip:"), "sips:")
	parts = append(parts, h.st.HeaderDim.Render(acct+" ("+state+")"))
	if h.device != "" {
		parts = append(parts, h.st.HeaderDim.Render("audio: "+h.device))
	}
	if h.calls > 0 {
		parts = append(parts, h.st.HeaderDim.Render(plural(h.calls, "call")))
	}
	return fitLine(strings.Join(parts, h.st.Rule.Render(" │ ")), h.w)
}

func (h *header) ShortHelp() []key.Binding  { return nil }
func (h *header) FullHelp() [][]key.Binding { return nil }

// plural renders "1 call", "2 calls", "no calls".
func plural(n int, word string) string {
	switch n {
	case 0:
		return "no " + word + "s"
	case 1:
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// fitLine cuts s (which may hold ANSI styles) to w cells.
func fitLine(s string, w int) string {
	if w <= 0 {
		return s
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return truncate(s, w)
}
