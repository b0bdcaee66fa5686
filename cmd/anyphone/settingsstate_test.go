package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/cti/busy"
)

// TestSettingsKeptAcrossStarts (issue 13): what the settings pane saves is
// read back at the next start, on top of the config file, and config show
// says so.
func TestSettingsKeptAcrossStarts(t *testing.T) {
	clearConfigEnv(t)
	st := newSettingsStore()
	if st == nil {
		t.Fatal("no state dir")
	}
	for _, kv := range [][2]string{{"on_busy", "busy"}, {"dnd", "true"}, {"hold_dialect", "inactive"}, {"audio", "null"}, {"on_busy", "unavailable"}} {
		if err := st.save(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if filepath.Dir(st.path) != filepath.Join(os.Getenv("XDG_STATE_HOME"), "anyphone") {
		t.Errorf("settings at %s, want under $XDG_STATE_HOME/anyphone", st.path)
	}
	kept, err := newSettingsStore().load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{}
	cfg.Busy.OnBusy = busy.Wait
	applySettings(cfg, kept, nil)
	if cfg.Busy.OnBusy != busy.Unavailable || !cfg.Busy.DND || cfg.SIP.HoldDialect != "inactive" || cfg.Audio.Device != "null" {
		t.Errorf("applied: busy %v dnd %v hold %q audio %q", cfg.Busy.OnBusy, cfg.Busy.DND, cfg.SIP.HoldDialect, cfg.Audio.Device)
	}
	// a value that no longer parses is skipped
	cfg2 := &Config{}
	applySettings(cfg2, map[string]string{"on_busy": "sometimes", "hold_dialect": "x"}, nil)
	if cfg2.Busy.OnBusy != busy.Unset || cfg2.SIP.HoldDialect != "" {
		t.Errorf("bad values applied: %+v", cfg2.Busy)
	}

	path := filepath.Join(t.TempDir(), "anyphone.toml")
	if err := os.WriteFile(path, []byte("[busy]\non_busy = \"wait\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	if err := (&ConfigShowCmd{}).Run(&Globals{Config: path}, &ConfigCmd{out: out}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `on_busy = "unavailable"`) || !strings.Contains(s, "kept in "+st.path) {
		t.Errorf("config show:\n%s", s)
	}
}
