package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTUITeamPanelPickup (issue 15): the TUI watches bob ([presence]
// watch); P shows bob idle; carol calls bob (manual answer) and bob's lamp
// shows ringing with carol calling; p picks the call up: the TUI has an
// active call with carol and bob is idle again.
func TestTUITeamPanelPickup(t *testing.T) {
	bin, tmux := need(t)
	bob := startEndpoint(t, bin, "--name", "bob", "--answer", "manual")
	conf := filepath.Join(t.TempDir(), "alice.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[sip]\nname = \"alice\"\n\n[presence]\nwatch = [%q]\n", bob)), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf)
	tm.waitFor("the idle view", contains("no calls"))
	tm.keys(false, "P")
	tm.waitFor("bob idle", contains("○ bob       idle"))
	// --expect-calls 3: the picked-up call ends as failed, and one expected call
	// would end the endpoint (and the new call with it).
	startEndpoint(t, bin, "--name", "carol", "--dial", bob, "--expect-calls", "3", "--exit-after", "60s")
	tm.waitFor("bob ringing", contains("◉ bob       ringing: carol calling"))
	tm.keys(false, "p")
	tm.waitFor("alice talks to carol", func(s string) bool {
		return strings.Contains(row(s, 1), "active") && strings.Contains(row(s, 1), "carol")
	})
	tm.keys(false, "P")
	tm.waitFor("bob idle again", contains("○ bob       idle"))
}
