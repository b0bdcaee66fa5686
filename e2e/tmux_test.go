package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need returns $ANYPHONE_BIN and the tmux path. Under CI a missing one
// fails the test; elsewhere, with -short, it skips.
func need(t *testing.T) (bin, tmux string) {
	t.Helper()
	bin = os.Getenv("ANYPHONE_BIN")
	tmux, err := exec.LookPath("tmux")
	var missing []string
	if bin == "" {
		missing = append(missing, "ANYPHONE_BIN (make test sets it)")
	}
	if err != nil {
		missing = append(missing, "tmux")
	}
	if len(missing) == 0 {
		return bin, tmux
	}
	msg := "missing " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" || !testing.Short() {
		t.Fatal(msg)
	}
	t.Skip(msg + " (-short)")
	return "", ""
}

// startEndpoint runs `anyphone endpoint` and returns its SIP URI.
func startEndpoint(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ready := startReady(t, "endpoint", nil, bin, append([]string{"endpoint", "--listen", "127.0.0.1:0"}, args...)...)
	return ready.URI
}

// readyLine is the first line of the endpoint and the controller.
type readyLine struct{ Event, URI, Ctl string }

// startReady runs bin with args and env until the test ends (stdin kept
// open: EOF would end an endpoint) and returns its ready line.
func startReady(t *testing.T, name string, env []string, bin string, args ...string) readyLine {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &logWriter{t: t, prefix: name + ": "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan readyLine, 1)
	go func() {
		// The stdout reader: ends when the process exits.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev readyLine
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "ready" {
				ready <- ev
			}
		}
	}()
	select {
	case r := <-ready:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no ready line", name)
	}
	return readyLine{}
}

