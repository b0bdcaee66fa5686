package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/endpoint"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/ui"
)

// TuiCmd is the terminal softphone (the default command). Its settings
// come from the config file (--config, else the default path; a missing
// default file is the embedded default), the flags override them.
type TuiCmd struct {
	Listen       string   `help:"SIP listen address (default: [sip] listen, else 127.0.0.1:0)."`
	Name         string   `help:"User part of our Contact and From (default: [sip] name, else me)."`
	Account      string   `help:"Address of record, e.g. sip:alice@example.com (replaces [account]; needs --registrar to register)."`
	Registrar    string   `help:"Registrar URI, e.g. sip:127.0.0.1:5060."`
	Username     string   `help:"Digest user (default: the AOR user)."`
	PasswordEnv  string   `help:"Read the password from this environment variable."`
	Audio        string   `help:"Audio device: auto (the sound server, else the sound card, else silence), null, pulse[:DEVICE], portaudio[:DEVICE], tone:HZ, ... (default: [audio] device, else auto)."`
	Contacts     string   `help:"Contacts file: NAME NUMBER-OR-URI per line (default: $XDG_CONFIG_HOME/anyphone/contacts if present)." type:"path"`
	NoBuiltins   bool     `help:"Do not serve the built-in echo and tone contacts."`
	NoEchoCancel bool     `help:"Turn echo cancellation off (on by default with a sound card; needs the speexdsp build tag)." name:"no-echo-cancel"`
	NoBell       bool     `help:"No terminal bell on incoming calls."`
	NoMouse      bool     `help:"Leave the mouse to the terminal."`
	Key          []string `help:"Rebind an action: ACTION=KEY[,KEY] (repeatable; --key '?' lists the actions)." sep:"none" placeholder:"ACTION=KEY"`
	Control      string   `help:"Serve the control API on host:port (default: [control] listen; off when empty)." placeholder:"ADDR"`

	// AnyDevice: the user's other devices, served by an embedded controller.
	Number    string            `help:"Your office number in E.164 (+4930...): shown as the caller on AnyDevice callbacks (default: [anydevice] number)." placeholder:"E164"`
	AnyDevice map[string]string `help:"Another device of yours for AnyDevice: NAME=TARGET, a SIP URI or number (repeatable; desk is this softphone; adds to or retargets [anydevice] devices)." name:"anydevice" placeholder:"NAME=TARGET"`

	// A shared AnyDevice controller (anyphone controller) instead of the
	// embedded one: the TUI drives the user's calls there.
	Controller string `help:"Attach to a shared AnyDevice controller as --user: its control URL (the ready line's ctl, ws://HOST:PORT/ctl); the token comes from ANYPHONE_CTL_TOKEN, else [controller] token_env or token_file (default: [controller] url)." placeholder:"URL"`

	Busy BusyFlags `embed:"" prefix:""` // busy policy and journal (busyflags.go); each given flag overrides [busy]
}

// stateDir is where the TUI writes its log: $XDG_STATE_HOME/anyphone, else
// ~/.local/state/anyphone, else the user cache dir.
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "anyphone"), nil
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "anyphone"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "anyphone"), nil
}

// defaultContacts is $XDG_CONFIG_HOME/anyphone/contacts.
func defaultContacts() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "anyphone", "contacts")
}

// builtin is an in-process contact: a second cti.Service with a scripted
// endpoint, so a first call works without any server.
type builtin struct {
	name string
	svc  *cti.Service
	ep   *endpoint.Endpoint
}

// builtinSpec is an in-process phone: its name, what it sends, how long
// it rings before it answers.
type builtinSpec struct {
	name, audio string
	after       time.Duration
}

// startBuiltins serves echo (echoes what it hears) and tone (a 440 Hz tone)
// on 127.0.0.1, answering at once.
func startBuiltins(ctx context.Context, log *slog.Logger) ([]builtin, error) {
	return startInProcess(ctx, log, "built-in contact", []builtinSpec{{"echo", "echo", 0}, {"tone", "tone:440", 0}})
}

