package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/api"
)

// teamCtl adds presence and pickup to the fake.
type teamCtl struct {
	*fakeCtl
	ws []api.Watch
}

func (c *teamCtl) Watches() []api.Watch { return c.ws }
func (c *teamCtl) Watch(_ context.Context, target string) (api.Watch, error) {
	w := api.Watch{Target: target, State: api.WatchPending}
	c.ws = append(c.ws, w)
	return w, c.rec("watch %s", target)
}
func (c *teamCtl) Pickup(_ context.Context, w api.Watch) (cti.CallID, error) {
	return "c9", c.rec("pickup %s %s", w.Target, w.Info.Dialogs[0].CallID)
}

// TestTeamPane: P opens the busy-lamp field; PresenceChanged events update
// it live (idle, ringing with who is calling, on the phone on a device,
// unknown); enter calls the selected colleague, p picks up a ringing call.
func TestTeamPane(t *testing.T) {
	f := newFake()
	tc := &teamCtl{fakeCtl: f, ws: []api.Watch{
		{Target: "sip:alice@pbx", State: api.WatchActive},
		{Target: "sip:bob@pbx", State: api.WatchActive},
		{Target: "sip:dave@pbx", State: api.WatchRetrying, Code: 404, Err: "404 Not Found"},
	}}
	m := New(tc, Options{NoBell: true, NoColor: true, Now: func() time.Time { return base }, Location: time.UTC})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	press(m, "P")
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"Team", "○ alice     idle", "○ bob       idle", "? dave      unknown (404 Not Found)"} {
		if !strings.Contains(screen, want) {
			t.Errorf("team pane lacks %q:\n%s", want, screen)
		}
	}
	m.Update(api.PresenceChanged{Watch: api.Watch{Target: "sip:bob@pbx", State: api.WatchActive, Info: api.PresenceInfo{
		Dialogs: []api.DialogState{{ID: "c1", CallID: "abc@h", Direction: cti.Incoming, State: api.PhaseEarly,
			Remote: cti.Party{DisplayName: "Carol", URI: "sip:carol@pbx"}}}}}})
	m.Update(api.PresenceChanged{Watch: api.Watch{Target: "sip:alice@pbx", State: api.WatchActive, Info: api.PresenceInfo{
		Dialogs: []api.DialogState{{ID: "s1", Direction: cti.Outgoing, State: api.PhaseConfirmed, Device: "mobile",
			Remote: cti.Party{URI: "sip:+4930555@pbx"}}}}}})
	screen = ansi.Strip(m.Render())
	for _, want := range []string{"● alice     on the phone with +4930555 on mobile", "◉ bob       ringing: Carol calling"} {
		if !strings.Contains(screen, want) {
			t.Errorf("team pane lacks %q:\n%s", want, screen)
		}
	}
	press(m, "p") // alice is selected: nothing to pick up
	if got := f.calls(); len(got) != 0 {
		t.Errorf("pickup of an idle colleague: %q", got)
	}
	press(m, "down", "p")
	press(m, "P", "down", "down", "enter")
	press(m, ":")
	for _, r := range "watch erin" {
		press(m, string(r))
	}
	press(m, "enter")
	if s := ansi.Strip(m.Render()); !strings.Contains(s, "? erin") {
		t.Errorf(":watch erin: erin not in the team pane:\n%s", s)
	}
	want := []string{"pickup sip:bob@pbx abc@h", "dial sip:dave@pbx", "watch erin"}
	if got := f.calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestTeamLampHeldConference: a colleague's held call and a conference
// they host show as such (the local target's +sip.rendering="no" and
// isfocus in their dialog-info).
func TestTeamLampHeldConference(t *testing.T) {
	for _, tc := range []struct {
		d    api.DialogState
		want string
	}{
		{api.DialogState{ID: "a", State: api.PhaseConfirmed, Held: true, Remote: cti.Party{URI: "sip:carol@pbx"}}, "on the phone with carol (held)"},
		{api.DialogState{ID: "b", State: api.PhaseConfirmed, Conference: true, Held: true, Remote: cti.Party{URI: "sip:carol@pbx"}}, "on the phone with carol (in conference)"},
	} {
		_, text := lamp(api.Watch{State: api.WatchActive, Info: api.PresenceInfo{Dialogs: []api.DialogState{tc.d}}})
		if text != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, text, tc.want)
		}
	}
}

// TestTeamLampDND: a colleague's do-not-disturb (their PIDF) shows.
func TestTeamLampDND(t *testing.T) {
	mark, text := lamp(api.Watch{State: api.WatchActive, Info: api.PresenceInfo{DND: true}})
	if mark != "⊘" || text != "do not disturb" {
		t.Errorf("idle with DND: %s %q", mark, text)
	}
	_, text = lamp(api.Watch{State: api.WatchActive, Info: api.PresenceInfo{DND: true,
		Dialogs: []api.DialogState{{ID: "a", State: api.PhaseConfirmed, Remote: cti.Party{URI: "sip:carol@pbx"}}}}})
	if text != "on the phone with carol (DND)" {
		t.Errorf("on the phone with DND: %q", text)
	}
}
