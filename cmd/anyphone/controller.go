package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// ControllerCmd runs the AnyDevice callback controller as a server for many
// users: SIP on one address, the control API (JSON over WebSocket, per-user
// tokens) on another.
type ControllerCmd struct {
	File      string        `help:"Controller config (TOML); default: the global --config." type:"path"`
	Listen    string        `help:"SIP listen address (overrides the file)."`
	API       string        `help:"Control API listen address (overrides the file)." name:"api"`
	ExitAfter time.Duration `help:"Stop after this long (tests)."`

	out io.Writer // stdout; tests replace it
}

// controllerFile is the TOML layout of the controller config.
type controllerFile struct {
	Listen       string   `toml:"listen"`
	Transport    string   `toml:"transport"`
	API          string   `toml:"api"`
	Trunk        string   `toml:"trunk"`
	Domain       string   `toml:"domain"`
	MaxChannels  int      `toml:"max_channels"`
	State        string   `toml:"state"`
	AllowSources []string `toml:"allow_sources"`
	Account      *struct {
		AOR         string `toml:"aor"`
		Registrar   string `toml:"registrar"`
		Proxy       string `toml:"proxy"`
		Username    string `toml:"username"`
		PasswordEnv string `toml:"password_env"`
	} `toml:"account"`
	Users []struct {
		anydevice.User
		TokenEnv string `toml:"token_env"`
	} `toml:"users"`
}

// loadControllerConfig reads path into an anydevice.Config and the API
// address. Secrets come from the environment (token_env, password_env) or
// the file; they are never logged.
func loadControllerConfig(path string) (anydevice.Config, string, error) {
	var f controllerFile
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return anydevice.Config{}, "", fmt.Errorf("controller config %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return anydevice.Config{}, "", fmt.Errorf("controller config %s: unknown key %s", path, un[0])
	}
	cfg := anydevice.Config{
		Phone:       phone.Config{Name: "anydevice", Listen: f.Listen, Transport: f.Transport},
		Trunk:       f.Trunk,
		Domain:      f.Domain,
		MaxChannels: f.MaxChannels,
		StatePath:   f.State,
	}
	for _, s := range f.AllowSources {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return cfg, "", fmt.Errorf("allow_sources: %q: %w", s, err)
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		cfg.Phone.AllowSources = append(cfg.Phone.AllowSources, pf)
	}
	if a := f.Account; a != nil {
		acc := &phone.Account{AOR: a.AOR, Registrar: a.Registrar, Proxy: a.Proxy, Username: a.Username}
		if a.PasswordEnv != "" {
			acc.Password = phone.Secret(os.Getenv(a.PasswordEnv))
		}
		cfg.Phone.Account = acc
	}
	for i, u := range f.Users {
		if u.TokenEnv != "" {
			u.Token = phone.Secret(os.Getenv(u.TokenEnv))
		}
		if u.Token == "" {
			return cfg, "", fmt.Errorf("users[%d] %s: no token (token or token_env): an open controller is a toll-fraud machine", i, u.ID)
		}
		cfg.Users = append(cfg.Users, u.User)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, "", fmt.Errorf("controller config %s: %w", path, err)
	}
	api := f.API
	if api == "" {
		api = "127.0.0.1:0"
	}
	return cfg, api, nil
}

// Run serves until a signal, --exit-after or a fatal error. stdout gets
// JSON lines: a ready line, then every controller event.
func (c *ControllerCmd) Run(g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	path := c.File
	if path == "" {
		path = g.Config
	}
	if path == "" {
		return usageError(errors.New("controller: a config file is required (--file or --config)"))
	}
	cfg, api, err := loadControllerConfig(path)
	if err != nil {
		return usageError(err)
	}
	if c.Listen != "" {
		cfg.Phone.Listen = c.Listen
	}
	if c.API != "" {
		api = c.API
	}
	log, closeLog, err := g.newLogger(os.Stderr)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	cfg.Phone.Logger = log

	var mu sync.Mutex
	enc := json.NewEncoder(out)
	emit := func(v any) {
		mu.Lock()
		_ = enc.Encode(v)
		mu.Unlock()
	}
	cfg.Events = func(ev anydevice.Event) {
		switch e := ev.(type) {
		case anydevice.SessionChanged:
			emit(map[string]any{"event": "session", "session": e.Session})
		case anydevice.SessionEnded:
			emit(map[string]any{"event": "session_ended", "session": e.Session})
		case anydevice.Refused:
			emit(map[string]any{"event": "refused", "refused": e})
		case anydevice.ActiveDeviceChanged:
			emit(map[string]any{"event": "device", "device": e})
		}
	}
	ctl, err := anydevice.New(cfg)
	if err != nil {
		return usageError(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.ExitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.ExitAfter)
		defer cancel()
	}
	if err := ctl.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", api)
	if err != nil {
		_ = ctl.Close()
		return fmt.Errorf("controller api: %w", err)
	}
	srv := &http.Server{Handler: ctl.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // joined below
	emit(map[string]any{"event": "ready", "addr": ctl.Phone().Addr(), "uri": ctl.Phone().URI(), "api": "ws://" + ln.Addr().String() + "/", "users": ctl.Users()})

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = srv.Shutdown(sctx)
	if err == nil {
		<-served
	}
	_ = ctl.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
