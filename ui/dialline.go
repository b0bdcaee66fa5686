package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// promptKind is what the bottom input line is for.
type promptKind int

const (
	promptNone     promptKind = iota
	promptDial                // a number, URI or contact name to dial
	promptCommand             // a command line (:)
	promptTransfer            // the transfer target
	promptConsult             // whom to consult (attended transfer)
	promptDevice              // a device's new number or URI (devices pane)
)

// dialLine is the input line: dial with completion from the journal's
// recent numbers (most recent first) and the contacts, the command line,
// the transfer prompt and the device editor.
type dialLine struct {
	st       *Styles
	km       *KeyMap
	w        int
	kind     promptKind
	call     api.CallID // the call a transfer or consult prompt is about
	device   string     // the device a promptDevice edits
	in       textinput.Model
	contacts []Contact
	recent   []string // numbers and URIs from the journal, most recent first
}

// promptDoneMsg is what the user entered in a prompt.
type promptDoneMsg struct {
	kind   promptKind
	call   api.CallID
	device string
	value  string
}

func newDialLine(st *Styles, km *KeyMap, contacts []Contact) dialLine {
	in := textinput.New()
	in.ShowSuggestions = true
	in.KeyMap.AcceptSuggestion = km.Complete
	d := dialLine{st: st, km: km, in: in, contacts: contacts}
	d.restyle()
	return d
}

func (d *dialLine) restyle() {
	s := d.in.Styles()
	s.Focused.Prompt = d.st.Prompt
	s.Blurred.Prompt = d.st.Dim
	s.Focused.Suggestion = d.st.Dim
	s.Blurred.Suggestion = d.st.Dim
	s.Focused.Text = d.st.Row
	s.Blurred.Text = d.st.Row
	s.Focused.Placeholder = d.st.Dim
	s.Blurred.Placeholder = d.st.Dim
	d.in.SetStyles(s)
}

func (d *dialLine) SetSize(w, _ int) {
	d.w = w
	d.in.SetWidth(max(w-len(d.in.Prompt)-1, 1))
}

// suggestions is what completes in the dial prompt, first match wins:
// the numbers and URIs called or calling recently (most recent first),
// then contact names and their addresses (sorted).
func (d *dialLine) suggestions() []string {
	var contacts []string
	for _, c := range d.contacts {
		contacts = append(contacts, c.Name, c.URI)
	}
	slices.Sort(contacts)
	seen := map[string]bool{}
	var s []string
	for _, v := range append(slices.Clone(d.recent), contacts...) {
		if v != "" && !seen[v] {
			seen[v] = true
			s = append(s, v)
		}
	}
	return s
}

// setRecent replaces the journal's recent numbers and URIs.
func (d *dialLine) setRecent(r []string) { d.recent = r }

// openDevice starts the editor of a device's number or URI.
func (d *dialLine) openDevice(name, target string) tea.Cmd {
	cmd := d.open(promptDevice, target)
	d.device = name
	d.in.Prompt = name + " number or URI› "
	d.SetSize(d.w, 1)
	return cmd
}

// openFor starts a prompt about a call (transfer, consult) with peer.
func (d *dialLine) openFor(kind promptKind, id api.CallID, peer string) tea.Cmd {
	cmd := d.open(kind, "")
	d.call = id
	if kind == promptTransfer {
		d.in.Prompt = "transfer " + peer + " to› "
	} else {
		d.in.Prompt = "consult (holds " + peer + ")› "
	}
	d.SetSize(d.w, 1)
	return cmd
}

// open starts a prompt with an initial value.
func (d *dialLine) open(kind promptKind, value string) tea.Cmd {
	d.kind, d.call, d.device = kind, "", ""
	switch kind {
	case promptDevice:
		d.in.Prompt = "number or URI› "
		d.in.SetSuggestions(nil)
	case promptCommand:
		d.in.Prompt = ":"
		d.in.SetSuggestions(commandNames)
	case promptTransfer:
		d.in.Prompt = "transfer to› "
		d.in.SetSuggestions(d.suggestions())
	case promptConsult:
		d.in.Prompt = "consult› "
		d.in.SetSuggestions(d.suggestions())
	default:
		d.in.Prompt = "dial› "
		d.in.SetSuggestions(d.suggestions())
	}
	d.in.Placeholder = ""
	d.in.SetValue(value)
	d.in.CursorEnd()
	d.SetSize(d.w, 1)
	return d.in.Focus()
}

func (d *dialLine) close() {
	d.kind = promptNone
	d.in.Blur()
	d.in.SetValue("")
}

// resolve turns what was typed into what to dial: a contact's address for
// its name, else the text itself.
func (d *dialLine) resolve(s string) string {
	s = strings.TrimSpace(s)
	for _, c := range d.contacts {
		if strings.EqualFold(c.Name, s) {
			return c.URI
		}
	}
	return s
}

// Update edits the line; Enter ends it with a promptDoneMsg, Esc cancels.
func (d *dialLine) Update(msg tea.Msg) tea.Cmd {
	if d.kind == promptNone {
		return nil
	}
	if m, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(m, d.km.Submit):
			done := promptDoneMsg{kind: d.kind, call: d.call, device: d.device, value: strings.TrimSpace(d.in.Value())}
			d.close()
			return func() tea.Msg { return done }
		case key.Matches(m, d.km.Cancel):
			d.close()
			return nil
		}
	}
	var cmd tea.Cmd
	d.in, cmd = d.in.Update(msg)
	return cmd
}

func (d *dialLine) View() string {
	if d.kind == promptNone {
		return d.st.Dim.Render("dial› ")
	}
	// textinput pads to its width after the value, not after the
	// suggestion: a long suggestion pushes padding past the edge. Cut
	// that padding rather than mark the line as truncated.
	return ansi.Truncate(d.in.View(), max(d.w, 1), "")
}

func (d *dialLine) ShortHelp() []key.Binding {
	return []key.Binding{d.km.Submit, d.km.Complete, d.km.Cancel}
}

func (d *dialLine) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
