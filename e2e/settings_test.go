package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettingsSurviveRestart (issue 13): "when busy" changed with S is in
// force after the TUI is started again.
func TestSettingsSurviveRestart(t *testing.T) {
	bin, tmux := need(t)
	state := t.TempDir()
	extra := "XDG_STATE_HOME=" + state + " -- --no-builtins"
	tm := startTUIWith(t, bin, tmux, extra)
	tm.waitFor("the idle view with call waiting", func(s string) bool { return strings.Contains(s, "no calls") && strings.Contains(s, "busy: wait") })
	tm.keys(false, "S")
	tm.waitFor("the settings pane", contains("when busy"))
	tm.keys(false, "Down", "Down", "Enter")
	tm.waitFor("busy on busy", contains("busy: busy"))
	tm.waitFor("the settings file", func(string) bool {
		b, err := os.ReadFile(filepath.Join(state, "anyphone", "settings.json"))
		return err == nil && strings.Contains(string(b), `"on_busy": "busy"`)
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	tm.quit()

	tm = startTUIWith(t, bin, tmux, extra)
	tm.waitFor("busy on busy after the restart", func(s string) bool { return strings.Contains(s, "no calls") && strings.Contains(s, "busy: busy") })
	tm.quit()
}
