package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/phone"
)

// The settings changed in the TUI's settings pane (S) are kept in
// $XDG_STATE_HOME/anyphone/settings.json, not written into the config
// file: the config file is the user's (hand-written, commented, perhaps
// shared or read-only; rewriting it would lose the comments), while these
// are the phone's state, like devices.json beside it. At start they go on
// top of the config file; command-line flags (--audio, --busy, --dnd) still
// win. Keys: audio, hold_dialect, on_busy, dnd.
const settingsFile = "settings.json"

// settingsStore reads and writes the settings file; safe for concurrent use.
type settingsStore struct {
	mu   sync.Mutex
	path string
}

func newSettingsStore() *settingsStore {
	dir, err := stateDir()
	if err != nil {
		return nil
	}
	return &settingsStore{path: filepath.Join(dir, settingsFile)}
}

// load returns the kept settings; a missing file is none.
func (s *settingsStore) load() (map[string]string, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked()
}

func (s *settingsStore) loadLocked() (map[string]string, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("settings %s: %w", s.path, err)
	}
	return m, nil
}

// save keeps name = value (ui.Options.SaveSetting).
func (s *settingsStore) save(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.loadLocked()
	if err != nil {
		m = map[string]string{} // a broken file is replaced
	}
	m[name] = value
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// saveFunc is save for ui.Options, nil without a state directory.
func (s *settingsStore) saveFunc() func(name, value string) error {
	if s == nil {
		return nil
	}
	return s.save
}

// applySettings puts kept settings on top of cfg; a value that no longer
// parses is skipped with a warning.
func applySettings(cfg *Config, kept map[string]string, log *slog.Logger) {
	for name, v := range kept {
		var err error
		switch name {
		case "audio":
			cfg.Audio.Device = v
		case "hold_dialect":
			if _, err = phone.ParseHoldDialect(v); err == nil {
				cfg.SIP.HoldDialect = v
			}
		case "on_busy":
			var a busy.Action
			if err = a.UnmarshalText([]byte(v)); err == nil {
				cfg.Busy.OnBusy = a
			}
		case "dnd":
			var b bool
			if b, err = strconv.ParseBool(v); err == nil {
				cfg.Busy.DND = b
			}
		default:
			err = errors.New("unknown setting")
		}
		if err != nil && log != nil {
			log.Warn("kept setting skipped", "name", name, "value", v, "err", err)
		}
	}
}
