package interop

import (
	"strings"
	"testing"
	"time"
)

// TestCtlAnswerHoldsOthers (issue 13): answering a waiting call through
// the control protocol (ctl answer, here on the endpoint's stdin) or the
// endpoint's auto-answer holds the active call first: one conversation at
// a time, as the TUI's a does. --answer-keeps-others keeps both live.
func TestCtlAnswerHoldsOthers(t *testing.T) {
	needInterop(t)
	heldFirst := func(ev Event) bool {
		return ev.Event == "call" && ev.Call != nil && ev.Call.ID == "c1" && ev.Call.State == "active" &&
			strings.Contains(ev.Raw, `"local_hold":true`)
	}
	for _, tc := range []struct {
		name string
		args []string
		hold bool
	}{
		{"ctl answer", []string{"--answer", "manual"}, true},
		{"auto-answer", nil, true},
		{"auto-answer keeps others", []string{"--answer-keeps-others"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			callee := startEndpoint(t, append([]string{"--name", "bob"}, tc.args...)...)
			answer := func(id string) {
				if tc.args == nil || tc.args[0] != "--answer" {
					return
				}
				if _, err := callee.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.ID == id && ev.Call.State == "incoming" }, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				if err := callee.Send(map[string]any{"id": id, "cmd": "answer", "args": map[string]any{"call_id": id}}); err != nil {
					t.Fatal(err)
				}
			}
			a := startEndpoint(t, "--name", "alice", "--dial", callee.URI)
			answer("c1")
			if _, err := a.WaitEvent(isCall("active"), 5*time.Second); err != nil {
				t.Fatal(err)
			}
			startEndpoint(t, "--name", "carol", "--dial", callee.URI)
			answer("c2")
			if _, err := callee.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.ID == "c2" && ev.Call.State == "active" }, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if tc.hold {
				if _, err := callee.WaitEvent(heldFirst, 5*time.Second); err != nil {
					t.Errorf("the first call was not held before the second was answered: %v", err)
				}
				if _, err := a.WaitEvent(func(ev Event) bool { return ev.Call != nil && strings.Contains(ev.Raw, `"remote_hold":true`) }, 5*time.Second); err != nil {
					t.Errorf("alice does not hear hold: %v", err)
				}
			} else {
				for _, ev := range callee.Events() {
					if heldFirst(ev) {
						t.Errorf("--answer-keeps-others held the first call: %s", ev.Raw)
					}
				}
			}
		})
	}
}
