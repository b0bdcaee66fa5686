package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
)

// parseTui parses a TUI command line the way main does.
func parseTui(t *testing.T, args ...string) (*TuiCmd, *Globals) {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Name("anyphone"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &c.Tui, &c.Globals
}

// isolate points HOME and the XDG dirs at a temp dir.
func isolate(t *testing.T) string {
	t.Helper()
	clearConfigEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	return home
}

func TestTuiConfig(t *testing.T) {
	home := isolate(t)
	file := writeConfig(t, `
[sip]
listen = "127.0.0.1:5077"
name = "alice"
hold_dialect = "inactive"

[audio]
device = "tone:440"

[control]
listen = "127.0.0.1:0"

[journal]
path = "`+filepath.Join(home, "j", "calls.db")+`"
`)
	tests := []struct {
		name        string
		args        []string
		wantListen  string
		wantName    string
		wantHold    phone.HoldDialect
		wantAccount string
		wantAudio   string
		wantJournal string
		wantControl string
		wantErr     bool
	}{
		{name: "embedded default", args: nil, wantListen: "127.0.0.1:0", wantName: "me", wantAudio: "auto",
			wantJournal: filepath.Join(home, "data", "anyphone", "journal.db")},
		{name: "config file", args: []string{"--config", file}, wantListen: "127.0.0.1:5077", wantName: "alice",
			wantHold: phone.HoldInactive, wantAudio: "tone:440", wantJournal: filepath.Join(home, "j", "calls.db"), wantControl: "127.0.0.1:0"},
		{name: "flags override the file", args: []string{"--config", file, "--listen", "127.0.0.1:0", "--name", "bob", "--audio", "null",
			"--journal", filepath.Join(home, "other.db"), "--control", "127.0.0.1:7999"},
			wantListen: "127.0.0.1:0", wantName: "bob", wantHold: phone.HoldInactive, wantAudio: "null",
			wantJournal: filepath.Join(home, "other.db"), wantControl: "127.0.0.1:7999"},
		{name: "account flag", args: []string{"--account", "sip:carol@127.0.0.1", "--registrar", "sip:127.0.0.1:5099"},
			wantListen: "127.0.0.1:0", wantAccount: "sip:carol@127.0.0.1", wantAudio: "auto",
			wantJournal: filepath.Join(home, "data", "anyphone", "journal.db")},
		{name: "registrar without account", args: []string{"--registrar", "sip:127.0.0.1:5099"}, wantErr: true},
		{name: "named file missing", args: []string{"--config", filepath.Join(home, "nope.toml")}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, g := parseTui(t, tc.args...)
			cfg, err := LoadConfig(configPath(g))
			var pc phone.Config
			if err == nil {
				pc, err = c.phoneConfig(cfg)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if pc.Listen != tc.wantListen || pc.Name != tc.wantName || pc.HoldDialect != tc.wantHold {
				t.Errorf("%s: listen %q name %q hold %v, want %q %q %v", tc.name, pc.Listen, pc.Name, pc.HoldDialect, tc.wantListen, tc.wantName, tc.wantHold)
			}
			if got := ""; pc.Account != nil {
				got = pc.Account.AOR
				if got != tc.wantAccount {
					t.Errorf("%s: account %q, want %q", tc.name, got, tc.wantAccount)
				}
			} else if tc.wantAccount != "" {
				t.Errorf("%s: no account, want %q", tc.name, tc.wantAccount)
			}
			if got := c.audioSpec(cfg); got != tc.wantAudio {
				t.Errorf("%s: audio %q, want %q", tc.name, got, tc.wantAudio)
			}
			if got, err := c.journalPath(cfg); err != nil || got != tc.wantJournal {
				t.Errorf("%s: journal %q (%v), want %q", tc.name, got, err, tc.wantJournal)
			}
			if got := c.controlAddr(cfg); got != tc.wantControl {
				t.Errorf("%s: control %q, want %q", tc.name, got, tc.wantControl)
			}
		})
	}
}

func TestTuiServiceOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    busy.Policy
		wantErr bool
	}{
		{name: "zero policy is call waiting", want: busy.Policy{}},
		{name: "busy flags", args: []string{"--busy", "busy", "--vip", "+4930123"}, want: busy.Policy{OnBusy: busy.Busy, VIP: []string{"+4930123"}}},
		{name: "bad policy", args: []string{"--busy", "voicemail"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := isolate(t)
			c, g := parseTui(t, tc.args...)
			cfg, err := LoadConfig(configPath(g))
			if err != nil {
				t.Fatal(err)
			}
			pc, err := c.phoneConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			o, closer, err := c.serviceOptions(cfg, pc, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			defer closer.Close()
			if o.Journal == nil {
				t.Fatalf("%s: no journal opened", tc.name)
			}
			if _, err := o.Journal.UnreadMissed(t.Context(), "me"); err != nil {
				t.Errorf("%s: journal under %s: %v", tc.name, home, err)
			}
			if o.Policy == nil || o.Policy.OnBusy != tc.want.OnBusy || len(o.Policy.VIP) != len(tc.want.VIP) || o.Policy.DND != tc.want.DND {
				t.Errorf("%s: policy %+v, want %+v", tc.name, o.Policy, tc.want)
			}
		})
	}
}

func TestTuiStartControl(t *testing.T) {
	isolate(t)
	svc := startTestService(t)
	tests := []struct {
		name    string
		addr    string
		wantErr error
		wantOn  bool
	}{
		{name: "off", addr: ""},
		{name: "loopback without token", addr: "127.0.0.1:0", wantOn: true},
		{name: "elsewhere needs a token", addr: "0.0.0.0:0", wantErr: ctl.ErrNeedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := startControl(t.Context(), &Config{}, tc.addr, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
			}
			if (srv != nil) != tc.wantOn {
				t.Fatalf("%s: server %v, want on %v", tc.name, srv != nil, tc.wantOn)
			}
			if srv == nil {
				return
			}
			defer srv.Close()
			cl, err := ctl.Dial(t.Context(), srv.Addr(), "")
			if err != nil {
				t.Fatalf("%s: dial: %v", tc.name, err)
			}
			defer cl.Close()
			if _, err := cl.Do(t.Context(), "status", nil); err != nil {
				t.Errorf("%s: status: %v", tc.name, err)
			}
		})
	}
}

// startTestService starts a cti.Service on 127.0.0.1:0.
func startTestService(t *testing.T) *cti.Service {
	t.Helper()
	svc, err := cti.New(cti.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Phone: phone.Config{Name: "me", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	return svc
}
