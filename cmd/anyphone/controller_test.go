package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctlproto "github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
	"github.com/anyphone/anyphone/phone/vocab"
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
		Event, Addr, Ctl string
		Users            []string
	}
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil || ready.Event != "ready" || !strings.HasPrefix(ready.Ctl, "ws://127.0.0.1:") || !strings.HasSuffix(ready.Ctl, ctlproto.Path) || len(ready.Users) != 1 {
		t.Fatalf("ready line %s (%v)", sc.Text(), err)
	}
	if strings.Contains(sc.Text(), `"api"`) {
		t.Errorf("the ready line names an api: %s", sc.Text())
	}
	// The control protocol at /ctl is the only one: / is not served.
	root := "http://" + strings.TrimSuffix(strings.TrimPrefix(ready.Ctl, "ws://"), ctlproto.Path) + "/"
	if resp, err := http.Get(root); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: %v %v, want 404", root, resp, err)
	} else {
		resp.Body.Close()
	}
	for sc.Scan() {
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// runController runs the command on conf until the test ends; it returns
// the ready line's ctl URL and the stdout lines after it (closed when Run
// returns).
func runController(t *testing.T, conf string) (ctlURL string, lines <-chan string) {
	t.Helper()
	cpath := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(cpath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	ctx, stop := context.WithCancel(context.Background())
	cmd := &ControllerCmd{File: cpath, ExitAfter: 60 * time.Second, out: w, ctx: ctx}
	done := make(chan error, 1)
	go func() { done <- cmd.Run(&Globals{LogLevel: "warn"}); w.Close() }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		t.Fatal("no ready line")
	}
	var ready struct{ Event, Ctl string }
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil || ready.Event != "ready" || ready.Ctl == "" {
		t.Fatalf("ready line %s (%v)", sc.Text(), err)
	}
	out := make(chan string, 1024)
	go func() { // the stdout reader; ends when Run closes w
		defer close(out)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			default: // a test that does not read them loses them
			}
		}
	}()
	return ready.Ctl, out
}

// waitLine waits for a stdout line of the controller containing every
// needle.
func waitLine(t *testing.T, lines <-chan string, what string, needles ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("waiting for %s: the controller ended", what)
			}
			all := true
			for _, n := range needles {
				all = all && strings.Contains(l, n)
			}
			if all {
				return l
			}
		case <-deadline:
			t.Fatalf("waiting for %s: no such line", what)
		}
	}
}