// demoNumber is the office number of the embedded demo: made up, shown as
// the caller on demo callbacks; [anydevice] number sets yours.
const demoNumber = "+4930123456789"

// startDemoDevices serves simulated devices for the embedded AnyDevice
// controller when the user configured none: a mobile that answers after
// 2 s and echoes, and a home phone that answers after 3 s with a 600 Hz
// tone. With them `D`, mobile, then a call to echo shows the whole
// callback with no server and no second phone.
func startDemoDevices(ctx context.Context, log *slog.Logger) ([]builtin, error) {
	return startInProcess(ctx, log, "demo device", []builtinSpec{{"mobile", "echo", 2 * time.Second}, {"home", "tone:600", 3 * time.Second}})
}

// startInProcess starts a scripted, auto-answering phone on 127.0.0.1 per
// spec; what names them in logs and errors.
func startInProcess(ctx context.Context, log *slog.Logger, what string, specs []builtinSpec) ([]builtin, error) {
	var out []builtin
	for _, s := range specs {
		l := log.With("builtin", s.name)
		ep := endpoint.New(endpoint.Behavior{Audio: s.audio, AnswerDelay: s.after}, l)
		svc, err := cti.New(cti.Options{Logger: l, AnswerKeepsOthers: true, Phone: phone.Config{
			Name: s.name, Listen: "127.0.0.1:0", Transport: "udp", Media: ep.Media, NoTrace: true,
		}})
		if err == nil {
			ep.Attach(svc)
			err = svc.Start(ctx)
		}
		if err != nil {
			ep.Close()
			stopBuiltins(out)
			return nil, fmt.Errorf("%s %s: %w", what, s.name, err)
		}
		out = append(out, builtin{name: s.name, svc: svc, ep: ep})
	}
	return out, nil
}

func stopBuiltins(bs []builtin) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, b := range bs {
		_ = b.svc.Shutdown(ctx)
		b.ep.Close()
	}
}

// hubWiring keeps the audio hub in step with the calls: a port per call,
// live while the call is active and not held, and the ringtone (or the
// call-waiting cue) while a call rings.
type hubWiring struct {
	hub   *audio.Hub
	mu    sync.Mutex
	calls map[cti.CallID]cti.CallInfo
}

func newHubWiring(h *audio.Hub) *hubWiring {
	return &hubWiring{hub: h, calls: map[cti.CallID]cti.CallInfo{}}
}

func live(c cti.CallInfo) bool { return c.State == cti.CallActive && !c.LocalHold }

// media is the phone's MediaFunc: the call's hub port.
func (w *hubWiring) media(ci phone.CallInfo) (audio.Source, audio.Sink, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.hub.Port(string(ci.ID))
	c, ok := w.calls[ci.ID]
	if !ok {
		c = ci
	}
	w.hub.SetLive(string(ci.ID), live(c))
	return p, p, nil
}

// onEvent runs on the Service's event path: it only updates state.
func (w *hubWiring) onEvent(ev cti.Event) {
	cc, ok := ev.(cti.CallChanged)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := cc.Call
	if c.State == cti.CallEnded {
		delete(w.calls, c.ID)
	} else {
		w.calls[c.ID] = c
	}
	w.hub.SetLive(string(c.ID), live(c))
	ringing, talking := false, false
	for _, x := range w.calls {
		ringing = ringing || x.State == cti.CallIncoming
		talking = talking || live(x)
	}
	switch {
	case ringing && talking:
		w.hub.SetCue(audio.CueWaiting)
	case ringing:
		w.hub.SetCue(audio.CueRing)
	default:
		w.hub.SetCue(audio.CueNone)
	}
}

