package ui

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// fakeCtl is a Controller that records what it was asked.
type fakeCtl struct {
	mu     sync.Mutex
	log    []string
	snap   cti.Snapshot
	ladder []cti.SIPMessage
	dlgs   []cti.Dialog // Dialogs: the dialogs no call owns
	err    error
	sub    *cti.Subscription
	plain  bool // newTestModel hands the UI a plainCtl

	policy  busy.Policy
	unread  int
	entries []journal.Entry
	devs    *fakeDevices // set: newTestModel hands the UI a devCtl
}

func newFake() *fakeCtl {
	ch := make(chan cti.Event)
	close(ch) // waitEvent returns feedClosedMsg at once in unit tests
	return &fakeCtl{sub: &cti.Subscription{C: ch}}
}

func (f *fakeCtl) rec(format string, a ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, a...))
	return f.err
}

func (f *fakeCtl) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeCtl) Dial(_ context.Context, to string, _ cti.DialOptions) (cti.CallID, error) {
	return "c9", f.rec("dial %s", to)
}
func (f *fakeCtl) Answer(_ context.Context, id cti.CallID) error { return f.rec("answer %s", id) }
func (f *fakeCtl) Reject(_ context.Context, id cti.CallID, code int, _ string) error {
	return f.rec("reject %s %d", id, code)
}
func (f *fakeCtl) Hangup(_ context.Context, id cti.CallID) error { return f.rec("hangup %s", id) }
func (f *fakeCtl) HangupAll(context.Context) error               { return f.rec("hangup-all") }
func (f *fakeCtl) Hold(_ context.Context, id cti.CallID) error   { return f.rec("hold %s", id) }
func (f *fakeCtl) Resume(_ context.Context, id cti.CallID) error { return f.rec("resume %s", id) }
func (f *fakeCtl) SendDTMF(_ context.Context, id cti.CallID, d string) error {
	return f.rec("dtmf %s %s", id, d)
}
func (f *fakeCtl) Mute(_ context.Context, id cti.CallID, on bool) error {
	return f.rec("mute %s %v", id, on)
}
func (f *fakeCtl) Register(context.Context) error   { return f.rec("register") }
func (f *fakeCtl) Unregister(context.Context) error { return f.rec("unregister") }
func (f *fakeCtl) Snapshot() cti.Snapshot           { return f.snap }
func (f *fakeCtl) Subscribe() *cti.Subscription     { return f.sub }
func (f *fakeCtl) Ladder(id cti.CallID) []cti.SIPMessage {
	_ = f.rec("ladder %s", id)
	return f.ladder
}

func (f *fakeCtl) Dialogs() []cti.Dialog {
	_ = f.rec("dialogs")
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dlgs)
}

func (f *fakeCtl) Transfer(_ context.Context, id cti.CallID, to string) error {
	return f.rec("transfer %s %s", id, to)
}
func (f *fakeCtl) Consult(_ context.Context, id cti.CallID, to string) (cti.CallID, error) {
	return "c8", f.rec("consult %s %s", id, to)
}
func (f *fakeCtl) Toggle(_ context.Context, id cti.CallID) error { return f.rec("toggle %s", id) }
func (f *fakeCtl) CompleteTransfer(_ context.Context, held, consult cti.CallID) error {
	return f.rec("complete %s %s", held, consult)
}
func (f *fakeCtl) Conference(_ context.Context, a, b cti.CallID) error {
	return f.rec("conference %s %s", a, b)
}
func (f *fakeCtl) AcceptRefer(_ context.Context, id cti.CallID) error {
	return f.rec("accept-refer %s", id)
}
func (f *fakeCtl) RejectRefer(_ context.Context, id cti.CallID) error {
	return f.rec("reject-refer %s", id)
}

func (f *fakeCtl) HoldWith(_ context.Context, id cti.CallID, d cti.HoldDialect) error {
	return f.rec("hold %s %s", id, d)
}

func (f *fakeCtl) Policy() busy.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy
}
func (f *fakeCtl) SetPolicy(p busy.Policy) error {
	f.mu.Lock()
	f.policy = p
	f.mu.Unlock()
	return f.rec("set-policy %s dnd=%v", actionName(p.OnBusy, busy.Wait), p.DND)
}
func (f *fakeCtl) LetThroughFor(d time.Duration) busy.Override {
	_ = f.rec("let-through %s", d)
	return busy.Override{Until: base.Add(d)}
}
func (f *fakeCtl) LetThroughUntilCallEnds(id cti.CallID) busy.Override {
	_ = f.rec("let-through-call %s", id)
	return busy.Override{UntilCallEnds: id}
}
func (f *fakeCtl) ClearOverride() { _ = f.rec("clear-override") }

