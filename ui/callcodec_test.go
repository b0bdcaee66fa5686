package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
)

// TestCallListShowsCodec: an active call shows its codec; a ringing one,
// which has none yet, does not.
func TestCallListShowsCodec(t *testing.T) {
	active := call("c1", cti.Outgoing, cti.CallActive, "Bob", "1002", 0, 5)
	active.Codec = "G722"
	ringing := call("c2", cti.Incoming, cti.CallIncoming, "Carol", "1003", 0, 0)
	m := newTestModel(t, newFake(), 100, 24, active, ringing)
	for line := range strings.Lines(ansi.Strip(m.View().Content)) {
		switch {
		case strings.Contains(line, "Bob") && !strings.Contains(line, "G722"):
			t.Errorf("active call row lacks its codec: %q", line)
		case strings.Contains(line, "Carol") && strings.Contains(line, "G722"):
			t.Errorf("ringing call row shows a codec: %q", line)
		}
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "G722") {
		t.Errorf("no codec on screen:\n%s", v)
	}
}