// phoneConfig builds the phone's configuration from the config file, with
// the flags on top.
func (c *TuiCmd) phoneConfig(cfg *Config) (phone.Config, error) {
	pc, err := cfg.PhoneConfig()
	if err != nil {
		return pc, err
	}
	if c.Listen != "" {
		pc.Listen = c.Listen
	}
	if c.Name != "" {
		pc.Name = c.Name
	}
	if pc.Transport == "" {
		pc.Transport = "udp"
	}
	switch {
	case c.Account != "":
		a := &phone.Account{AOR: c.Account, Registrar: c.Registrar, Username: c.Username}
		if c.PasswordEnv != "" {
			v, ok := os.LookupEnv(c.PasswordEnv)
			if !ok {
				return pc, fmt.Errorf("password-env: %s is not set", c.PasswordEnv)
			}
			a.Password = phone.Secret(v)
		}
		pc.Account = a
	case c.Registrar != "" && pc.Account == nil:
		return pc, errors.New("registrar: needs --account")
	case c.Registrar != "":
		pc.Account.Registrar = c.Registrar
	}
	if pc.Name == "" && pc.Account == nil {
		pc.Name = "me" // with an account the phone takes the AOR's user
	}
	return pc, pc.Validate()
}

// audioSpec is the audio device: the flag, else the config, else auto.
func (c *TuiCmd) audioSpec(cfg *Config) string {
	switch {
	case c.Audio != "":
		return c.Audio
	case cfg.Audio.Device != "":
		return cfg.Audio.Device
	}
	return defaultAudioDevice
}

// journalPath is the journal database: --journal, else [journal] path,
// else journal.DefaultPath().
func (c *TuiCmd) journalPath(cfg *Config) (string, error) {
	switch {
	case c.Busy.Journal != "":
		return c.Busy.Journal, nil
	case cfg.Journal.Path != "":
		return expandHome(cfg.Journal.Path), nil
	}
	return journal.DefaultPath()
}

// policy is the busy policy: the config's [busy] section, with each busy
// flag that was given on top (--vip replaces the list). Without either it
// is the zero policy: call waiting, 20 s no-answer timeout with 480.
func (c *TuiCmd) policy(cfg *Config) (*busy.Policy, error) {
	p := cfg.Busy
	p.VIP = slices.Clone(p.VIP)
	f := &c.Busy
	if f.Busy != "" {
		if err := p.OnBusy.UnmarshalText([]byte(f.Busy)); err != nil {
			return nil, fmt.Errorf("busy: %w", err)
		}
	}
	if f.NoAnswerAction != "" {
		if err := p.NoAnswerAction.UnmarshalText([]byte(f.NoAnswerAction)); err != nil {
			return nil, fmt.Errorf("no-answer-action: %w", err)
		}
	}
	if f.DND {
		p.DND = true
	}
	if f.Voicemail != "" {
		p.VoicemailURI = f.Voicemail
	}
	if len(f.VIP) > 0 {
		p.VIP = slices.Clone(f.VIP)
	}
	if f.Region != "" {
		p.Region = f.Region
	}
	if f.NoAnswer >= 0 {
		if f.NoAnswer%time.Second != 0 {
			return nil, fmt.Errorf("no-answer: %s is not a whole number of seconds", f.NoAnswer)
		}
		n := int(f.NoAnswer / time.Second)
		p.NoAnswerSeconds = &n
	}
	if err := p.Validate(); err != nil {
		return nil, ctl.PolicyError(err)
	}
	return &p, nil
}

// pruneJournal applies [journal] retention: calls that started longer ago
// are deleted. 0 keeps every call.
func pruneJournal(ctx context.Context, j *journal.Journal, retention Duration, now time.Time) (int64, error) {
	if retention <= 0 {
		return 0, nil
	}
	cutoff, ok := journal.Retention(retention).Cutoff(now)
	if !ok {
		return 0, nil
	}
	return j.Prune(ctx, cutoff)
}

// controlAddr is where the control API listens: --control, else [control]
// listen; "" means off.
func (c *TuiCmd) controlAddr(cfg *Config) string {
	if c.Control != "" {
		return c.Control
	}
	return cfg.Control.Listen
}

