package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestLoadControllerConfig(t *testing.T) {
	t.Setenv("TEST_ALICE_TOKEN", "s3cret")
	cfg, api, err := loadControllerConfig("testdata/controller.toml")
	if err != nil {
		t.Fatal(err)
	}
	if api != "127.0.0.1:0" || cfg.Trunk != "127.0.0.1:5080" || cfg.MaxChannels != 30 || len(cfg.Phone.AllowSources) != 2 {
		t.Errorf("config = %+v api %s", cfg, api)
	}
	u := cfg.Users[0]
	if u.Token.Reveal() != "s3cret" || u.Office() != "+4989100" || len(u.Devices) != 2 || u.VoicemailAfter != 25*time.Second {
		t.Errorf("user = %+v", u)
	}
	if d, _ := u.Device("mobile"); d.RingDelay != 10*time.Second || d.FastAnswer != 1500*time.Millisecond || d.ConfirmKey != "1" {
		t.Errorf("mobile = %+v", d)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"no token", "[[users]]\nid = \"x\"\nnumbers = [\"+4989100\"]\n", "no token"},
		{"unknown key", "listen = \"127.0.0.1:0\"\nlisten_port = 5\n", "unknown key"},
		{"bad number", "[[users]]\nid = \"x\"\ntoken = \"t\"\nnumbers = [\"0899\"]\n", "E.164"},
		{"bad acl", "allow_sources = [\"nowhere\"]\n", "allow_sources"},
		{"active not owned", "[[users]]\nid = \"x\"\ntoken = \"t\"\nactive = [\"y\"]\n", "no device"},
	} {
		p := filepath.Join(t.TempDir(), "c.toml")
		_ = os.WriteFile(p, []byte(tc.body), 0o600)
		if _, _, err := loadControllerConfig(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}

	// A token written in a file others may read: refused, as ssh refuses
	// a loose key; so is a loose token_file.
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.toml")
	_ = os.WriteFile(loose, []byte("[[users]]\nid = \"x\"\ntoken = \"t\"\nnumbers = [\"+4989100\"]\n"), 0o600)
	_ = os.Chmod(loose, 0o644)
	if _, _, err := loadControllerConfig(loose); err == nil || !strings.Contains(err.Error(), "users[0].token") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("token in a world-readable file: err = %v", err)
	}
	tok := filepath.Join(dir, "x.token")
	_ = os.WriteFile(tok, []byte("t\n"), 0o600)
	_ = os.Chmod(tok, 0o640)
	withFile := filepath.Join(dir, "file.toml")
	_ = os.WriteFile(withFile, []byte(fmt.Sprintf("[[users]]\nid = \"x\"\ntoken_file = %q\nnumbers = [\"+4989100\"]\n", tok)), 0o600)
	if _, _, err := loadControllerConfig(withFile); err == nil || !strings.Contains(err.Error(), "users[0].token_file") {
		t.Errorf("group-readable token_file: err = %v", err)
	}
	_ = os.Chmod(tok, 0o600)
	cfg2, _, err := loadControllerConfig(withFile)
	if err != nil || cfg2.Users[0].Token.Reveal() != "t" {
		t.Errorf("token_file 0600: %v", err)
	}
}

