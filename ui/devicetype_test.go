package ui

import (
	"slices"
	"testing"
)

// TestDevicesTypedNumberGoesToTheField (issue 13): a number typed over the
// devices pane goes into the selected device's field, letters and all,
// instead of running the pane's keys (e hangs up, h holds, D leaves).
func TestDevicesTypedNumberGoesToTheField(t *testing.T) {
	f := newFake()
	f.withDevices()
	m := newTestModel(t, f, 100, 30)
	press(m, "D", "down")
	typeText(m, "+49170 hello Dq")
	if m.mode != modePrompt || m.dial.in.Value() != "+49170 hello Dq" {
		t.Fatalf("mode %d, field %q; want the mobile's field with all that was typed", m.mode, m.dial.in.Value())
	}
	for range len(" hello Dq") {
		press(m, "backspace")
	}
	press(m, "enter")
	if log := f.calls(); !slices.Equal(log, []string{"set-target mobile +49170"}) {
		t.Errorf("calls %q, want the mobile set to +49170", log)
	}
	if m.mode != modeDevices {
		t.Errorf("mode %d, want the devices pane", m.mode)
	}
}
