package cti

import (
	"testing"
	"time"
)

// TestOwnPresenceWindow: a desk phone's few calls get our state within
// 20 ms; the window grows with the dialogs (each derivation and each
// own_presence event is O(dialogs)) up to a second.
func TestOwnPresenceWindow(t *testing.T) {
	for _, tt := range []struct {
		dialogs int
		want    time.Duration
	}{
		{0, 20 * time.Millisecond},
		{3, 20 * time.Millisecond},
		{19, 20 * time.Millisecond},
		{20, 40 * time.Millisecond},
		{200, 220 * time.Millisecond},
		{1000, time.Second},
		{100000, time.Second},
	} {
		if got := ownPresenceWindow(tt.dialogs); got != tt.want {
			t.Errorf("ownPresenceWindow(%d) = %v, want %v", tt.dialogs, got, tt.want)
		}
	}
}