func TestControllerRunReady(t *testing.T) {
	t.Setenv("TEST_ALICE_TOKEN", "s3cret")
	r, w := io.Pipe()
	cmd := &ControllerCmd{File: "testdata/controller.toml", ExitAfter: 1500 * time.Millisecond, out: w}
	done := make(chan error, 1)
	go func() { done <- cmd.Run(&Globals{LogLevel: "warn"}); w.Close() }()
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		t.Fatalf("no ready line")
	}
	var ready struct {
		Event, Addr, API string
		Users            []string
	}
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil || ready.Event != "ready" || !strings.HasPrefix(ready.API, "ws://127.0.0.1:") || len(ready.Users) != 1 {
		t.Fatalf("ready line %s (%v)", sc.Text(), err)
	}
	for sc.Scan() {
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// apiClient is a control API connection for tests.
type apiClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

func dialAPI(t *testing.T, url string) *apiClient {
	t.Helper()
	conn, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &apiClient{t: t, conn: conn}
}

// do sends a command and returns its response (events in between are
// skipped).
func (a *apiClient) do(cmd string, args map[string]any) anydevice.Response {
	a.t.Helper()
	a.n++
	id := fmt.Sprint(a.n)
	b, _ := json.Marshal(map[string]any{"id": id, "cmd": cmd, "args": args})
	if err := a.conn.Write(a.t.Context(), websocket.MessageText, b); err != nil {
		a.t.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(a.t.Context(), 5*time.Second)
		_, msg, err := a.conn.Read(ctx)
		cancel()
		if err != nil {
			a.t.Fatalf("%s: %v", cmd, err)
		}
		var r anydevice.Response
		if json.Unmarshal(msg, &r) == nil && r.ID == id {
			return r
		}
	}
}

// TestControllerJournal runs the command with a journal: a bridged
// callback leaves one entry for the whole call, a refused dial one entry
// with its rule.
func TestControllerJournal(t *testing.T) {
	dir := t.TempDir()
	mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"})
	dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555"})
	jpath := filepath.Join(dir, "journal.db")
	conf := fmt.Sprintf(`listen = "127.0.0.1:0"
api = "127.0.0.1:0"
journal = %q
[[users]]
id = "alice"
token = "s3cret"
numbers = ["+4989100"]
  [[users.devices]]
  name = "mobile"
  target = %q
`, jpath, mobile.URI())
	cpath := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(cpath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cmd := &ControllerCmd{File: cpath, ExitAfter: 30 * time.Second, out: w, ctx: ctx}
	done := make(chan error, 1)
	go func() { done <- cmd.Run(&Globals{LogLevel: "warn"}); w.Close() }()
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		t.Fatal("no ready line")
	}
	var ready struct{ API string }
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil {
		t.Fatal(err)
	}
	go func() { // drain the event lines; ends when Run closes w
		for sc.Scan() {
		}
	}()
	api := dialAPI(t, ready.API)
	if res := api.do("auth", map[string]any{"user": "alice", "token": "s3cret"}); !res.OK {
		t.Fatalf("auth: %+v", res)
	}
	if res := api.do("callback", map[string]any{"to": "+4990012345"}); res.OK || res.Rule != "premium" {
		t.Fatalf("premium callback: %+v, want refused by premium", res)
	}
	if res := api.do("callback", map[string]any{"to": dest.URI()}); !res.OK {
		t.Fatalf("callback: %+v", res)
	}
	a := mobile.Events.WaitState(t, "", phone.CallIncoming)
	if err := mobile.Answer(a.ID); err != nil {
		t.Fatal(err)
	}
	b := dest.Events.WaitState(t, "", phone.CallIncoming)
	if err := dest.Answer(b.ID); err != nil {
		t.Fatal(err)
	}
	dest.Events.WaitState(t, b.ID, phone.CallActive)
	time.Sleep(300 * time.Millisecond)
	if err := dest.Hangup(b.ID); err != nil {
		t.Fatal(err)
	}
	mobile.Events.WaitState(t, a.ID, phone.CallEnded)

	j, err := journal.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var rows []journal.Entry
	deadline := time.Now().Add(5 * time.Second)
	for len(rows) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if rows, err = j.List(t.Context(), journal.Filter{User: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("journal rows = %+v, want 2 (one call, one refusal)", rows)
	}
	var call, refused *journal.Entry
	for i := range rows {
		if rows[i].BusyRule != "" {
			refused = &rows[i]
		} else {
			call = &rows[i]
		}
	}
	if refused == nil || refused.BusyRule != "anydevice:premium" || refused.Remote.Number != "+4990012345" || refused.Outcome != journal.OutcomeFailed {
		t.Errorf("refusal row = %+v", refused)
	}
	if call == nil || call.Outcome != journal.OutcomeAnswered || call.Direction != phone.Outgoing ||
		call.Device != "mobile" || call.Remote.Number != "+4930555" || call.Local.Number != "+4989100" ||
		call.SIPCallID != b.SIPCallID || call.Answered.IsZero() || call.Ended.IsZero() {
		t.Errorf("call row = %+v", call)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestControllerExampleChecks: the commented example in docs validates with
// its secrets' variables set, and names the field of a missing one.
func TestControllerExampleChecks(t *testing.T) {
	example := filepath.Join("..", "..", "docs", "controller.example.toml")
	t.Setenv("ALICE_TOKEN", "t")
	t.Setenv("ANYPHONE_REGISTRAR_PASSWORD", "p")
	var out strings.Builder
	cmd := &ControllerCmd{File: example, Check: true, out: &out}
	if err := cmd.Run(&Globals{LogLevel: "warn"}); err != nil || !strings.Contains(out.String(), "ok: 1 users (alice)") {
		t.Fatalf("--check: %v, %q", err, out.String())
	}
	t.Setenv("ANYPHONE_REGISTRAR_PASSWORD", "")
	if err := cmd.Run(&Globals{LogLevel: "warn"}); err == nil || !strings.Contains(err.Error(), "account.password_env") {
		t.Errorf("--check without the password: %v, want an error naming account.password_env", err)
	}
}
