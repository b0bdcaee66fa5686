package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTUIAttachedChaosOutcome (issue 17): the TUI attached to a shared
// `anyphone controller` as alice shows the outcome of a request the
// controller sent on her call's legs, as the desk TUI shows its own: her
// mobile (sipp) vanishes mid-call, she hangs up, and the status line says
// "mobile: BYE: transport error ..." within about a second.
func TestTUIAttachedChaosOutcome(t *testing.T) {
	bin, tmux := need(t)
	mobile, kill := startSilentPeer(t, 1)
	dest := startEndpoint(t, bin, "--name", "+4930555", "--audio", "tone:440")
	url := startController(t, bin, `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
allow_sources = ["127.0.0.0/8"]
[[users]]
id = "alice"
token_env = "E2E_ALICE_TOKEN"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "`+mobile+`"
  [users.policy]
  uris = true
`, "E2E_ALICE_TOKEN=alice-token")
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "alice.token")
	conf := filepath.Join(dir, "anyphone.toml")
	if err := os.WriteFile(tokFile, []byte("alice-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("[controller]\nurl = \""+url+"\"\nuser = \"alice\"\ntoken_file = \""+tokFile+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf+" --no-builtins")
	tm.waitFor("the attached view", func(s string) bool { return strings.Contains(s, "alice at "+url) && strings.Contains(s, "no calls") })
	tm.keys(false, "d")
	tm.keys(true, dest)
	tm.keys(false, "Enter")
	tm.waitFor("the call active on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "@mobile")
	})
	kill()
	start := time.Now()
	tm.keys(false, "e")
	tm.waitFor("the BYE's outcome in the status line", contains("mobile: BYE: transport error"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the status line showed the BYE's transport error %s after the hang-up, want within ~1 s", d.Round(time.Millisecond))
	} else {
		t.Logf("the status line showed the BYE's transport error %s after the hang-up", d.Round(time.Millisecond))
	}
	tm.quit()
}