// serviceOptions opens the journal and builds the Service's options. The
// returned closer closes the journal; call it after the Service has shut
// down.
func (c *TuiCmd) serviceOptions(cfg *Config, pc phone.Config, log *slog.Logger) (cti.Options, io.Closer, error) {
	if pc.FollowRedirects == 0 {
		pc.FollowRedirects = phone.DefaultRedirectLimit // a desk phone follows 3xx; the controller never does
	}
	o := cti.Options{Phone: pc, Logger: log, User: c.Busy.User, Device: c.Busy.Device, PresenceServer: cfg.Presence.Server}
	p, err := c.policy(cfg)
	if err != nil {
		return o, nil, usageError(err)
	}
	o.Policy = p
	path, err := c.journalPath(cfg)
	if err != nil {
		return o, nil, err
	}
	j, err := journal.Open(path)
	if err != nil {
		return o, nil, fmt.Errorf("journal: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := pruneJournal(ctx, j, cfg.Journal.Retention, time.Now()); err != nil {
		log.Warn("journal retention", "err", err)
	} else if n > 0 {
		log.Info("journal retention", "pruned", n, "retention", cfg.Journal.Retention)
	}
	o.Journal = j
	return o, j, nil
}

// startControl serves the control API on addr for svc when addr is set.
// ctl.Listen refuses a non-loopback address without a token.
func startControl(ctx context.Context, cfg *Config, addr string, svc ctl.Controller, log *slog.Logger) (*ctl.Server, error) {
	if addr == "" {
		return nil, nil
	}
	token, err := cfg.ControlToken()
	if err != nil {
		return nil, usageError(err)
	}
	srv, err := ctl.ServerConfig{Addr: addr, Token: token, Logger: log}.Listen(ctx, svc)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return srv, nil
}

// keyMap applies --key rebinds to the default keys.
func (c *TuiCmd) keyMap() (*ui.KeyMap, error) {
	km := ui.DefaultKeyMap()
	for _, kv := range c.Key {
		action, keys, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("key %q: want ACTION=KEY[,KEY] (actions: %s)", kv, strings.Join(km.Actions(), " "))
		}
		if err := km.Set(action, strings.Split(keys, ",")...); err != nil {
			return nil, fmt.Errorf("key %s: %w (actions: %s)", action, err, strings.Join(km.Actions(), " "))
		}
	}
	return &km, nil
}

// contacts reads the contacts file; a missing default file is no error.
func (c *TuiCmd) contacts() ([]ui.Contact, error) {
	path, explicit := c.Contacts, c.Contacts != ""
	if !explicit {
		path = defaultContacts()
	}
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("contacts: %w", err)
	}
	defer f.Close()
	return ui.ParseContacts(f)
}

