package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key the UI reacts to. The help bar and the full help (?)
// are generated from it, so what is shown is what works. Disabled bindings
// (features the core does not offer yet) are neither shown nor matched.
type KeyMap struct {
	Answer     key.Binding
	Reject     key.Binding
	Hangup     key.Binding
	Hold       key.Binding // toggles hold/resume of the selected call
	Toggle     key.Binding // swap: hold the active call, resume the held one
	Mute       key.Binding
	Dial       key.Binding
	DTMF       key.Binding // digits: DTMF on an active call, else start dialling
	Transfer   key.Binding
	Consult    key.Binding
	Conference key.Binding
	// CompleteTransfer ends an attended transfer: the held call's peer is
	// connected to the consulted one.
	CompleteTransfer key.Binding
	Up               key.Binding
	Down             key.Binding
	Ladder           key.Binding
	Help             key.Binding
	Command          key.Binding
	Quit             key.Binding

	// Prompts (dial line, command line) and panes.
	Submit   key.Binding
	Cancel   key.Binding
	Complete key.Binding
	Raw      key.Binding
	PageUp   key.Binding
	PageDown key.Binding
}

// DefaultKeyMap returns the default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Answer:           key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "answer")),
		Reject:           key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reject")),
		Hangup:           key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "hang up")),
		Hold:             key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hold/resume")),
		Toggle:           key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "swap calls")),
		Mute:             key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "mute")),
		Dial:             key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "dial")),
		DTMF:             key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"), key.WithHelp("0-9*#", "DTMF / dial")),
		Transfer:         key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "transfer")),
		Consult:          key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "consult")),
		Conference:       key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "conference")),
		CompleteTransfer: key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "complete transfer")),
		Up:               key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:             key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Ladder:           key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "SIP ladder")),
		Help:             key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Command:          key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Quit:             key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "ok")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		Raw:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "raw message")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
	}
}

// actions maps the configurable action names to their bindings.
func (k *KeyMap) actions() map[string]*key.Binding {
	return map[string]*key.Binding{
		"answer": &k.Answer, "reject": &k.Reject, "hangup": &k.Hangup, "hold": &k.Hold,
		"toggle": &k.Toggle, "mute": &k.Mute, "dial": &k.Dial, "dtmf": &k.DTMF,
		"transfer": &k.Transfer, "consult": &k.Consult, "conference": &k.Conference,
		"complete_transfer": &k.CompleteTransfer,
		"up":                &k.Up, "down": &k.Down, "ladder": &k.Ladder, "help": &k.Help,
		"command": &k.Command, "quit": &k.Quit, "submit": &k.Submit, "cancel": &k.Cancel,
		"complete": &k.Complete, "raw": &k.Raw, "page_up": &k.PageUp, "page_down": &k.PageDown,
	}
}

// Actions returns the names Set accepts, sorted.
func (k *KeyMap) Actions() []string {
	var names []string
	for n := range k.actions() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Set rebinds an action (a name from Actions, e.g. "hold") to keys
// ("h", "ctrl+h"); the help text shows the keys joined by "/". It is how
// the configuration file's [keys] table is applied.
func (k *KeyMap) Set(action string, keys ...string) error {
	b, ok := k.actions()[action]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownAction, action)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: %q", ErrNoKeys, action)
	}
	enabled := b.Enabled()
	b.SetKeys(keys...)
	b.SetHelp(strings.Join(keys, "/"), b.Help().Desc)
	b.SetEnabled(enabled)
	return nil
}

// ShortHelp is the help bar in the call view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Dial, k.Answer, k.Hangup, k.Hold, k.Mute, k.Transfer, k.Ladder, k.Help, k.Quit}
}

// FullHelp is the ? screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Dial, k.DTMF, k.Answer, k.Reject, k.Hangup},
		{k.Hold, k.Toggle, k.Mute, k.Transfer, k.Consult, k.CompleteTransfer, k.Conference},
		{k.Up, k.Down, k.Ladder, k.Command, k.Help, k.Quit},
		{k.Submit, k.Cancel, k.Complete, k.PageUp, k.PageDown},
	}
}
