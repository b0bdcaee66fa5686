package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
)

// TestHeaderNumberRingsOn: with an office number the header says where it
// rings now ("+4930… on mobile"), without one the active device alone.
func TestHeaderNumberRingsOn(t *testing.T) {
	h := header{st: NewStyles(true, false), w: 200, account: "me@127.0.0.1:5060", active: "mobile", number: "+4930123456789"}
	if v := h.View(); !strings.Contains(v, "+4930123456789 on mobile") {
		t.Errorf("header %q lacks the number and where it rings", v)
	}
	h.number = ""
	if v := h.View(); !strings.Contains(v, "│ on mobile") {
		t.Errorf("header without a number: %q", v)
	}
}

// TestHeaderKeepsCallCount (issue 13): at 80 columns the call count and the
// missed calls stay; the audio device and the ringing device go first.
func TestHeaderKeepsCallCount(t *testing.T) {
	pol := busy.Policy{}
	h := header{st: NewStyles(true, false), w: 80, account: "me@127.0.0.1:36238", active: "desk", number: "+4930123456789",
		audio: "null (no sound card)", calls: 2, missed: 3, policy: &pol}
	v := ansi.Strip(h.View())
	for _, want := range []string{"2 calls", "3 missed", "me@127.0.0.1:36238 (no registrar)", "busy: wait"} {
		if !strings.Contains(v, want) {
			t.Errorf("80-column header %q lacks %q", v, want)
		}
	}
	if strings.Contains(v, "audio") {
		t.Errorf("80-column header %q keeps the audio device over the rest", v)
	}
	if w := ansi.StringWidth(v); w > 80 {
		t.Errorf("header is %d wide", w)
	}
	h.w = 30
	if v := ansi.Strip(h.View()); !strings.Contains(v, "2 calls") || ansi.StringWidth(v) > 30 {
		t.Errorf("30-column header %q", v)
	}
	h.w = 200
	if v := ansi.Strip(h.View()); !strings.Contains(v, "audio: null") || !strings.Contains(v, "on desk") {
		t.Errorf("wide header %q dropped parts", v)
	}
}

// TestHeaderRegistrarUnreachable (issue 13): a registration retrying
// because the registrar answered nothing (the keepalive OPTIONS or a
// REGISTER timed out) says so in the header.
func TestHeaderRegistrarUnreachable(t *testing.T) {
	h := header{st: NewStyles(true, false), w: 200, account: "alice@127.0.0.1"}
	h.reg = &api.RegInfo{AOR: "sip:alice@127.0.0.1", State: api.RegRetrying, Err: "registrar unreachable: no answer to OPTIONS within 10s"}
	if v := ansi.Strip(h.View()); !strings.Contains(v, "(retrying: registrar unreachable)") {
		t.Errorf("header %q does not say the registrar is unreachable", v)
	}
	h.reg = &api.RegInfo{AOR: "sip:alice@127.0.0.1", State: api.RegRetrying, Code: 503}
	if v := ansi.Strip(h.View()); !strings.Contains(v, "(retrying 503)") {
		t.Errorf("header %q for a 503", v)
	}
}

// TestHeaderAudioLost (issue 14): a lost sound card replaces the device
// name and survives a 100-column line that drops the name.
func TestHeaderAudioLost(t *testing.T) {
	h := header{st: NewStyles(true, false), w: 100, account: "me@127.0.0.1:36238", active: "desk", number: "+4930123456789",
		audio: "portaudio:default", calls: 1}
	if v := ansi.Strip(h.View()); strings.Contains(v, "audio lost") {
		t.Errorf("header %q says lost before the loss", v)
	}
	h.audioLost = true
	if v := ansi.Strip(h.View()); !strings.Contains(v, "audio lost") || strings.Contains(v, "portaudio:default") {
		t.Errorf("header %q: want audio lost instead of the device", v)
	}
}