// Run runs the TUI until the user quits.
func (c *TuiCmd) Run(g *Globals) error {
	if slices.Contains(c.Key, "?") {
		return c.listKeys(os.Stdout) // keylist.go
	}
	cfg, err := LoadConfig(configPath(g))
	if err != nil {
		return usageError(err)
	}
	settings := newSettingsStore() // what the settings pane changed (settingsstate.go)
	kept, keptErr := settings.load()
	applySettings(cfg, kept, nil)
	pc, err := c.phoneConfig(cfg)
	if err != nil {
		return usageError(err)
	}
	km, err := c.keyMap()
	if err != nil {
		return usageError(err)
	}
	contacts, err := c.contacts()
	if err != nil {
		return usageError(err)
	}
	var logOut io.Writer = io.Discard
	if g.LogFile == "" {
		g.LogFile = expandHome(cfg.Log.File)
	}
	if cfg.Log.Level != "" && g.LogLevel == defaultLogLevel {
		g.LogLevel = cfg.Log.Level
	}
	if g.LogFile == "" {
		dir, err := stateDir()
		if err == nil {
			err = os.MkdirAll(dir, 0o700)
		}
		if err != nil {
			return fmt.Errorf("log dir: %w", err)
		}
		g.LogFile = filepath.Join(dir, "anyphone.log")
	}
	log, closeLog, err := g.newLogger(logOut)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	if f, ok := closeLog.(*os.File); ok {
		restore, err := stderrToLog(log, f)
		if err != nil {
			log.Warn("stderr redirect", "err", err)
		}
		defer restore()
	}
	log.Info("tui start", "log", g.LogFile)
	if keptErr != nil {
		log.Warn("kept settings not read", "err", keptErr)
	}
	if c.Controller == "" && cfg.Controller.URL != "" {
		c.Controller = cfg.Controller.URL
		if c.Busy.User == "" {
			c.Busy.User = cfg.Controller.User
		}
	}
	if c.Controller != "" {
		token, err := cfg.Controller.token()
		if err != nil {
			return usageError(err)
		}
		return c.runAttached(km, contacts, token, log)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	spec := c.audioSpec(cfg)
	af := audio.Narrowband
	if cfg.Audio.Rate > 0 {
		af.SampleRate = cfg.Audio.Rate // [audio] rate: calls resample to it (phone.Config.AudioRate)
	}
	audioNote := &audioNotices{}
	// Lazy: the device opens for the first call (or ringing) and closes
	// after the last, so an idle phone holds no stream.
	guard := audio.GuardOptions{OnChange: audioNote.onChange, Lazy: true}
	src, sink, dev, notice, err := audio.OpenGuardedDevice(spec, af, log, guard)
	if err != nil {
		field := "--audio"
		if c.Audio == "" {
			field = "[audio] device"
		}
		return usageError(audioSpecError(field, err))
	}
	device := deviceName(spec, src)
	if notice != "" {
		device = "null (no sound card)"
	}
	hub := audio.NewHub(src, sink, af)
	aec := &echoCancel{hub: hub, f: af, off: c.NoEchoCancel, log: log}
	aec.set(notice == "" && audio.IsDeviceSpec(spec))
	defer aec.close()
	audioSw := newAudioSwitch(hub, dev, log)
	audioSw.format = af
	audioSw.onSwitch = aec.set
	audioSw.open = func(spec string, f audio.Format, log *slog.Logger) (audio.Source, audio.Sink, io.Closer, string, error) {
		return audio.OpenGuardedDevice(spec, f, log, guard)
	}
	hubDone := make(chan struct{})
	go func() {
		// The hub goroutine: owned by Run, joined below after the device closes.
		defer close(hubDone)
		_ = hub.Run(ctx)
	}()
	defer func() {
		cancel()
		_ = audioSw.Close() // the device in use: unblocks a capture waiting on the sound card
		_ = hub.Close()
		<-hubDone
	}()

	var builtins []builtin
	if !c.NoBuiltins {
		if builtins, err = startBuiltins(ctx, log); err != nil {
			return err
		}
		defer stopBuiltins(builtins)
		for _, b := range builtins {
			contacts = append(contacts, ui.Contact{Name: b.name, URI: b.svc.URI()})
		}
	}

	wiring := newHubWiring(hub)
	pc.Media = wiring.media
	opts, closeJournal, err := c.serviceOptions(cfg, pc, log)
	if err != nil {
		return err
	}
	defer closeJournal.Close() // after svc.Shutdown below has drained the journal writer
	svc, err := cti.New(opts)
	if err != nil {
		return usageError(err)
	}
	svc.OnEvent(wiring.onEvent)
	audioNote.setNotify(svc.Notify)
	byName := map[string]string{}
	for _, ct := range contacts {
		byName[ct.Name] = ct.URI // `anyphone ctl dial echo` as the TUI's d echo
	}
	svc.SetContacts(byName)
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = svc.Shutdown(sctx)
	}()
	for _, w := range cfg.Presence.Watch { // the team panel's colleagues
		if _, err := svc.Watch(ctx, w); err != nil {
			svc.Notify(cti.NoticeWarn, "presence: "+err.Error())
		}
	}
	statePath := "" // the active device persists across runs when the state dir exists
	if dir, err := stateDir(); err == nil && os.MkdirAll(dir, 0o700) == nil {
		statePath = filepath.Join(dir, "devices.json")
	}
	var demo []anydevice.Device
	if !c.NoBuiltins && len(cfg.AnyDevice.Devices) == 0 && len(c.AnyDevice) == 0 {
		// No devices of the user's own: simulated ones, so AnyDevice can
		// be tried at once (README: AnyDevice in five minutes).
		demoDevs, err := startDemoDevices(ctx, log)
		if err != nil {
			return err
		}
		defer stopBuiltins(demoDevs)
		for _, b := range demoDevs {
			demo = append(demo, anydevice.Device{Name: b.name, Target: b.svc.URI()})
		}
	}
	adCfg, err := c.anyDeviceConfig(cfg, anyDeviceUser(pc), svc.URI(), pc.Account, statePath, demo, log)
	if err != nil {
		return usageError(err)
	}
	if len(demo) > 0 && pc.Account == nil {
		// The demo's telephone network: numbers (a destination, a device
		// target edited to +49…) are answered by an in-process phone
		// after 1.5 s, echoing, so a callback to a number can be tried
		// with no trunk. With an account, numbers go through it instead.
		pstn, err := startInProcess(ctx, log, "demo trunk", []builtinSpec{{"pstn", "echo", 1500 * time.Millisecond}})
		if err != nil {
			return err
		}
		defer stopBuiltins(pstn)
		adCfg.Trunk = pstn[0].svc.Addr()
	}
	ad, err := startAnyDevice(ctx, adCfg)
	if err != nil {
		return fmt.Errorf("anydevice: %w", err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = ad.Shutdown(sctx)
	}()

	srv, err := startControl(ctx, cfg, c.controlAddr(cfg), svc, log)
	if err != nil {
		return err
	}
	if srv != nil {
		defer srv.Close()
		svc.Notify(cti.NoticeInfo, "control API on "+srv.URL())
	}
	if notice != "" {
		svc.Notify(cti.NoticeWarn, notice)
	} else if !c.NoBuiltins {
		svc.Notify(cti.NoticeInfo, "ready: d then echo or tone + enter for a test call")
	}

	// Dials (the TUI's and the control API's) go through the active device.
	// The devices pane drives them through svc too.
	numbers := adCfg.Users[0].Numbers
	svc.SetAnyDevice(cti.AnyDeviceRoute{Controller: ad, User: adCfg.Users[0].ID, Local: deskDevice, Numbers: numbers})
	if len(numbers) > 0 {
		// Calls to this address ring the active devices (follow-me).
		reach := "people reach you on every device at sip:" + numbers[0] + "@" + ad.Phone().Addr()
		if len(demo) > 0 {
			reach = "AnyDevice demo: D switches to the simulated mobile or home; " + reach
		}
		svc.Notify(cti.NoticeInfo, reach)
	}
	defer svc.SetAnyDevice(cti.AnyDeviceRoute{})

	m := ui.New(svc, ui.Options{
		Levels:       hub.Levels,
		Xruns:        audioSw.xruns,
		AudioLost:    audioNote.lostNow,
		AudioDevices: audioDeviceNames(),
		Audio:        audioSw,
		HoldDialect:  pc.HoldDialect,
		SaveSetting:  settings.saveFunc(),
		Keys:         km, Account: svc.URI(), Device: device, Contacts: contacts, Number: firstOf(numbers),
		Why:       func(ci cti.CallInfo) string { return phone.ClassifySecondary(ci.Headers, ci.Local.URI).Describe() },
		NoBell:    c.NoBell,
		AltScreen: true, Mouse: !c.NoMouse,
		Voicemail: pc.Voicemail,
	})
	p := tea.NewProgram(m, tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("tui: %w", err)
	}
	log.Info("tui stop")
	return nil
}

// firstOf is the first of ss, "" if none.
func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// audioDeviceNames lists the audio devices as specs for --audio: the
// built-in names, then every backend device ("portaudio:NAME").
func audioDeviceNames() []string {
	names := []string{"auto", "null", "echo", "tone:440"}
	devs, _ := audio.Devices() // no listing backend: the built-in names only
	for _, d := range devs {
		names = append(names, d.Backend+":"+d.Name)
	}
	return names
}

// audioSwitch is the TUI's ui.AudioSwitcher: it opens a device with
// audio.OpenDevice and swaps it into the hub between frames
// (audio.Hub.SetDevice), so calls keep their audio, then closes the old
// device. It owns the device in use and closes it in Close.
type audioSwitch struct {
	hub *audio.Hub
	log *slog.Logger
	// open is audio.OpenDevice and list audio.Devices; tests replace them.
	open func(spec string, f audio.Format, log *slog.Logger) (audio.Source, audio.Sink, io.Closer, string, error)
	list func() ([]audio.Device, error)

	// format is the hub's; zero means audio.Narrowband.
	format audio.Format
	// onSwitch, if set, is told after a switch whether the new device is a
	// sound card (echo cancellation follows it).
	onSwitch func(soundCard bool)

	mu  sync.Mutex // serialises switches; guards dev
	dev io.Closer  // the device in use
}

var _ ui.AudioSwitcher = (*audioSwitch)(nil)

func newAudioSwitch(h *audio.Hub, dev io.Closer, log *slog.Logger) *audioSwitch {
	return &audioSwitch{hub: h, log: log, open: audio.OpenDevice, list: audio.Devices, dev: dev}
}

// xruns are the overflows and underflows of the device in use when it
// counts them (a guarded sound card), else none.
func (a *audioSwitch) xruns() (overflows, underflows uint64) {
	a.mu.Lock()
	dev := a.dev
	a.mu.Unlock()
	if x, ok := dev.(interface{ Xruns() (uint64, uint64) }); ok {
		return x.Xruns()
	}
	return 0, 0
}

// AudioDevices lists null, then every backend device as a spec
// ("portaudio:NAME"). Without a listing backend the list is null alone.
func (a *audioSwitch) AudioDevices(context.Context) ([]string, error) {
	names := []string{"null"}
	devs, err := a.list()
	if errors.Is(err, audio.ErrNoBackend) {
		err = nil
	}
	for _, d := range devs {
		names = append(names, d.Backend+":"+d.Name)
	}
	return names, err
}

// SwitchAudio opens spec and makes it the hub's device. A device that
// falls back (auto without a sound card) is shown as null with the
// notice; on error the device in use stays.
func (a *audioSwitch) SwitchAudio(_ context.Context, spec string) (device, notice string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.format
	if f.SampleRate == 0 {
		f = audio.Narrowband
	}
	src, sink, dev, notice, err := a.open(spec, f, a.log)
	if err != nil {
		return "", "", err
	}
	a.hub.SetDevice(src, sink)
	if a.onSwitch != nil {
		a.onSwitch(notice == "" && audio.IsDeviceSpec(spec))
	}
	old := a.dev
	a.dev = dev
	if err := old.Close(); err != nil {
		a.log.Warn("close audio device", "err", err)
	}
	a.log.Info("audio device switched", "device", spec, "notice", notice)
	device = deviceName(spec, src)
	if notice != "" {
		device = "null (no sound card)"
	}
	return device, notice, nil
}

// Close closes the device in use.
func (a *audioSwitch) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dev.Close()
}