func (f *fakeCtl) Journal(_ context.Context, flt journal.Filter) ([]journal.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []journal.Entry
	for _, e := range f.entries {
		switch flt.View {
		case journal.ViewMissed:
			if !e.Missed {
				continue
			}
		case journal.ViewSecondary:
			if e.SecondaryText == "" {
				continue
			}
		case journal.ViewAnsweredElsewhere:
			if e.Outcome != journal.OutcomeAnsweredElsewhere {
				continue
			}
		}
		out = append(out, e)
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}
func (f *fakeCtl) UnreadMissed(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unread, nil
}
func (f *fakeCtl) MarkRead(_ context.Context, ids ...int64) error {
	return f.rec("mark-read %v", ids)
}
func (f *fakeCtl) MarkAllRead(context.Context) error { return f.rec("mark-all-read") }

// plainCtl hides every optional interface of the fake: a Controller that
// only has the basic calls.
type plainCtl struct{ Controller }

var (
	_ Controller       = (*fakeCtl)(nil)
	_ Transferer       = (*fakeCtl)(nil)
	_ ReferAnswerer    = (*fakeCtl)(nil)
	_ PolicyController = (*fakeCtl)(nil)
	_ Journaler        = (*fakeCtl)(nil)
	_ HoldWither       = (*fakeCtl)(nil)
)

// base is the fixed clock of every unit test.
var base = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// call builds a call created at base+created seconds, answered at
// base+answered seconds when answered > 0.
func call(id string, dir cti.Direction, st cti.CallState, name, user string, created, answered int) cti.CallInfo {
	c := cti.CallInfo{
		ID: cti.CallID(id), Direction: dir, State: st,
		Remote:  cti.Party{DisplayName: name, User: user, URI: "sip:" + user + "@127.0.0.1:5062"},
		Local:   cti.Party{User: "me", URI: "sip:me@127.0.0.1:5060"},
		Created: base.Add(time.Duration(created) * time.Second),
	}
	if answered > 0 {
		c.Answered = base.Add(time.Duration(answered) * time.Second)
	}
	return c
}

func held(c cti.CallInfo) cti.CallInfo { c.LocalHold = true; return c }

// newTestModel builds a model on f at w×h with the clock at base+75 s.
func newTestModel(t testing.TB, f *fakeCtl, w, h int, calls ...cti.CallInfo) *Model {
	t.Helper()
	f.snap.Calls = calls
	var ctl Controller = f
	switch {
	case f.plain:
		ctl = plainCtl{f}
	case f.devs != nil:
		ctl = devCtl{f}
	}
	m := New(ctl, Options{
		NoBell: true, NoColor: true,
		Now:          func() time.Time { return base.Add(75 * time.Second) },
		Location:     time.UTC,
		Levels:       func() (float64, float64) { return 0.5, 0.01 },
		AudioDevices: []string{"auto", "null", "portaudio:default"},
		Account:      "sip:me@127.0.0.1:5060",
		Device:       "null (no sound card)",
		Contacts:     []Contact{{Name: "echo", URI: "sip:echo@127.0.0.1:5062"}, {Name: "tone", URI: "sip:tone@127.0.0.1:5064"}},
		Why: func(c cti.CallInfo) string {
			if len(c.Headers["Diversion"]) > 0 {
				return "forwarded from Bob"
			}
			return ""
		},
	})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// run executes cmd (and nested batches) and returns the messages that
// arrive within a short wait; timers (tea.Tick) never do and are dropped.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(150 * time.Millisecond):
		return nil
	}
	switch v := msg.(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range v {
			out = append(out, run(c)...)
		}
		return out
	case nil:
		return nil
	}
	return []tea.Msg{msg}
}

// press sends a key to m, runs what it returns and feeds the resulting
// messages (results, prompts) back, one level deep.
func press(m *Model, keys ...string) {
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		for _, msg := range run(cmd) {
			switch msg.(type) {
			case feedClosedMsg, tea.BackgroundColorMsg:
				continue
			}
			_, c2 := m.Update(msg)
			for _, msg2 := range run(c2) {
				if _, ok := msg2.(feedClosedMsg); !ok {
					m.Update(msg2)
				}
			}
		}
	}
}

