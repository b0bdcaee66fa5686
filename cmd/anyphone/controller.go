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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti"
	ctlproto "github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// ControllerCmd runs the AnyDevice callback controller as a server for many
// users: SIP on one address, the control protocol of every front end
// (cti/ctl over WebSocket at /ctl, per-user tokens) on another.
type ControllerCmd struct {
	File      string        `help:"Controller config (TOML); default: the global --config." type:"path"`
	Listen    string        `help:"SIP listen address (overrides the file)."`
	API       string        `help:"Control protocol listen address, ws://ADDR/ctl (overrides the file)." name:"api"`
	ExitAfter time.Duration `help:"Stop after this long (tests)."`
	Check     bool          `help:"Validate the config (every field, the secrets' sources) and exit."`

	out io.Writer       // stdout; tests replace it
	ctx context.Context // tests: stop when it ends
}

// controllerFile is the TOML layout of the controller config.
type controllerFile struct {
	Listen    string `toml:"listen"`
	Transport string `toml:"transport"`
	// TLS for transport tls (tlsconfig.go): the same keys as [sip].
	TLSCA                 string `toml:"tls_ca"`
	TLSCert               string `toml:"tls_cert"`
	TLSKey                string `toml:"tls_key"`
	TLSServerName         string `toml:"tls_server_name"`
	TLSInsecureSkipVerify bool   `toml:"tls_insecure_skip_verify"`
	API                   string `toml:"api"`
	Trunk                 string `toml:"trunk"`
	Domain                string `toml:"domain"`
	Presence              string `toml:"presence_server"`
	MaxChannels           int    `toml:"max_channels"`
	State                 string `toml:"state"`
	Journal               string `toml:"journal"`
	TraceFile             string `toml:"trace_file"`
	// Codecs are offered on every leg in this order (PCMU, PCMA, G722,
	// opus); the relay transcodes between legs that differ.
	Codecs       []string `toml:"codecs"`
	AllowSources []string `toml:"allow_sources"`
	// SRTP is SDES-SRTP on every leg: off (default), optional (each leg
	// encrypted when its peer accepts, the relay bridges SRTP and RTP legs)
	// or mandatory.
	SRTP string `toml:"srtp"`
	// InviteSources are where new calls may come from (default: the
	// trunk's and registrar's addresses).
	InviteSources []string `toml:"invite_sources"`
	Account       *struct {
		AOR         string `toml:"aor"`
		Registrar   string `toml:"registrar"`
		Proxy       string `toml:"proxy"`
		Username    string `toml:"username"`
		PasswordEnv string `toml:"password_env"`
	} `toml:"account"`
	Users []struct {
		anydevice.User
		TokenEnv  string `toml:"token_env"`
		TokenFile string `toml:"token_file"`
	} `toml:"users"`
}

// controllerSettings are the parts of the controller config that are not
// anydevice's: where the control protocol listens and where the journal is.
type controllerSettings struct {
	API     string // control protocol address (host:port)
	Journal string // SQLite journal path, "" for none
}

// loadControllerConfig reads path into an anydevice.Config and the API
// address. Secrets come from the environment (token_env, password_env) or
// the file; they are never logged.
func loadControllerConfig(path string) (anydevice.Config, string, error) {
	cfg, set, err := loadControllerFile(path)
	return cfg, set.API, err
}

