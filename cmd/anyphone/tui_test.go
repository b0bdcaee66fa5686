package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/endpoint"
	"github.com/anyphone/anyphone/cti/journal"
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
	const busyFile = "[busy]\non_busy = \"voicemail\"\nvoicemail_uri = \"sip:vm@127.0.0.1\"\nvip = [\"+4930111\", \"+4930222\"]\ndnd = true\n"
	tests := []struct {
		name    string
		file    string // config file text; "" for none
		args    []string
		want    busy.Policy
		wantErr bool
	}{
		{name: "zero policy is call waiting", want: busy.Policy{}},
		{name: "busy flags", args: []string{"--busy", "busy", "--vip", "+4930123"}, want: busy.Policy{OnBusy: busy.Busy, VIP: []string{"+4930123"}}},
		{name: "bad policy", args: []string{"--busy", "voicemail"}, wantErr: true},
		{name: "from the config", file: busyFile, want: busy.Policy{OnBusy: busy.Voicemail, VIP: []string{"+4930111", "+4930222"}, DND: true}},
		{name: "flags override the config", file: busyFile, args: []string{"--busy", "busy", "--vip", "+4930123"},
			want: busy.Policy{OnBusy: busy.Busy, VIP: []string{"+4930123"}, DND: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := isolate(t)
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeConfig(t, tc.file)}, args...)
			}
			c, g := parseTui(t, args...)
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

// startAnswering starts a cti.Service that auto-answers with a tone.
func startAnswering(t *testing.T, name string) *cti.Service {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ep := endpoint.New(endpoint.Behavior{Audio: "tone:440"}, log)
	svc, err := cti.New(cti.Options{Logger: log, Phone: phone.Config{Name: name, Listen: "127.0.0.1:0", Transport: "udp", Media: ep.Media, NoTrace: true}})
	if err != nil {
		t.Fatal(err)
	}
	ep.Attach(svc)
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		ep.Close()
	})
	return svc
}

func TestTuiAnyDeviceConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pbx := &phone.Account{AOR: "sip:me@127.0.0.1:5060", Registrar: "sip:127.0.0.1:5060"}
	fromFile := Config{AnyDevice: AnyDeviceConfig{Number: "+4930999999", Devices: []AnyDeviceEntry{
		{Name: "mobile", Target: "+4917000000", RingDelay: Duration(5 * time.Second), Hold: "inactive"},
		{Name: "home", Target: "sip:home@127.0.0.1:5998"}}}}
	tests := []struct {
		name       string
		cfg        Config
		args       []string
		wantNames  []string
		wantErr    bool
		wantNumber string
		wantMobile anydevice.Device // when not zero
		acct       *phone.Account   // the desk's account: numbers go through it
	}{
		{name: "desk only", wantNames: []string{"desk"}},
		{name: "from the config", cfg: fromFile, acct: pbx, wantNames: []string{"desk", "mobile", "home"}, wantNumber: "+4930999999",
			wantMobile: anydevice.Device{Name: "mobile", Target: "+4917000000", RingDelay: 5 * time.Second, Hold: "inactive"}},
		{name: "flags override the config", cfg: fromFile, acct: pbx, args: []string{"--number", "+4930123456", "--anydevice", "mobile=sip:m@127.0.0.1:5997", "--anydevice", "car=+4917099999"},
			wantNames: []string{"desk", "mobile", "home", "car"}, wantNumber: "+4930123456",
			wantMobile: anydevice.Device{Name: "mobile", Target: "sip:m@127.0.0.1:5997", RingDelay: 5 * time.Second, Hold: "inactive"}},
		{name: "bad flag target", args: []string{"--number", "+4930123456", "--anydevice", "mobile=0171"}, wantErr: true},
		{name: "mobile and home", acct: pbx, args: []string{"--number", "+4930123456", "--anydevice", "mobile=+4917012345", "--anydevice", "home=sip:home@127.0.0.1:5999"},
			wantNames: []string{"desk", "home", "mobile"}},
		{name: "a number needs an account", args: []string{"--number", "+4930123456", "--anydevice", "mobile=+4917012345"}, wantErr: true},
		{name: "another device needs a number", args: []string{"--anydevice", "mobile=+4917012345"}, wantErr: true},
		{name: "desk is taken", args: []string{"--number", "+4930123456", "--anydevice", "desk=sip:x@127.0.0.1"}, wantErr: true},
		{name: "bad number", args: []string{"--number", "030123", "--anydevice", "mobile=+4917012345"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := parseTui(t, tc.args...)
			cfg, err := c.anyDeviceConfig(&tc.cfg, "me", "sip:me@127.0.0.1:5060", tc.acct, "", nil, log)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			var names []string
			for _, d := range cfg.Users[0].Devices {
				names = append(names, d.Name)
			}
			if !slices.Equal(names, tc.wantNames) || cfg.Users[0].Devices[0].Target != "sip:me@127.0.0.1:5060" {
				t.Errorf("%s: devices %v (desk %s), want %v", tc.name, names, cfg.Users[0].Devices[0].Target, tc.wantNames)
			}
			if got := cfg.Users[0].Office(); tc.wantNumber != "" && got != tc.wantNumber {
				t.Errorf("%s: office number %q, want %q", tc.name, got, tc.wantNumber)
			}
			if m, _ := cfg.Users[0].Device("mobile"); tc.wantMobile.Name != "" && m != tc.wantMobile {
				t.Errorf("%s: mobile %+v, want %+v", tc.name, m, tc.wantMobile)
			}
		})
	}
}

