package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// fakeAudio is an AudioSwitcher over a fixed device list: specs in fail
// return that error, "auto" falls back to null with a notice, anything
// else opens as itself.
type fakeAudio struct {
	mu       sync.Mutex
	devs     []string
	listErr  error
	fail     map[string]error
	switched []string // specs asked for, in order
}

func newFakeAudio() *fakeAudio {
	return &fakeAudio{devs: []string{"null", "auto", "portaudio:default", "portaudio:USB Headset"}}
}

func (f *fakeAudio) AudioDevices(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.devs), f.listErr
}

func (f *fakeAudio) SwitchAudio(_ context.Context, spec string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.switched = append(f.switched, spec)
	if err := f.fail[spec]; err != nil {
		return "", "", err
	}
	if spec == "auto" {
		return "null (no sound card)", "no audio device (portaudio not built in): using null audio", nil
	}
	return spec, "", nil
}

func (f *fakeAudio) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.switched)
}

var _ AudioSwitcher = (*fakeAudio)(nil)

func TestSettingsAudioSwitch(t *testing.T) {
	errOpen := errors.New("portaudio: device busy")
	tests := []struct {
		name        string
		noSwitcher  bool
		devs        []string // nil: newFakeAudio's list
		listErr     error
		fail        map[string]error
		keys        []string
		wantAsked   []string
		wantDevice  string // the pane's and the header's device afterwards
		wantPicking bool
		wantNotice  string
		wantView    []string // substrings of the pane
	}{
		{name: "without a switcher: restart", noSwitcher: true, keys: []string{"S", "enter"},
			wantDevice: "null (no sound card)", wantNotice: "--audio", wantView: []string{"restart with --audio"}},
		{name: "enter lists the devices", keys: []string{"S", "enter"}, wantDevice: "null (no sound card)", wantPicking: true,
			wantView: []string{"audio devices (enter switches", "null", "portaudio:USB Headset"}},
		{name: "pick a sound card", keys: []string{"S", "enter", "down", "down", "down", "enter"}, wantAsked: []string{"portaudio:USB Headset"},
			wantDevice: "portaudio:USB Headset", wantNotice: "audio device now portaudio:USB Headset", wantView: []string{"audio device       portaudio:USB Headset"}},
		{name: "pick null", keys: []string{"S", "enter", "enter"}, wantAsked: []string{"null"}, wantDevice: "null", wantNotice: "audio device now null"},
		{name: "fallback shows the notice", keys: []string{"S", "enter", "down", "enter"}, wantAsked: []string{"auto"},
			wantDevice: "null (no sound card)", wantNotice: "using null audio"},
		{name: "failure keeps the device", fail: map[string]error{"portaudio:default": errOpen}, keys: []string{"S", "enter", "down", "down", "enter"},
			wantAsked: []string{"portaudio:default"}, wantDevice: "null (no sound card)", wantPicking: true,
			wantNotice: "audio device portaudio:default: portaudio: device busy (still using null (no sound card))"},
		{name: "esc keeps the device", keys: []string{"S", "enter", "down", "esc"}, wantDevice: "null (no sound card)", wantView: []string{"enter on audio device picks another"}},
		{name: "only null on a machine without sound cards", devs: []string{"null"}, keys: []string{"S", "enter", "down", "down", "enter"},
			wantAsked: []string{"null"}, wantDevice: "null"},
		{name: "listing error still shows what was found", devs: []string{"null"}, listErr: errors.New("portaudio: no host api"), keys: []string{"S", "enter"},
			wantDevice: "null (no sound card)", wantPicking: true, wantNotice: "audio devices: portaudio: no host api", wantView: []string{"▸ null"}},
		{name: "reopening the pane closes the picker", keys: []string{"S", "enter", "esc", "esc", "S"}, wantDevice: "null (no sound card)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fa := newFakeAudio()
			if tc.devs != nil {
				fa.devs = tc.devs
			}
			fa.listErr, fa.fail = tc.listErr, tc.fail
			m := newTestModel(t, newFake(), 80, 24)
			if !tc.noSwitcher {
				m.settings.switcher = fa
			}
			press(m, tc.keys...)
			if got := fa.asked(); !slices.Equal(got, tc.wantAsked) {
				t.Errorf("%s: switched to %q, want %q", tc.name, got, tc.wantAsked)
			}
			if m.settings.audio != tc.wantDevice || m.header.audio != tc.wantDevice {
				t.Errorf("%s: device pane %q header %q, want %q", tc.name, m.settings.audio, m.header.audio, tc.wantDevice)
			}
			if m.settings.picking != tc.wantPicking {
				t.Errorf("%s: picking = %v, want %v", tc.name, m.settings.picking, tc.wantPicking)
			}
			if tc.wantNotice != "" && !strings.Contains(m.notice.last.Text, tc.wantNotice) {
				t.Errorf("%s: notice %q, want %q", tc.name, m.notice.last.Text, tc.wantNotice)
			}
			view := ansi.Strip(m.settings.View(m.header.policy, m.now))
			for _, w := range tc.wantView {
				if !strings.Contains(view, w) {
					t.Errorf("%s: pane lacks %q:\n%s", tc.name, w, view)
				}
			}
		})
	}
}

// TestSettingsAudioNoIOInUpdate checks that Update only returns commands:
// opening the picker and switching call the switcher from the Cmd, not
// from Update.
func TestSettingsAudioNoIOInUpdate(t *testing.T) {
	fa := newFakeAudio()
	m := newTestModel(t, newFake(), 80, 24)
	m.settings.switcher = fa
	press(m, "S")
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil || m.settings.pickDevs != nil {
		t.Fatalf("enter on the audio row: cmd %v, devices %q; want a listing command and no devices yet", cmd != nil, m.settings.pickDevs)
	}
	for _, msg := range run(cmd) {
		m.Update(msg)
	}
	_, cmd = m.Update(keyMsg("enter"))
	if cmd == nil || len(fa.asked()) != 0 {
		t.Fatalf("enter on a device: cmd %v, switched %q; want a command and no switch yet", cmd != nil, fa.asked())
	}
	if _, again := m.Update(keyMsg("enter")); again != nil {
		t.Error("a second enter while switching started another switch")
	}
	for _, msg := range run(cmd) {
		m.Update(msg)
	}
	if got := fa.asked(); !slices.Equal(got, []string{"null"}) {
		t.Errorf("switched to %q, want [null]", got)
	}
}