type logWriter struct {
	t      *testing.T
	prefix string
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// term is a TUI running in its own tmux server.
type term struct {
	t      *testing.T
	tmux   string
	socket string
}

func (tm *term) run(args ...string) (string, error) {
	out, err := exec.Command(tm.tmux, append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// startTUI opens the TUI at 100×30 with HOME and the XDG dirs in a temp dir.
func startTUI(t *testing.T, bin, tmux string) *term {
	t.Helper()
	return startTUIWith(t, bin, tmux, "")
}

// startTUIWith is startTUI with extra environment and arguments (a shell
// word list: "VAR=x ... -- --flag ...").
func startTUIWith(t *testing.T, bin, tmux, extra string) *term {
	t.Helper()
	home := t.TempDir()
	tm := &term{t: t, tmux: tmux, socket: fmt.Sprintf("anyphone-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	envs, args, _ := strings.Cut(extra, "--")
	env := fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s XDG_CONFIG_HOME=%s XDG_CACHE_HOME=%s TERM=xterm-256color %s %s %s",
		home, filepath.Join(home, "state"), filepath.Join(home, "config"), filepath.Join(home, "cache"), envs, bin, args)
	if out, err := tm.run("new-session", "-d", "-s", "ui", "-x", "100", "-y", "30", env); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", tm.screen())
			if b, err := os.ReadFile(filepath.Join(home, "state", "anyphone", "anyphone.log")); err == nil {
				t.Logf("log:\n%s", b)
			}
		}
		_, _ = tm.run("kill-server")
	})
	return tm
}

func (tm *term) screen() string {
	out, _ := tm.run("capture-pane", "-p", "-t", "ui")
	return out
}

// keys sends tmux key names (Enter, Escape) or, with literal, text.
func (tm *term) keys(literal bool, keys ...string) {
	tm.t.Helper()
	args := []string{"send-keys", "-t", "ui"}
	if literal {
		args = append(args, "-l")
	}
	if out, err := tm.run(append(args, keys...)...); err != nil {
		tm.t.Fatalf("send-keys %q: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen until ok says yes.
func (tm *term) waitFor(what string, ok func(screen string) bool) {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(tm.t.Context(), 15*time.Second)
	defer cancel()
	for {
		if ok(tm.screen()) {
			return
		}
		select {
		case <-ctx.Done():
			tm.t.Fatalf("waiting for %s: timed out; screen:\n%s", what, tm.screen())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func contains(s string) func(string) bool {
	return func(x string) bool { return strings.Contains(x, s) }
}

// callRow is the screen's first call row ("▸ 1 → active ..."), or "".
func callRow(screen string) string {
	for _, ln := range strings.Split(screen, "\n") {
		if strings.Contains(ln, " 1 → ") {
			return ln
		}
	}
	return ""
}

func rowHas(s string) func(string) bool {
	return func(x string) bool { return strings.Contains(callRow(x), s) }
}

// followCall dials uri from the TUI and walks the call through ringing
// (when ringing is not nil: it runs once the screen shows the call
// ringing, to answer it on the far end), active, hold, resume, the SIP
// ladder and hang up, reading the screen.
func followCall(t *testing.T, tm *term, uri string, ringing func()) {
	tm.waitFor("the idle view", contains("no calls"))
	tm.keys(false, "d")
	tm.keys(true, uri)
	tm.keys(false, "Enter")
	tm.waitFor("the call row", func(s string) bool { return callRow(s) != "" })
	if ringing != nil {
		tm.waitFor("ringing", rowHas("ringing"))
		ringing()
	}
	tm.waitFor("active", rowHas("active"))
	tm.keys(false, "h")
	tm.waitFor("held", rowHas("held"))
	tm.keys(false, "h")
	tm.waitFor("active again", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && !strings.Contains(r, "[hold]")
	})
	tm.keys(false, "l")
	tm.waitFor("the SIP ladder with the call and both hold re-INVITEs", func(s string) bool {
		return strings.Contains(s, "SIP ladder") && strings.Count(s, "INVITE") >= 3 && strings.Contains(s, "200 OK")
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list again", rowHas("active"))
	tm.keys(false, "e")
	tm.waitFor("the idle view after hang up", func(s string) bool { return callRow(s) == "" && strings.Contains(s, "no calls") })
}

// quit leaves the TUI with q and waits for it to exit.
func (tm *term) quit() {
	tm.keys(false, "q")
	tm.waitFor("the TUI to exit", func(string) bool { _, err := tm.run("has-session", "-t", "ui"); return err != nil })
}

func TestTUIAgainstEndpoint(t *testing.T) {
	bin, tmux := need(t)
	uri := startEndpoint(t, bin, "--audio", "tone:1000", "--answer-delay", "500ms")
	tm := startTUI(t, bin, tmux)
	followCall(t, tm, uri, func() {}) // the endpoint answers after 500 ms
	tm.quit()
}

// TestTUIBuiltinEcho calls the built-in echo, then finds the call in the
// journal pane and opens the devices and settings panes.
func TestTUIBuiltinEcho(t *testing.T) {
	bin, tmux := need(t)
	tm := startTUI(t, bin, tmux)
	followCall(t, tm, "echo", nil)
	tm.keys(false, "j")
	tm.waitFor("the call in the journal", func(s string) bool {
		return strings.Contains(s, "[all]") && strings.Contains(s, "answered") && strings.Contains(s, "echo@127.0.0.1")
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls")) // Escape then D at once would read as alt+D
	tm.keys(false, "D")
	tm.waitFor("the devices pane", func(s string) bool {
		return strings.Contains(s, "Devices") && strings.Contains(s, "● desk") && strings.Contains(s, "(this softphone)")
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	tm.keys(false, "S")
	tm.waitFor("the settings pane", func(s string) bool {
		return strings.Contains(s, "Settings") && strings.Contains(s, "when busy          wait") && strings.Contains(s, "mic ")
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	tm.quit()
}

// TestTUIAnyDeviceDemo (issue 10) walks the embedded AnyDevice demo as a
// new user would after `make run`: D, the simulated mobile, a call to echo
// that rings the mobile first and is then active on it, hold and resume,
// a consultation to tone (its own row, the first call held), T to
// transfer, and the journal with one row per call.
func TestTUIAnyDeviceDemo(t *testing.T) {
	bin, tmux := need(t)
	tm := startTUI(t, bin, tmux)
	tm.waitFor("the idle view with the demo notice", contains("AnyDevice demo"))
	tm.keys(false, "D")
	tm.waitFor("the simulated devices", func(s string) bool {
		return strings.Contains(s, "● desk") && strings.Contains(s, "○ mobile") && strings.Contains(s, "○ home")
	})
	tm.keys(false, "Down")
	tm.keys(false, "Enter")
	tm.waitFor("mobile active", func(s string) bool { return strings.Contains(s, "● mobile") && strings.Contains(s, "on mobile") })
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	tm.keys(false, "d")
	tm.keys(true, "echo")
	tm.keys(false, "Enter")
	tm.waitFor("the call ringing on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "dialing") && strings.Contains(r, "@mobile")
	})
	tm.waitFor("the call active on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "@mobile") && strings.Contains(r, "echo")
	})
	tm.keys(false, "h")
	tm.waitFor("held", func(s string) bool { return strings.Contains(callRow(s), "[hold] @mobile") })
	tm.keys(false, "h")
	tm.waitFor("active again", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && !strings.Contains(r, "[hold]")
	})
	tm.keys(false, "c")
	tm.keys(true, "tone")
	tm.keys(false, "Enter")
	tm.waitFor("the consultation on its own row, echo held", func(s string) bool {
		return strings.Contains(callRow(s), "[hold] @mobile") && strings.Contains(s, "▸ 2 → active") && strings.Contains(s, "tone")
	})
	tm.keys(false, "T")
	tm.waitFor("both calls gone after the transfer", func(s string) bool {
		return callRow(s) == "" && strings.Contains(s, "no calls") && strings.Contains(s, "transferred")
	})
	tm.keys(false, "j")
	tm.waitFor("one journal row per call", func(s string) bool {
		return strings.Contains(s, "2 calls") && strings.Contains(s, "echo@127.0.0.1") && strings.Contains(s, "tone@127.0.0.1")
	})
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	// A number: the demo's telephone network answers it (no trunk needed).
	tm.keys(false, "d")
	tm.keys(true, "+4930555123")
	tm.keys(false, "Enter")
	tm.waitFor("the number active on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "@mobile") && strings.Contains(r, "+4930555123")
	})
	tm.keys(false, "e")
	tm.waitFor("the call list", contains("no calls"))
	tm.quit()
}

// startController runs `anyphone controller` on conf and returns its ready
// line's control URL (ws://…/ctl).
func startController(t *testing.T, bin, conf string, env ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "controller.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return startReady(t, "controller", env, bin, "controller", "--file", path).Ctl
}

// TestTUIAttachedToController (issue 10): the TUI attached to a shared
// `anyphone controller` as alice (--controller, --user, the token from the
// environment) places a callback through alice's mobile (an endpoint that
// answers after 500 ms) to a destination endpoint, shows it ringing and
// active on the mobile, holds it and hangs it up; then switches alice to
// her home phone in the devices pane and the next call is carried there.
func TestTUIAttachedToController(t *testing.T) {
	bin, tmux := need(t)
	mobile := startEndpoint(t, bin, "--name", "mobile", "--answer-delay", "500ms", "--audio", "echo")
	home := startEndpoint(t, bin, "--name", "home", "--answer-delay", "300ms", "--audio", "echo")
	dest := startEndpoint(t, bin, "--name", "+4930555", "--audio", "tone:440")
	url := startController(t, bin, `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
[[users]]
id = "alice"
token_env = "E2E_ALICE_TOKEN"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "`+mobile+`"
  [[users.devices]]
  name = "home"
  target = "`+home+`"
  [users.policy]
  uris = true
`, "E2E_ALICE_TOKEN=alice-token")
	// Attached by the config file: [controller] with a token file.
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "alice.token")
	conf := filepath.Join(dir, "anyphone.toml")
	if err := os.WriteFile(tokFile, []byte("alice-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[controller]\nurl = %q\nuser = \"alice\"\ntoken_file = %q\n", url, tokFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf+" --no-builtins")
	tm.waitFor("the attached view", func(s string) bool { return strings.Contains(s, "alice at "+url) && strings.Contains(s, "no calls") })
	tm.keys(false, "d")
	tm.keys(true, dest)
	tm.keys(false, "Enter")
	tm.waitFor("the call ringing on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "dialing") && strings.Contains(r, "@mobile")
	})
	tm.waitFor("the call active on the mobile", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "@mobile")
	})
	tm.keys(false, "h")
	tm.waitFor("held", func(s string) bool { return strings.Contains(callRow(s), "[hold] @mobile") })
	tm.keys(false, "e")
	tm.waitFor("hung up", func(s string) bool { return callRow(s) == "" && strings.Contains(s, "no calls") })

	// The devices pane works attached too: home becomes the active device
	// and the next call rings it.
	tm.keys(false, "D")
	tm.waitFor("alice's devices", func(s string) bool { return strings.Contains(s, "● mobile") && strings.Contains(s, "○ home") })
	tm.keys(false, "Down")
	tm.keys(false, "Enter")
	tm.waitFor("home active", func(s string) bool { return strings.Contains(s, "● home") })
	tm.keys(false, "Escape")
	tm.waitFor("the call list", contains("no calls"))
	tm.keys(false, "d")
	tm.keys(true, dest)
	tm.keys(false, "Enter")
	tm.waitFor("the call active at home", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "@home")
	})
	tm.keys(false, "e")
	tm.waitFor("hung up", func(s string) bool { return callRow(s) == "" && strings.Contains(s, "no calls") })
	tm.quit()
}