// dialAs connects to the controller's control protocol as user.
func dialAs(t *testing.T, url, user string, token vocab.Secret) *ctlproto.Client {
	t.Helper()
	c, err := ctlproto.DialUser(t.Context(), url, user, token)
	if err != nil {
		t.Fatalf("ctl as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refusedBy reports whether err is a command refused by rule.
func refusedBy(err error, rule string) bool {
	var e *ctlproto.Error
	return errors.As(err, &e) && e.Code == ctlproto.CodeRefused && e.Rule == rule
}

// TestControllerJournal runs the command with a journal: a callback placed
// over the control protocol and bridged leaves one entry for the whole
// call, a refused dial one entry with its rule.
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
[[users]]
id = "bob"
token = "b0b"
numbers = ["+4989200"]
  [[users.devices]]
  name = "desk"
  target = "sip:bob@127.0.0.1:9"
`, jpath, mobile.URI())
	ctlURL, _ := runController(t, conf)
	alice := dialAs(t, ctlURL, "alice", "s3cret")
	if _, err := alice.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	bob := dialAs(t, ctlURL, "bob", "b0b")
	if _, err := bob.Do(t.Context(), "dial", map[string]any{"to": "+4990099999"}); !refusedBy(err, "premium") {
		t.Fatalf("bob's premium dial: %v, want refused by premium", err)
	}
	if _, err := alice.Do(t.Context(), "dial", map[string]any{"to": "+4990012345"}); !refusedBy(err, "premium") {
		t.Fatalf("premium dial: %v, want refused by premium", err)
	}
	if _, err := alice.Do(t.Context(), "dial", map[string]any{"to": dest.URI()}); err != nil {
		t.Fatalf("dial: %v", err)
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

	// Over the control protocol each user reads her own rows of the one
	// journal, marks only those, and hears of new ones.
	raw, err := alice.Do(t.Context(), "journal", nil)
	if err != nil {
		t.Fatalf("alice's journal: %v", err)
	}
	var got struct{ Entries []journal.Entry }
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Entries) != 2 {
		t.Fatalf("alice's journal over ctl: %s (%v), want her 2 rows", raw, err)
	}
	for _, e := range got.Entries {
		if e.User != "alice" {
			t.Errorf("alice sees a row of %q", e.User)
		}
	}
	bobs, err := j.List(t.Context(), journal.Filter{User: "bob"})
	if err != nil || len(bobs) != 1 {
		t.Fatalf("bob's rows: %+v, %v", bobs, err)
	}
	if _, err := alice.Do(t.Context(), "mark_read", map[string]any{"ids": []int64{bobs[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := j.List(t.Context(), journal.Filter{User: "bob", Unread: true}); len(again) != 1 {
		t.Errorf("alice marked bob's row read")
	}
	timeout := time.After(5 * time.Second)
	for seen := false; !seen; {
		select {
		case ev := <-alice.Events():
			seen = ev.Name == ctlproto.EventJournalChanged
		case <-timeout:
			t.Fatal("alice heard of no journal change")
		}
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

// TestControllerUsers (issue 10): the controller serves each user the
// control protocol of every front end at its ctl URL, and only with that
// user's token: no token, a wrong one or another user's is refused (and
// evented as refused by auth). Alice switches between her own devices;
// her refused commands carry their rule (premium, device-not-owned) and
// ring nothing; her callback shows the
// destination her office number whatever from_user she asks for. Bob sees
// none of her calls or events, and cannot hang up or hold hers; ten failed
// authentications from an address, and even the right token is refused,
// evented as refused by auth-rate without the token.
func TestControllerUsers(t *testing.T) {
	mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"})
	bobDesk := phonetest.NewPhone(t, 0, &phone.Config{Name: "bobdesk"})
	dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555"})
	ctlURL, lines := runController(t, fmt.Sprintf(`listen = "127.0.0.1:0"
api = "127.0.0.1:0"
[[users]]
id = "alice"
token = "alice-secret"
numbers = ["+4989100"]
  [[users.devices]]
  name = "mobile"
  target = %q
  [[users.devices]]
  name = "home"
  target = "sip:alice-home@127.0.0.1:9"
[[users]]
id = "bob"
token = "bob-secret"
numbers = ["+4989200"]
  [[users.devices]]
  name = "desk"
  target = %q
`, mobile.URI(), bobDesk.URI()))

	for _, tc := range []struct{ user, token string }{{"alice", ""}, {"alice", "guess"}, {"alice", "bob-secret"}} {
		if c, err := ctlproto.DialUser(t.Context(), ctlURL, tc.user, vocab.Secret(tc.token)); !errors.Is(err, ctlproto.ErrUnauthorized) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("%s with token %q: %v, want unauthorized", tc.user, tc.token, err)
		}
		l := waitLine(t, lines, "the refused authentication", `"event":"refused"`, `"rule":"auth"`, `"user":"alice"`)
		if tc.token != "" && strings.Contains(l, tc.token) {
			t.Errorf("the refusal names the token: %s", l)
		}
	}

	alice := dialAs(t, ctlURL, "alice", "alice-secret")
	bob := dialAs(t, ctlURL, "bob", "bob-secret")
	if _, err := alice.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := alice.Do(ctx, "dial", map[string]any{"to": "+4990012345"}); !refusedBy(err, "premium") {
		t.Errorf("alice dials a premium number: %v, want refused by premium", err)
	}
	waitLine(t, lines, "the premium refusal", `"event":"refused"`, `"rule":"premium"`)
	if _, err := alice.Do(ctx, "device", map[string]any{"device": "desk"}); !refusedBy(err, "device-not-owned") {
		t.Errorf("alice makes bob's desk active: %v, want refused by device-not-owned", err)
	}
	for _, dev := range []string{"home", "mobile"} {
		res, err := alice.Do(ctx, "device", map[string]any{"device": dev})
		if err != nil || !strings.Contains(string(res), `"active":["`+dev+`"]`) {
			t.Fatalf("alice makes her %s active: %s %v", dev, res, err)
		}
	}
	res, err := alice.Do(ctx, "dial", map[string]any{"to": dest.URI(), "from_user": "+4989200"})
	if err != nil {
		t.Fatalf("alice dials: %v", err)
	}
	var placed struct {
		CallID string `json:"call_id"`
		Device string `json:"device"`
	}
	if err := json.Unmarshal(res, &placed); err != nil || placed.CallID == "" || placed.Device != "mobile" {
		t.Fatalf("dial result %s (%v), want a call id through the mobile", res, err)
	}
	a := mobile.Events.WaitState(t, "", phone.CallIncoming)
	if err := mobile.Answer(a.ID); err != nil {
		t.Fatal(err)
	}
	b := dest.Events.WaitState(t, "", phone.CallIncoming)
	if !strings.Contains(b.Remote.URI, "+4989100") || strings.Contains(b.Remote.URI, "+4989200") {
		t.Errorf("the destination sees %q, want alice's office number +4989100", b.Remote.URI)
	}
	if err := dest.Answer(b.ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, "alice's call active", func(ev ctlproto.Event) bool {
		return ev.Name == ctlproto.EventCall && strings.Contains(string(ev.Raw), placed.CallID) && strings.Contains(string(ev.Raw), `"state":"active"`)
	})

	// Bob: none of alice's calls, in status or to act on.
	st, err := bob.Do(ctx, "status", nil)
	if err != nil || strings.Contains(string(st), placed.CallID) || strings.Contains(string(st), "+4930555") {
		t.Errorf("bob's status %s (%v) shows alice's call", st, err)
	}
	for _, cmd := range []string{"hangup", "hold"} {
		if _, err := bob.Do(ctx, cmd, map[string]any{"call_id": placed.CallID}); !errors.Is(err, &ctlproto.Error{Code: ctlproto.CodeNoSuchCall}) {
			t.Errorf("bob %s alice's call: %v, want no_such_call", cmd, err)
		}
	}
	// Bob's own refusal is his notice; everything his connection got
	// before it is his, and none of it is alice's call.
	if _, err := bob.Do(ctx, "dial", map[string]any{"to": "+4990012345"}); !refusedBy(err, "premium") {
		t.Errorf("bob dials a premium number: %v, want refused by premium", err)
	}
	waitEvent(t, bob, "bob's refusal notice", func(ev ctlproto.Event) bool {
		if ev.Name == ctlproto.EventCall || strings.Contains(string(ev.Raw), placed.CallID) || strings.Contains(string(ev.Raw), "+4930555") {
			t.Errorf("bob got an event of alice's call: %s", ev.Raw)
		}
		return ev.Name == ctlproto.EventNotice && strings.Contains(string(ev.Raw), "premium")
	})

	if _, err := alice.Do(ctx, "hangup", map[string]any{"call_id": placed.CallID}); err != nil {
		t.Fatalf("alice hangs up: %v", err)
	}
	dest.Events.WaitState(t, b.ID, phone.CallEnded)
	if n := len(mobile.Calls()); n > 1 {
		t.Errorf("the mobile had %d calls, want the one callback (refused commands ring nothing)", n)
	}
	if n := len(bobDesk.Calls()); n != 0 {
		t.Errorf("bob's desk rang %d times", n)
	}

	// Ten failures from this address; then even alice's token is refused.
	for i := range 10 {
		if _, err := ctlproto.DialUser(ctx, ctlURL, "alice", vocab.Secret(fmt.Sprintf("guess-%d", i))); !errors.Is(err, ctlproto.ErrUnauthorized) {
			t.Fatalf("guess %d: %v, want unauthorized", i, err)
		}
	}
	if c, err := ctlproto.DialUser(ctx, ctlURL, "alice", "alice-secret"); err == nil {
		c.Close()
		t.Fatal("alice's right token after ten failures was let in")
	}
	l := waitLine(t, lines, "the rate-limited authentication", `"event":"refused"`, `"rule":"auth-rate"`, `"user":"alice"`)
	if strings.Contains(l, "alice-secret") || strings.Contains(l, "guess") {
		t.Errorf("the refusal names a token: %s", l)
	}
}

// waitEvent waits for an event of c matching pred.
func waitEvent(t *testing.T, c *ctlproto.Client, what string, pred func(ctlproto.Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("waiting for %s: connection ended: %v", what, c.Err())
			}
			if pred(ev) {
				return
			}
		case <-deadline:
			t.Fatalf("waiting for %s: timed out", what)
		}
	}
}