// loadControllerFile reads path into an anydevice.Config and the settings
// of the command itself.
func loadControllerFile(path string) (anydevice.Config, controllerSettings, error) {
	var f controllerFile
	var set controllerSettings
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return anydevice.Config{}, set, fmt.Errorf("controller config %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return anydevice.Config{}, set, fmt.Errorf("controller config %s: unknown key %s", path, un[0])
	}
	cfg := anydevice.Config{
		Phone:          phone.Config{Name: "anydevice", Listen: f.Listen, Transport: f.Transport, TraceFile: f.TraceFile, Codecs: f.Codecs},
		Trunk:          f.Trunk,
		Domain:         f.Domain,
		PresenceServer: f.Presence,
		MaxChannels:    f.MaxChannels,
		StatePath:      f.State,
	}
	if cfg.Phone.AllowSources, err = parsePrefixes("allow_sources", f.AllowSources); err != nil {
		return cfg, set, err
	}
	if cfg.Phone.SRTP, err = phone.ParseSRTPMode(f.SRTP); err != nil {
		return cfg, set, fmt.Errorf("controller config %s: srtp: %w", path, err)
	}
	if cfg.InviteSources, err = parsePrefixes("invite_sources", f.InviteSources); err != nil {
		return cfg, set, err
	}
	if cfg.Phone.Transport == "" && f.Account != nil && sipsURI(f.Account.Registrar) {
		cfg.Phone.Transport = "tls" // a sips: registrar implies TLS
	}
	if strings.EqualFold(cfg.Phone.Transport, "tls") {
		if (f.TLSCert == "") != (f.TLSKey == "") {
			return cfg, set, fmt.Errorf("controller config %s: %w", path, fieldErr("tls_key", "tls_cert and tls_key go together"))
		}
		tc, err := loadTLSKeys("", SIPConfig{TLSCA: f.TLSCA, TLSCert: f.TLSCert, TLSKey: f.TLSKey,
			TLSServerName: f.TLSServerName, TLSInsecureSkipVerify: f.TLSInsecureSkipVerify})
		if err != nil {
			return cfg, set, fmt.Errorf("controller config %s: %w", path, err)
		}
		cfg.Phone.TLS = tc
	}
	if a := f.Account; a != nil {
		acc := &phone.Account{AOR: a.AOR, Registrar: a.Registrar, Proxy: a.Proxy, Username: a.Username}
		if a.PasswordEnv != "" {
			pw, err := readSecret("account.password_env", a.PasswordEnv, "", "")
			if err != nil {
				return cfg, set, fmt.Errorf("controller config %s: %w", path, err)
			}
			acc.Password = pw
		}
		cfg.Phone.Account = acc
	}
	for i, u := range f.Users {
		if u.Token != "" {
			// A token written in the file: the file is a key, and is
			// refused when others may read it (as ssh refuses a loose key).
			if err := checkSecretFile(fmt.Sprintf("users[%d].token", i), path); err != nil {
				return cfg, set, err
			}
		}
		if u.TokenEnv != "" || u.TokenFile != "" {
			tok, err := readSecret(fmt.Sprintf("users[%d].token_env", i), u.TokenEnv, fmt.Sprintf("users[%d].token_file", i), u.TokenFile)
			if err != nil {
				return cfg, set, fmt.Errorf("controller config %s: %w", path, err)
			}
			u.Token = tok
		}
		if u.Token == "" {
			return cfg, set, fmt.Errorf("users[%d] %s: no token (token or token_env): an open controller is a toll-fraud machine", i, u.ID)
		}
		cfg.Users = append(cfg.Users, u.User)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, set, fmt.Errorf("controller config %s: %w", path, err)
	}
	set.API = f.API
	if set.API == "" {
		set.API = "127.0.0.1:0"
	}
	set.Journal = f.Journal
	return cfg, set, nil
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
	cfg, set, err := loadControllerFile(path)
	if err != nil {
		return usageError(err)
	}
	if c.Check {
		fmt.Fprintf(out, "%s: ok: %d users (%s), API %s\n", path, len(cfg.Users), strings.Join(userIDs(cfg.Users), ", "), set.API)
		return nil
	}
	api := set.API
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
	var (
		jw *cti.ControllerJournal
		j  *journal.Journal
	)
	if set.Journal != "" {
		j, err = journal.Open(set.Journal)
		if err != nil {
			return fmt.Errorf("controller journal: %w", err)
		}
		jw = cti.NewControllerJournal(j, log)
		defer jw.Close()
	}
	cfg.Events = func(ev anydevice.Event) {
		if jw != nil {
			jw.Add(ev)
		}
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
	parent := c.ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
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
	// The control protocol of every front end (cti/ctl) at /ctl, one Line
	// per user, each connection authenticated as its user with its own
	// token.
	lines := cti.NewLines(ctl, log)
	defer lines.Close()
	if jw != nil {
		// One journal, the controller's: each user reads her own rows.
		lines.SetJournal(j)
		jw.OnRecorded(lines.JournalChanged)
	}
	ctlSrv := ctlproto.ServerConfig{
		Users: func(user, token string) (ctlproto.Controller, error) {
			l, err := lines.Open(user, token)
			if err != nil {
				return nil, err
			}
			return l, nil
		},
		RateLimited: ctl.AuthRateLimited,
		Logger:      log,
	}.Handler(ctx, nil)
	defer ctlSrv.Close()
	srv := &http.Server{Handler: ctlSrv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // joined below
	emit(map[string]any{"event": "ready", "addr": ctl.Phone().Addr(), "uri": ctl.Phone().URI(), "ctl": "ws://" + ln.Addr().String() + ctlproto.Path, "users": ctl.Users()})

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

// parsePrefixes parses addresses or prefixes of a config key.
func parsePrefixes(key string, in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("%s: %q: %w", key, s, err)
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pf)
	}
	return out, nil
}

func userIDs(us []anydevice.User) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}
