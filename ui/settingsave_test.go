package ui

import (
	"slices"
	"sync"
	"testing"
)

// TestSettingsAreSaved (issue 13): each value changed in the settings pane
// goes to Options.SaveSetting, to be applied at the next start.
func TestSettingsAreSaved(t *testing.T) {
	f := newFake()
	m := newTestModel(t, f, 100, 30)
	var mu sync.Mutex
	var got []string
	m.opts.SaveSetting = func(name, value string) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, name+"="+value)
		return nil
	}
	audio := newFakeAudio()
	m.settings.switcher = audio
	press(m, "S", "down", "enter")                               // hold dialect: default → sendonly
	press(m, "down", "enter")                                    // when busy: wait → busy
	press(m, "down", "enter")                                    // do not disturb: on
	press(m, "up", "up", "up", "enter", "down", "down", "enter") // audio: the third device
	mu.Lock()
	defer mu.Unlock()
	want := []string{"hold_dialect=sendonly", "on_busy=busy", "dnd=true", "audio=portaudio:default"}
	if !slices.Equal(got, want) {
		t.Errorf("saved %q, want %q (notice %q)", got, want, m.notice.last.Text)
	}
}
