package ui

import (
	"strings"
	"testing"
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