// keyMsg turns "a", "enter", "esc", "tab", "ctrl+c", "up" into a key press.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// typeText presses each rune of s.
func typeText(m *Model, s string) {
	for _, r := range s {
		press(m, string(r))
	}
}

// journalFixture is a small journal, newest first.
func journalFixture() []journal.Entry {
	at := func(min int) time.Time { return base.Add(-time.Duration(min) * time.Minute) }
	id := func(name, number, uri string) journal.Identity {
		return journal.Identity{Name: name, Number: number, URI: uri}
	}
	return []journal.Entry{
		{ID: 5, Direction: cti.Incoming, Remote: id("Alice", "+4930111", "sip:+4930111@pbx.test"), Started: at(3),
			Outcome: journal.OutcomeMissed, Missed: true},
		{ID: 4, Direction: cti.Outgoing, Remote: id("", "", "sip:echo@127.0.0.1:5062"), Started: at(20), Answered: at(20),
			Ended: at(18), Outcome: journal.OutcomeAnswered},
		{ID: 3, Direction: cti.Incoming, Remote: id("Bob", "+4930222", "sip:+4930222@pbx.test"), Started: at(65),
			Outcome: journal.OutcomeAnsweredElsewhere, Code: 487},
		{ID: 2, Direction: cti.Incoming, Remote: id("Carol", "+4930333", "sip:+4930333@pbx.test"), Started: at(90),
			Secondary: 1, SecondaryText: "team call for Sales", Outcome: journal.OutcomeCallerCancelled},
		{ID: 1, Direction: cti.Incoming, Remote: id("Dave", "+4930444", "sip:+4930444@pbx.test"), Started: at(1500),
			Outcome: journal.OutcomeRejectedBusy, Code: 486, Missed: true, Read: true},
	}
}

// fakeDevices is the AnyDevice side of a fakeCtl (devCtl hands it to
// the UI).
type fakeDevices struct {
	devs   []cti.DeviceInfo
	active []string
}

// withDevices gives f desk, mobile and home, desk active: newTestModel
// hands the UI a devCtl.
func (f *fakeCtl) withDevices() *fakeDevices {
	f.devs = &fakeDevices{
		devs: []cti.DeviceInfo{
			{Name: "desk", Target: "sip:me@127.0.0.1:5060", Local: true},
			{Name: "mobile", Target: "+4917012345"},
			{Name: "home", Target: "sip:home@192.0.2.7"},
		},
		active: []string{"desk"},
	}
	return f.devs
}

// devCtl is a fakeCtl with devices: a DeviceController and DeviceEditor
// recording into the fake's log.
type devCtl struct{ *fakeCtl }

func (d devCtl) Devices(context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.devs.active), nil
}
func (d devCtl) DeviceList(context.Context) ([]cti.DeviceInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.devs.devs), nil
}
func (d devCtl) SetDevice(_ context.Context, name string) error {
	d.mu.Lock()
	d.devs.active = []string{name}
	d.mu.Unlock()
	return d.rec("set-device %s", name)
}
func (d devCtl) Move(_ context.Context, id cti.CallID, device string) error {
	return d.rec("move %s %s", id, device)
}
func (d devCtl) SetDeviceTarget(_ context.Context, name, target string) error {
	d.mu.Lock()
	for i := range d.devs.devs {
		if d.devs.devs[i].Name == name {
			d.devs.devs[i].Target = target
		}
	}
	d.mu.Unlock()
	return d.rec("set-target %s %s", name, target)
}

// noEditCtl is a devCtl without DeviceEditor.
type noEditCtl struct{ *fakeCtl }

func (d noEditCtl) Devices(ctx context.Context) ([]string, error) { return devCtl(d).Devices(ctx) }
func (d noEditCtl) DeviceList(ctx context.Context) ([]cti.DeviceInfo, error) {
	return devCtl(d).DeviceList(ctx)
}
func (d noEditCtl) SetDevice(ctx context.Context, name string) error {
	return devCtl(d).SetDevice(ctx, name)
}
func (d noEditCtl) Move(ctx context.Context, id cti.CallID, device string) error {
	return devCtl(d).Move(ctx, id, device)
}

var (
	_ DeviceController = devCtl{}
	_ DeviceEditor     = devCtl{}
	_ DeviceController = noEditCtl{}
	_ Transferer       = devCtl{}
)
