// Command anyphone is a terminal softphone and CTI client with AnyDevice
// callback. One binary, several faces: the TUI (default), the headless test
// endpoint, the control client, configuration and device listing.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"

	// The sound backends register themselves: pulse (the sound server's
	// protocol, pure Go) always, portaudio when built with -tags
	// portaudio; the jitter buffer and echo canceller (SpeexDSP) with -tags
	// speexdsp.
	_ "github.com/anyphone/anyphone/audio/portaudio"
	_ "github.com/anyphone/anyphone/audio/pulse"
	_ "github.com/anyphone/anyphone/audio/speex"
)

// Globals are the flags every command shares.
type Globals struct {
	Config   string `help:"Config file (TOML)." type:"path" env:"ANYPHONE_CONFIG"`
	LogFile  string `help:"Write logs to this file." type:"path"`
	LogLevel string `help:"debug, info, warn, error." default:"info"`
}

// exitError carries an exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Unwrap() error { return e.err }

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// usageError marks a bad flag or config value (exit status 2).
func usageError(err error) error { return &exitError{code: 2, err: err} }

type cli struct {
	Globals
	Version    kong.VersionFlag `help:"Print the version (module version and VCS revision) and exit."`
	Tui        TuiCmd           `cmd:"" default:"withargs" help:"Terminal softphone (default): dial, answer, hold, SIP ladder."`
	Endpoint   EndpointCmd      `cmd:"" help:"Headless test endpoint: scripted behaviour, JSON-line events on stdout, commands on stdin."`
	Ctl        CtlCmd           `cmd:"" help:"Commands and a live event tail against a running instance (control protocol)."`
	Controller ControllerCmd    `cmd:"" help:"AnyDevice callback controller: a server for many users (TOML config, WebSocket control API)."`
	Journal    JournalCmd       `cmd:"" help:"Call journal and missed calls: list, missed, export, mark-read."`
	Config     ConfigCmd        `cmd:"" help:"Configuration file: init, show, check."`
	Devices    DevicesCmd       `cmd:"" help:"List audio devices."`
	Completion CompletionCmd    `cmd:"" help:"Print a shell completion script: bash, zsh or fish."`
}

// version is the module version and the VCS revision the binary was
// built from (go build stamps them).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "anyphone (unknown version)"
	}
	v := "anyphone " + bi.Main.Version
	rev, dirty := "", false
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.modified":
			dirty = st.Value == "true"
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))]
		if dirty {
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}

func main() {
	var c cli
	parser := kong.Must(&c,
		kong.Name("anyphone"),
		kong.Description("A terminal softphone and CTI client with AnyDevice callback."),
		kong.UsageOnError(),
		kong.Vars{"version": version()},
	)
	ctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "anyphone:", err)
		os.Exit(2)
	}
	if err := ctx.Run(&c.Globals); err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) { // kong wraps what Run returns
			code = ee.code
			if ee.err == nil {
				os.Exit(code)
			}
		}
		fmt.Fprintln(os.Stderr, "anyphone:", err)
		os.Exit(code)
	}
}

// newLogger builds the logger: to the log file if one is set, else to w.
func (g *Globals) newLogger(w io.Writer) (*slog.Logger, io.Closer, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(g.LogLevel))); err != nil {
		return nil, nil, usageError(fmt.Errorf("log-level: %q is not debug, info, warn or error", g.LogLevel))
	}
	var closer io.Closer = io.NopCloser(nil)
	if g.LogFile != "" {
		f, err := os.OpenFile(g.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closer = f, f
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closer, nil
}