// TestTuiDialRouting: with desk active the Service the TUI wires dials on
// the local line; with mobile active the embedded controller calls the
// mobile first and bridges it to the destination, and the call on the
// mobile is a call of the Service (issue 10), which the devices pane holds
// and hangs up like any other.
func TestTuiDialRouting(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	me := startTestService(t)
	mobile := startAnswering(t, "mobile")
	dest := startAnswering(t, "dest")
	c, _ := parseTui(t, "--number", "+4930123456", "--anydevice", "mobile="+mobile.URI())
	cfg, err := c.anyDeviceConfig(&Config{}, "me", me.URI(), nil, filepath.Join(t.TempDir(), "devices.json"), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ad := startTestAnyDevice(t, cfg)
	sub := me.Subscribe()
	defer sub.Close()
	me.SetAnyDevice(cti.AnyDeviceRoute{Controller: ad, User: cfg.Users[0].ID, Local: deskDevice})

	id, err := me.Dial(t.Context(), dest.URI(), cti.DialOptions{})
	if err != nil || id == "" || strings.HasPrefix(string(id), "d") {
		t.Fatalf("desk dial: id %q err %v, want a local call", id, err)
	}
	if err := me.Hangup(t.Context(), id); err != nil {
		t.Fatalf("desk hangup: %v", err)
	}

	if err := me.SetDevice(t.Context(), "mobile"); err != nil {
		t.Fatal(err)
	}
	waitEventOf(t, sub, "mobile active", func(ev cti.Event) bool {
		dc, ok := ev.(cti.DevicesChanged)
		return ok && slices.Equal(dc.Active, []string{"mobile"}) && len(dc.Devices) == 2 && dc.Devices[0].Local
	})
	id, err = me.Dial(t.Context(), dest.URI(), cti.DialOptions{})
	if err != nil || !strings.HasPrefix(string(id), "ds") {
		t.Fatalf("mobile dial: id %q err %v, want a callback (a call on the mobile)", id, err)
	}
	waitEventOf(t, sub, "the call active on the mobile", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == id && cc.Call.Device == "mobile" && cc.Call.State == cti.CallActive
	})
	if err := me.Hold(t.Context(), id); err != nil {
		t.Errorf("hold the call on the mobile: %v", err)
	}
	waitEventOf(t, sub, "the call held", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == id && cc.Call.LocalHold
	})
	if err := me.Hangup(t.Context(), id); err != nil {
		t.Errorf("hang up the call on the mobile: %v", err)
	}
	waitEventOf(t, sub, "the call ended", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == id && cc.Call.State == cti.CallEnded
	})
}

// startTestAnyDevice starts the embedded controller as the TUI does.
func startTestAnyDevice(t *testing.T, cfg anydevice.Config) *anydevice.Controller {
	t.Helper()
	ad, err := startAnyDevice(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ad.Shutdown(ctx)
	})
	return ad
}

// waitEvent waits for an event on sub matching pred.
func waitEventOf(t *testing.T, sub *cti.Subscription, what string, pred func(cti.Event) bool) cti.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				t.Fatalf("waiting for %s: the subscription closed", what)
			}
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("waiting for %s", what)
		}
	}
}