// anyDeviceUser is the local user's id in the embedded controller: the
// phone's name, else the AOR's user part.
func anyDeviceUser(pc phone.Config) string {
	if pc.Name != "" {
		return pc.Name
	}
	if pc.Account != nil {
		u := strings.TrimPrefix(strings.TrimPrefix(pc.Account.AOR, "sips:"), "sip:")
		if i := strings.IndexByte(u, '@'); i > 0 {
			return u[:i]
		}
	}
	return "me"
}

// deskDevice is this softphone's name among the user's AnyDevice devices.
const deskDevice = "desk"

// anyDeviceConfig is the controller's configuration for the local user:
// desk is deskURI, the others come from [anydevice] devices (or the demo
// devices) with --anydevice NAME=TARGET on top (a known name gets the new
// target and keeps its other settings); --number overrides [anydevice]
// number. The controller keeps the active device and the targets edited
// in the devices pane in statePath; numbers go through acct (dialVia).
func (c *TuiCmd) anyDeviceConfig(cfg *Config, user, deskURI string, acct *phone.Account, statePath string, demo []anydevice.Device, log *slog.Logger) (anydevice.Config, error) {
	devs := []anydevice.Device{{Name: deskDevice, Target: deskURI}}
	devs = append(devs, cfg.AnyDevice.devices()...)
	devs = append(devs, demo...)
	names := make([]string, 0, len(c.AnyDevice))
	for n := range c.AnyDevice {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if strings.EqualFold(n, deskDevice) {
			return anydevice.Config{}, fmt.Errorf("anydevice: %s is this softphone", deskDevice)
		}
		if err := checkDeviceTarget(c.AnyDevice[n]); err != nil {
			return anydevice.Config{}, fmt.Errorf("anydevice %s: %w", n, err)
		}
		i := slices.IndexFunc(devs, func(d anydevice.Device) bool { return strings.EqualFold(d.Name, n) })
		if i < 0 {
			devs = append(devs, anydevice.Device{Name: n})
			i = len(devs) - 1
		}
		devs[i].Target = c.AnyDevice[n]
	}
	number := cfg.AnyDevice.Number
	if c.Number != "" {
		number = c.Number
	}
	if number == "" && len(demo) > 0 {
		number = demoNumber
	}
	u := anydevice.User{ID: user, Devices: devs, Active: []string{deskDevice}, Policy: anydevice.Policy{URIs: true}}
	if number != "" {
		u.Numbers = []string{number}
	} else if len(devs) > 1 {
		return anydevice.Config{}, errors.New("anydevice: --number (your office number) is needed to call through another device")
	}
	ac := anydevice.Config{
		Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", Transport: "udp", Logger: log.With("part", "anydevice"),
			Account: dialVia(acct)},
		Users:     []anydevice.User{u},
		StatePath: statePath,
		// It listens on loopback: only this machine reaches it (the
		// default would be the account's proxy alone).
		InviteSources: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
	return ac, ac.Validate()
}

