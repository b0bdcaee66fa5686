package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key the UI reacts to. The help bar and the full help (?)
// are generated from it, so what is shown is what works. Disabled bindings
// (features the core does not offer) are neither shown nor matched.
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
	Dialogs          key.Binding // the SIP dialog list (sngrep's call list)
	Journal          key.Binding // the journal pane
	Devices          key.Binding // the AnyDevice devices pane
	Settings         key.Binding // the settings pane
	Voicemail        key.Binding // call the voicemail (message waiting)
	Help             key.Binding
	Command          key.Binding
	Quit             key.Binding

	// Prompts (dial line, command line) and panes.
	Submit   key.Binding
	Cancel   key.Binding
	Complete key.Binding
	Raw      key.Binding
	Pcap     key.Binding // ladder: write it as a pcap file
	Search   key.Binding // ladder: filter the messages by text
	PageUp   key.Binding
	PageDown key.Binding

	// Panes: filters and actions on the selected row.
	NextFilter  key.Binding
	PrevFilter  key.Binding
	CallBack    key.Binding // journal: dial the remote party
	MarkRead    key.Binding
	MarkAllRead key.Binding
	Select      key.Binding // devices: make the selected device active; settings: change the value
	Edit        key.Binding // devices: change the selected device's number or URI

	// Team pane (busy-lamp field, team.go).
	Team          key.Binding
	CallColleague key.Binding // team: dial the selected colleague
	Pickup        key.Binding // team: pick up the selected colleague's ringing call
}

// DefaultKeyMap returns the default keys.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Answer:           b("a", "answer", "a"),
		Reject:           b("r", "reject", "r"),
		Hangup:           b("e", "hang up", "e"),
		Hold:             b("h", "hold/resume", "h"),
		Toggle:           b("tab", "swap calls", "tab"),
		Mute:             b("m", "mute", "m"),
		Dial:             b("d", "dial", "d"),
		DTMF:             b("0-9*#", "DTMF / dial", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"),
		Transfer:         b("t", "transfer", "t"),
		Consult:          b("c", "consult", "c"),
		Conference:       b("C", "conference", "C"),
		CompleteTransfer: b("T", "complete transfer", "T"),
		Up:               b("↑", "up", "up"),
		Down:             b("↓", "down", "down"),
		Ladder:           b("l", "SIP ladder", "l"),
		Dialogs:          b("L", "SIP dialogs", "L"),
		Journal:          b("j", "journal", "j"),
		Devices:          b("D", "devices", "D"),
		Settings:         b("S", "settings", "S"),
		Voicemail:        b("v", "voicemail", "v"),
		Help:             b("?", "help", "?"),
		Command:          b(":", "command", ":"),
		Quit:             b("q", "quit", "q", "ctrl+c"),

		Submit:   b("enter", "ok", "enter"),
		Cancel:   b("esc", "back", "esc"),
		Complete: b("tab", "complete", "tab"),
		Raw:      b("enter", "raw message", "enter"),
		Pcap:     b("w", "write pcap", "w"),
		Search:   b("/", "filter", "/"),
		PageUp:   b("pgup", "page up", "pgup"),
		PageDown: b("pgdn", "page down", "pgdown"),

		NextFilter:  b("→/tab", "next filter", "right", "tab"),
		PrevFilter:  b("←", "previous filter", "left", "shift+tab"),
		CallBack:    b("enter", "call back", "enter"),
		MarkRead:    b("r", "mark read", "r"),
		MarkAllRead: b("R", "mark all read", "R"),
		Select:      b("enter", "select", "enter", "space"),
		Edit:        b("E", "edit", "E"),

		Team:          b("P", "team", "P"),
		CallColleague: b("enter", "call", "enter"),
		Pickup:        b("p", "pick up", "p"),
	}
}

// actions maps the configurable action names to their bindings.
func (k *KeyMap) actions() map[string]*key.Binding {
	return map[string]*key.Binding{
		"answer": &k.Answer, "reject": &k.Reject, "hangup": &k.Hangup, "hold": &k.Hold,
		"toggle": &k.Toggle, "mute": &k.Mute, "dial": &k.Dial, "dtmf": &k.DTMF,
		"transfer": &k.Transfer, "consult": &k.Consult, "conference": &k.Conference,
		"complete_transfer": &k.CompleteTransfer, "up": &k.Up, "down": &k.Down,
		"ladder": &k.Ladder, "dialogs": &k.Dialogs, "journal": &k.Journal, "devices": &k.Devices, "settings": &k.Settings, "voicemail": &k.Voicemail,
		"help": &k.Help, "command": &k.Command, "quit": &k.Quit, "submit": &k.Submit,
		"cancel": &k.Cancel, "complete": &k.Complete, "raw": &k.Raw, "pcap": &k.Pcap, "search": &k.Search, "page_up": &k.PageUp,
		"page_down": &k.PageDown, "next_filter": &k.NextFilter, "prev_filter": &k.PrevFilter,
		"call_back": &k.CallBack, "mark_read": &k.MarkRead, "mark_all_read": &k.MarkAllRead,
		"select": &k.Select, "edit": &k.Edit,
		"team": &k.Team, "call_colleague": &k.CallColleague, "pickup": &k.Pickup,
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
	return []key.Binding{k.Dial, k.Answer, k.Hangup, k.Hold, k.Mute, k.Transfer, k.Journal, k.Ladder, k.Help, k.Quit}
}

// FullHelp is the ? screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Dial, k.DTMF, k.Answer, k.Reject, k.Hangup},
		{k.Hold, k.Toggle, k.Mute, k.Transfer, k.Consult, k.CompleteTransfer, k.Conference},
		{k.Up, k.Down, k.Ladder, k.Dialogs, k.Journal, k.Devices, k.Team, k.Settings, k.Command, k.Help, k.Quit},
		{k.Submit, k.Cancel, k.Complete, k.PageUp, k.PageDown},
	}
}

// Describe returns the keys bound to action and what it does ("hold/resume");
// nil and "" for an unknown action.
func (k *KeyMap) Describe(action string) ([]string, string) {
	b, ok := k.actions()[action]
	if !ok {
		return nil, ""
	}
	return b.Keys(), b.Help().Desc
}