// TestPruneJournal applies [journal] retention at start: older calls go,
// 0 keeps everything.
func TestPruneJournal(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		retention Duration
		wantGone  int64
		wantLeft  int
	}{
		{"0 keeps everything", 0, 0, 2},
		{"90 days", Duration(90 * 24 * time.Hour), 1, 1},
		{"an hour", Duration(time.Hour), 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			for i, age := range []time.Duration{200 * 24 * time.Hour, 2 * time.Hour} {
				e := journal.Entry{User: "me", Key: fmt.Sprint("k", i), Direction: cti.Outgoing, Started: now.Add(-age), Ended: now.Add(-age)}
				if _, err := j.Record(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			n, err := pruneJournal(t.Context(), j, tc.retention, now)
			if err != nil || n != tc.wantGone {
				t.Fatalf("%s: pruned %d (%v), want %d", tc.name, n, err, tc.wantGone)
			}
			left, err := j.List(t.Context(), journal.Filter{})
			if err != nil || len(left) != tc.wantLeft {
				t.Errorf("%s: %d calls left (%v), want %d", tc.name, len(left), err, tc.wantLeft)
			}
		})
	}
}

// TestTuiDeviceEdit: editing the mobile's target in the devices pane (the
// Service's SetDeviceTarget) changes it in the embedded controller with
// the active device kept; callbacks ring the new target, an edit during
// the call is fine, and the next start of the controller keeps the edit.
func TestTuiDeviceEdit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	me := startTestService(t)
	oldMobile := startAnswering(t, "oldmobile")
	newMobile := startAnswering(t, "newmobile")
	dest := startAnswering(t, "dest")
	statePath := filepath.Join(t.TempDir(), "devices.json")
	c, _ := parseTui(t, "--number", "+4930123456")
	file := &Config{AnyDevice: AnyDeviceConfig{Number: "+4930123456", Devices: []AnyDeviceEntry{{Name: "mobile", Target: oldMobile.URI(), Hold: "inactive"}}}}
	cfg, err := c.anyDeviceConfig(file, "me", me.URI(), nil, statePath, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ad := startTestAnyDevice(t, cfg)
	sub := me.Subscribe()
	defer sub.Close()
	me.SetAnyDevice(cti.AnyDeviceRoute{Controller: ad, User: cfg.Users[0].ID, Local: deskDevice})
	if err := me.SetDevice(t.Context(), "mobile"); err != nil {
		t.Fatal(err)
	}

	refused := []struct{ name, device, target string }{
		{"desk", "desk", "sip:x@127.0.0.1"},
		{"not a target", "mobile", "0171 1234"},
		{"unknown device", "car", "+4917012345"},
	}
	for _, r := range refused {
		if err := me.SetDeviceTarget(t.Context(), r.device, r.target); err == nil {
			t.Errorf("edit %s: accepted %s → %s", r.name, r.device, r.target)
		}
	}
	if err := me.SetDeviceTarget(t.Context(), "mobile", newMobile.URI()); err != nil {
		t.Fatalf("edit mobile: %v", err)
	}
	waitEventOf(t, sub, "the new target", func(ev cti.Event) bool {
		dc, ok := ev.(cti.DevicesChanged)
		return ok && slices.Equal(dc.Active, []string{"mobile"}) && len(dc.Devices) == 2 && dc.Devices[1].Target == newMobile.URI()
	})
	if m, _ := ad.UserDevices("me"); m[1].Hold != "inactive" {
		t.Errorf("the edit lost the device's other settings: %+v", m[1])
	}

	rings := newMobile.Subscribe()
	defer rings.Close()
	if _, err := me.Dial(t.Context(), dest.URI(), cti.DialOptions{}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	waitEventOf(t, rings, "the callback ringing the new target", func(ev cti.Event) bool {
		_, ok := ev.(cti.CallChanged)
		return ok
	})
	if n := len(oldMobile.Snapshot().Calls); n != 0 {
		t.Errorf("the old target got %d calls", n)
	}
	const third = "sip:thirdmobile@127.0.0.1:5997"
	if err := me.SetDeviceTarget(t.Context(), "mobile", third); err != nil {
		t.Errorf("edit during a callback: %v", err)
	}

	// The next start: the same configuration, the saved edit.
	next, err := c.anyDeviceConfig(file, "me", me.URI(), nil, statePath, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ad2, err := anydevice.New(next)
	if err != nil {
		t.Fatal(err)
	}
	defer ad2.Close()
	if m, _ := ad2.UserDevices("me"); m[1].Target != third {
		t.Errorf("next start: mobile at %s, want the saved %s", m[1].Target, third)
	}
	if act, _ := ad2.ActiveDevices("me"); !slices.Equal(act, []string{"mobile"}) {
		t.Errorf("next start: active %v, want [mobile]", act)
	}
}
