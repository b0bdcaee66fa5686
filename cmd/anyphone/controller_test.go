package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