// dialVia is how the embedded controller reaches numbers (a device or a
// destination given as +49…): through the desk's account, its proxy or
// registrar, with its credentials. The controller does not register (the
// desk does); without an account numbers are refused with a clear error
// (anydevice.ErrNoTrunk) and SIP URIs still work.
func dialVia(a *phone.Account) *phone.Account {
	if a == nil {
		return nil
	}
	out := &phone.Account{AOR: a.AOR, DisplayName: a.DisplayName, Proxy: a.Proxy, Username: a.Username, Password: a.Password}
	if out.Proxy == "" && a.Registrar != "" {
		out.Proxy = strings.TrimPrefix(strings.TrimPrefix(a.Registrar, "sips:"), "sip:")
	}
	return out
}

// startAnyDevice starts the embedded controller; Shutdown stops it.
func startAnyDevice(ctx context.Context, cfg anydevice.Config) (*anydevice.Controller, error) {
	ad, err := anydevice.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := ad.Start(ctx); err != nil {
		_ = ad.Close()
		return nil, err
	}
	return ad, nil
}

// runAttached runs the TUI against a shared AnyDevice controller: no phone,
// no audio here; every call is carried by one of the user's devices, and
// the TUI drives it through the control protocol like `anyphone ctl`.
func (c *TuiCmd) runAttached(km *ui.KeyMap, contacts []ui.Contact, token phone.Secret, log *slog.Logger) error {
	user := c.Busy.User
	if user == "" {
		user = os.Getenv("ANYPHONE_CTL_USER")
	}
	if user == "" {
		return usageError(errors.New("--controller needs --user (or ANYPHONE_CTL_USER)"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	remote, err := ctl.NewRemote(dctx, func(ctx context.Context) (*ctl.Client, error) {
		return ctl.DialUser(ctx, c.Controller, user, token)
	})
	if err != nil {
		return fmt.Errorf("controller %s: %w", c.Controller, err)
	}
	defer remote.Close()
	log.Info("attached to a shared controller", "url", c.Controller, "user", user)
	// The Remote is the UI's Controller, devices pane included.
	m := ui.New(remote, ui.Options{
		Keys: km, Account: user + " at " + c.Controller, Unregistered: "shared controller", Device: "on your devices", Contacts: contacts,
		NoBell: c.NoBell, AltScreen: true, Mouse: !c.NoMouse,
	})
	// A lost connection shows as a notice and is dialled again (ctl.Remote).
	p := tea.NewProgram(m, tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
