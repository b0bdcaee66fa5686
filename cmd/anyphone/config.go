package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/vocab"
)

// Config is anyphone's configuration file: one TOML file, by default
// $XDG_CONFIG_HOME/anyphone/config.toml (see DefaultConfigPath). The zero
// value is the embedded default: a SIP UA on 127.0.0.1 with a free port, no
// account, automatic audio, no control listener, the journal in the user's
// data dir. Command-line flags apply on top of it.
//
// It never holds a secret: the account password and the control token come
// from an environment variable or a file named here, so the file can be
// shown and shared.
type Config struct {
	SIP     SIPConfig     `toml:"sip"`
	Account AccountConfig `toml:"account"`
	Audio   AudioConfig   `toml:"audio"`
	Control ControlConfig `toml:"control"`
	// Controller attaches the TUI (and anyphone ctl) to a shared AnyDevice
	// controller; --controller and --user override it.
	Controller ControllerConfig `toml:"controller"`
	Journal    JournalConfig    `toml:"journal"`
	Log        LogConfig        `toml:"log"`
	// Busy is the busy policy (cti/busy.Policy, the same names as the
	// control protocol's set_policy). The busy flags override it.
	Busy busy.Policy `toml:"busy"`
	// AnyDevice are the user's other devices for AnyDevice callbacks and
	// the office number shown on them. --number and --anydevice override it.
	AnyDevice AnyDeviceConfig `toml:"anydevice"`
	// Presence is the [presence] section: colleagues to watch (issue 15).
	Presence PresenceConfig `toml:"presence"`
}

// PresenceConfig is the [presence] section.
type PresenceConfig struct {
	// Watch lists colleagues whose phone state the team panel shows: user
	// names (in the account's domain) or SIP URIs.
	Watch []string `toml:"watch"`
	// Server is a presence server (sip:host:port) that gets our phone
	// state as PUBLISH (RFC 3903) of dialog-info; watchers then SUBSCRIBE
	// there. Empty: watchers SUBSCRIBE to this phone directly.
	Server string `toml:"server"`
}

// SIPConfig is the [sip] section: the local user agent.
type SIPConfig struct {
	// Listen is host:port for SIP; port 0 picks a free port.
	// Default "127.0.0.1:0".
	Listen string `toml:"listen"`
	// Transport is udp (default), tcp or tls.
	Transport string `toml:"transport"`
	// Name is the user part of our Contact and the default From user.
	// Default: the account's user, else "anyphone".
	Name string `toml:"name"`
	// RTPTimeout reports a call that received no RTP this long ("30s").
	// 0 (default) disables the watchdog.
	RTPTimeout Duration `toml:"rtp_timeout"`
	// HoldDialect is how we hold: sendonly (default), inactive or zero-ip.
	HoldDialect string `toml:"hold_dialect"`
	// SRTP is SDES-SRTP for call media: off (default), optional or mandatory.
	SRTP string `toml:"srtp"`
	// TraceFile receives every SIP message in sngrep-like text.
	TraceFile string `toml:"trace_file"`
	// MaxCalls limits concurrent calls; 0 means 64.
	MaxCalls int `toml:"max_calls"`
	// Keepalive is how often a registered phone sends OPTIONS to its
	// registrar (or outbound proxy) to notice one that went away; "0"
	// turns it off. Unset: 30s (phone.DefaultKeepalive).
	Keepalive *Duration `toml:"keepalive"`
	// TLSCert and TLSKey are a PEM certificate and key for transport tls,
	// both or neither. Optional: without them the phone dials TLS and
	// verifies servers but opens no TLS listener; with them it also
	// listens for TLS and presents the certificate to servers that ask.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TLSCA is a PEM bundle to verify servers with; default: the system
	// roots.
	TLSCA string `toml:"tls_ca"`
	// TLSServerName is the host name the server certificate must carry;
	// default: the host dialled (registrar, proxy or the URI's host).
	TLSServerName string `toml:"tls_server_name"`
	// TLSInsecureSkipVerify accepts any server certificate. For a lab
	// only: it is logged as a warning and shown in the TUI header.
	TLSInsecureSkipVerify bool `toml:"tls_insecure_skip_verify"`
	// MWI subscribes to message-summary (RFC 3842) at Voicemail, or at the
	// account's address of record through the registrar, and shows waiting
	// messages in the header.
	MWI bool `toml:"mwi"`
	// Voicemail is the voicemail server's URI ("sip:*97@pbx.example.org"):
	// where MWI subscribes and what the voicemail key calls.
	Voicemail string `toml:"voicemail"`
}

// AccountConfig is the [account] section. Without an aor the phone has no
// account: it dials SIP URIs directly and does not register.
type AccountConfig struct {
	// AOR is the address of record, e.g. "sip:alice@example.org".
	AOR string `toml:"aor"`
	// DisplayName is sent in From.
	DisplayName string `toml:"display_name"`
	// Registrar is where REGISTER goes ("sip:pbx.example.org:5060").
	// Empty: no registration.
	Registrar string `toml:"registrar"`
	// Proxy is an outbound proxy, host:port.
	Proxy string `toml:"proxy"`
	// Username for digest auth; default: the AOR's user.
	Username string `toml:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `toml:"password_env"`
	// PasswordFile is a file holding the password (one line).
	PasswordFile string `toml:"password_file"`
	// Expiry requested for the registration; 0 means 600s.
	Expiry Duration `toml:"expiry"`
}

// AudioConfig is the [audio] section. Device specs are those of
// `anyphone devices`: auto, null, pulse[:DEVICE], portaudio[:DEVICE], tone:HZ, ...
type AudioConfig struct {
	// Device is where calls' audio goes. "auto" (default): the sound
	// server (pulse), else the sound card (portaudio), else null audio
	// with a notice.
	Device string `toml:"device"`
	// Input and Output override Device for the microphone and the speaker.
	Input  string `toml:"input"`
	Output string `toml:"output"`
	// Ringtone is where incoming calls ring: "" (default) the output
	// device, "none" for silence, or another device spec.
	Ringtone string `toml:"ringtone"`
	// Codecs are the audio codecs offered, in order of preference, by SDP
	// name (case-insensitive): PCMU, PCMA, G722, opus. Default: PCMU, PCMA.
	Codecs []string `toml:"codecs"`
	// Rate is the sample rate of the sound card and the audio hub: 8000
	// (default), 16000 or 48000. Calls are resampled between it and their
	// codec's rate, so wideband codecs are heard as such only above 8000.
	Rate int `toml:"rate"`
}

// ControlConfig is the [control] section: the control API that
// `anyphone ctl` and other programs use (docs/control-protocol.md).
type ControlConfig struct {
	// Listen is host:port for the WebSocket control API. "" (default):
	// off. A non-loopback address needs a token.
	Listen string `toml:"listen"`
	// TokenEnv names the environment variable holding the token.
	TokenEnv string `toml:"token_env"`
	// TokenFile is a file holding the token (one line).
	TokenFile string `toml:"token_file"`
}

// ControllerConfig is the [controller] section: a shared AnyDevice
// controller (`anyphone controller`) the TUI attaches to instead of
// running its own phone, and that `anyphone ctl` talks to by default.
type ControllerConfig struct {
	// URL is the controller's control URL, ws://HOST:PORT/ctl (its ready
	// line's ctl); wss:// for TLS. "" (default): the embedded controller.
	URL string `toml:"url"`
	// User is your user at the controller.
	User string `toml:"user"`
	// TokenEnv names the environment variable holding your token;
	// ANYPHONE_CTL_TOKEN, if set, wins.
	TokenEnv string `toml:"token_env"`
	// TokenFile is a file holding your token (one line, mode 0600).
	TokenFile string `toml:"token_file"`
}

// token is the user's token at the controller: ANYPHONE_CTL_TOKEN, else
// token_env, else token_file.
func (c ControllerConfig) token() (phone.Secret, error) {
	if t := os.Getenv("ANYPHONE_CTL_TOKEN"); t != "" {
		return phone.Secret(t), nil
	}
	if c.TokenEnv == "" && c.TokenFile == "" {
		return "", nil
	}
	return readSecret("controller.token_env", c.TokenEnv, "controller.token_file", c.TokenFile)
}

// JournalConfig is the [journal] section: the call journal.
type JournalConfig struct {
	// Path of the SQLite journal. Default:
	// $XDG_DATA_HOME/anyphone/journal.db (~/.local/share/anyphone).
	Path string `toml:"path"`
	// Retention drops entries older than this ("90d"); 0 keeps them all.
	Retention Duration `toml:"retention"`
}

// AnyDeviceConfig is the [anydevice] section: where calls can live besides
// this softphone ("desk"). With another device active, dialling rings that
// device first and then calls the destination as Number (a callback).
type AnyDeviceConfig struct {
	// Number is the user's office number in E.164 ("+4930123456"), shown
	// as the caller on callbacks. Needed as soon as Devices is not empty.
	Number string `toml:"number"`
	// Devices are the user's other devices.
	Devices []AnyDeviceEntry `toml:"devices"`
}

// AnyDeviceEntry is one device of [anydevice] devices.
type AnyDeviceEntry struct {
	// Name is how the user picks it: mobile, home, ... ("desk" is this
	// softphone).
	Name string `toml:"name"`
	// Target is a SIP URI or a number in E.164.
	Target string `toml:"target"`
	// RingDelay rings this device that long after the call arrived
	// (follow-me); 0: at once. At most 5m.
	RingDelay Duration `toml:"ring_delay"`
	// Hold is the hold dialect the device accepts: sendonly (default),
	// inactive or zero-ip.
	Hold string `toml:"hold"`
	// FastAnswer is the fast-answer guard: an answer sooner than this
	// after the INVITE is taken for a carrier voicemail; 0: off. At most 30s.
	FastAnswer Duration `toml:"fast_answer"`
}

// Bounds of the [anydevice] durations.
const (
	maxRingDelay  = 5 * time.Minute
	maxFastAnswer = 30 * time.Second
)

// LogConfig is the [log] section. The --log-file and --log-level flags win.
type LogConfig struct {
	// File receives the logs. Default: stderr, or a file in the state dir
	// while the TUI runs.
	File string `toml:"file"`
	// Level is debug, info (default), warn or error.
	Level string `toml:"level"`
}

// Defaults of the fields whose zero value means something else.
const (
	defaultSIPListen   = "127.0.0.1:0"
	defaultTransport   = "udp"
	defaultAudioDevice = "auto"
	defaultLogLevel    = "info"
)

// envOverrides are the few settings the environment can override (after
// the file, before flags): name → setter.
var envOverrides = []struct {
	name string
	set  func(c *Config, v string)
}{
	{"ANYPHONE_SIP_LISTEN", func(c *Config, v string) { c.SIP.Listen = v }},
	{"ANYPHONE_AUDIO_DEVICE", func(c *Config, v string) { c.Audio.Device = v }},
	{"ANYPHONE_CONTROL_LISTEN", func(c *Config, v string) { c.Control.Listen = v }},
	{"ANYPHONE_LOG_LEVEL", func(c *Config, v string) { c.Log.Level = v }},
}

// FieldError is a bad configuration value, named by its TOML key
// ("sip.transport").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr builds a FieldError with a formatted message.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// errPlainPassword explains why account.password is refused.
var errPlainPassword = errors.New("plain passwords are not allowed in the config file: use password_env or password_file")

// DefaultConfigPath is $XDG_CONFIG_HOME/anyphone/config.toml, falling back
// to ~/.config/anyphone/config.toml.
func DefaultConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "anyphone", "config.toml")
}

// defaultJournalPath is $XDG_DATA_HOME/anyphone/journal.db, falling back to
// ~/.local/share/anyphone/journal.db.
func defaultJournalPath() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "anyphone", "journal.db")
}

// LoadConfig reads the config file at path ("" means DefaultConfigPath),
// applies the ANYPHONE_* environment overrides and validates the result.
// A missing file is an error when mustExist is set (the user named it),
// else it means the embedded default. Unknown keys and bad values are
// refused with the key's name.
func LoadConfig(path string, mustExist bool) (*Config, error) {
	if path == "" {
		path = DefaultConfigPath()
	}
	c := &Config{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	default:
		if err := c.decode(data); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	c.ApplyEnv(os.Getenv)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// decode parses TOML into c, refusing unknown keys.
func (c *Config) decode(data []byte) error {
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) && pe.LastKey != "" {
			return fmt.Errorf("line %d: %s: %s", pe.Position.Line, pe.LastKey, pe.Message)
		}
		return err
	}
	for _, k := range md.Undecoded() {
		if k.String() == "account.password" {
			return &FieldError{Field: "account.password", Err: errPlainPassword}
		}
	}
	if un := md.Undecoded(); len(un) > 0 {
		return fieldErr(un[0].String(), "unknown key")
	}
	return nil
}

// ApplyEnv applies the ANYPHONE_SIP_LISTEN, ANYPHONE_AUDIO_DEVICE,
// ANYPHONE_CONTROL_LISTEN and ANYPHONE_LOG_LEVEL overrides that getenv
// returns non-empty.
func (c *Config) ApplyEnv(getenv func(string) string) {
	for _, o := range envOverrides {
		if v := getenv(o.name); v != "" {
			o.set(c, v)
		}
	}
}

// Validate reports the first bad value, as a *FieldError naming its key.
func (c *Config) Validate() error {
	if v := strings.TrimSpace(c.Presence.Server); v != "" && (!strings.HasPrefix(strings.ToLower(v), "sip:") || strings.ContainsAny(v, " \t<>\"")) {
		return fieldErr("presence.server", "%q is not a sip: URI", c.Presence.Server)
	}
	for i, w := range c.Presence.Watch {
		if t := strings.TrimSpace(w); t == "" || len(t) > 256 || strings.ContainsAny(t, " \t\r\n<>\"") {
			return fieldErr(fmt.Sprintf("presence.watch[%d]", i), "%q is not a user name or SIP URI", w)
		}
	}
	s := c.SIP
	if s.Listen != "" {
		if _, err := hostPort("sip.listen", s.Listen, 0); err != nil {
			return err
		}
	}
	switch strings.ToLower(s.Transport) {
	case "", "udp", "tcp", "tls":
	default:
		return fieldErr("sip.transport", "%q is not udp, tcp or tls", s.Transport)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return fieldErr("sip.tls_key", "tls_cert and tls_key go together")
	}
	if err := c.validateTLS(); err != nil { // tlsconfig.go
		return err
	}
	if strings.ContainsAny(s.Name, " \t@:;<>\"") {
		return fieldErr("sip.name", "%q is not a SIP user name", s.Name)
	}
	if s.RTPTimeout < 0 {
		return fieldErr("sip.rtp_timeout", "%s is negative", s.RTPTimeout)
	}
	if _, err := phone.ParseHoldDialect(s.HoldDialect); err != nil {
		return fieldErr("sip.hold_dialect", "%q is not sendonly, inactive or zero-ip", s.HoldDialect)
	}
	if _, err := phone.ParseSRTPMode(s.SRTP); err != nil {
		return fieldErr("sip.srtp", "%q is not off, optional or mandatory", s.SRTP)
	}
	if s.MaxCalls < 0 {
		return fieldErr("sip.max_calls", "%d is negative", s.MaxCalls)
	}
	if k := s.Keepalive; k != nil && (*k < 0 || *k > 0 && k.D() < minKeepalive) {
		return fieldErr("sip.keepalive", "%s is not 0 (off) or at least %s", *k, minKeepalive)
	}

	a := c.Account
	if a.AOR == "" {
		if a.Registrar != "" || a.Proxy != "" || a.Username != "" || a.PasswordEnv != "" || a.PasswordFile != "" {
			return fieldErr("account.aor", "missing (the other account keys need it)")
		}
	} else if !strings.HasPrefix(a.AOR, "sip:") && !strings.HasPrefix(a.AOR, "sips:") || !strings.Contains(a.AOR, "@") {
		return fieldErr("account.aor", "%q is not a SIP address of record like sip:alice@example.org", a.AOR)
	}
	if a.Registrar != "" && !strings.HasPrefix(a.Registrar, "sip:") && !strings.HasPrefix(a.Registrar, "sips:") {
		return fieldErr("account.registrar", "%q is not a SIP URI like sip:pbx.example.org:5060", a.Registrar)
	}
	if a.Proxy != "" {
		if _, err := hostPort("account.proxy", a.Proxy, 1); err != nil {
			return err
		}
	}
	if a.PasswordEnv != "" && a.PasswordFile != "" {
		return fieldErr("account.password_file", "set password_env or password_file, not both")
	}
	if a.Expiry < 0 || a.Expiry > 0 && a.Expiry.D() < time.Minute {
		return fieldErr("account.expiry", "%s is not at least 1m", a.Expiry)
	}

	switch c.Audio.Rate {
	case 0, 8000, 16000, 48000:
	default:
		return fieldErr("audio.rate", "%d is not 8000, 16000 or 48000", c.Audio.Rate)
	}
	if err := (&phone.Config{Codecs: c.Audio.Codecs}).Validate(); err != nil {
		return fieldErr("audio.codecs", "%s", strings.TrimPrefix(err.Error(), "codecs: "))
	}
	for _, d := range []struct{ key, v string }{
		{"audio.device", c.Audio.Device}, {"audio.input", c.Audio.Input},
		{"audio.output", c.Audio.Output}, {"audio.ringtone", c.Audio.Ringtone},
	} {
		if strings.TrimSpace(d.v) != d.v {
			return fieldErr(d.key, "%q has surrounding spaces", d.v)
		}
	}

	ct := c.Control
	if ct.Listen != "" {
		host, err := hostPort("control.listen", ct.Listen, 0)
		if err != nil {
			return err
		}
		if !ctl.IsLoopbackHost(host) && ct.TokenEnv == "" && ct.TokenFile == "" {
			return fieldErr("control.listen", "%q is not a loopback address: set control.token_env or control.token_file", ct.Listen)
		}
	}
	if ct.TokenEnv != "" && ct.TokenFile != "" {
		return fieldErr("control.token_file", "set token_env or token_file, not both")
	}
	if cc := c.Controller; cc.URL != "" || cc.User != "" || cc.TokenEnv != "" || cc.TokenFile != "" {
		u, err := url.Parse(cc.URL)
		switch {
		case cc.URL == "":
			return fieldErr("controller.url", "missing (ws://HOST:PORT/ctl, the controller's ready line's ctl)")
		case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
			return fieldErr("controller.url", "%q is not a ws:// or wss:// URL", cc.URL)
		case cc.User == "":
			return fieldErr("controller.user", "missing: your user at the controller")
		case cc.TokenEnv != "" && cc.TokenFile != "":
			return fieldErr("controller.token_file", "set token_env or token_file, not both")
		}
	}

	if err := validateBusy(&c.Busy); err != nil {
		return err
	}
	if err := c.AnyDevice.validate(); err != nil {
		return err
	}
	if c.Journal.Retention < 0 {
		return fieldErr("journal.retention", "%s is negative", c.Journal.Retention)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fieldErr("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	return nil
}

// hostPort checks that v, the value of key, is host:port with a port from
// minPort to 65535, and returns the host.
func hostPort(key, v string, minPort int) (string, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fieldErr(key, "%q is not host:port", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < minPort || n > 65535 {
		return "", fieldErr(key, "%q: port %q is not a number from %d to 65535", v, port, minPort)
	}
	return host, nil
}

// validateBusy checks the [busy] section; errors name the key
// ("busy.no_answer_seconds: 400 is above 300").
func validateBusy(p *busy.Policy) error {
	if n := p.NoAnswerSeconds; n != nil && *n > busy.MaxNoAnswerSeconds {
		return fieldErr("busy.no_answer_seconds", "%d is above %d", *n, busy.MaxNoAnswerSeconds)
	}
	if n := p.NoAnswerSeconds; n != nil && *n < 0 {
		return fieldErr("busy.no_answer_seconds", "%d is negative", *n)
	}
	if !p.Override.IsZero() {
		return fieldErr("busy", "an override is runtime state, not configuration")
	}
	err := p.Validate()
	var fe *busy.FieldError
	if errors.As(err, &fe) {
		return fieldErr("busy."+ctl.PolicyFieldName(fe.Field), "%v: %s", fe.Value, ctl.PolicyMessage(fe.Msg))
	}
	return err
}

// validate checks the [anydevice] section; errors name the key
// ("anydevice.devices[1].hold").
func (a *AnyDeviceConfig) validate() error {
	if a.Number != "" && !vocab.IsE164(a.Number) {
		return fieldErr("anydevice.number", "%q is not an E.164 number like +4930123456", a.Number)
	}
	if a.Number == "" && len(a.Devices) > 0 {
		return fieldErr("anydevice.number", "missing (calling through another device shows your office number)")
	}
	seen := map[string]bool{}
	for i, d := range a.Devices {
		key := fmt.Sprintf("anydevice.devices[%d]", i)
		name := strings.ToLower(d.Name)
		switch {
		case strings.TrimSpace(d.Name) == "" || strings.ContainsAny(d.Name, " \t=,"):
			return fieldErr(key+".name", "%q is not a device name like mobile", d.Name)
		case name == deskDevice:
			return fieldErr(key+".name", "%s is this softphone", deskDevice)
		case seen[name]:
			return fieldErr(key+".name", "%q twice", d.Name)
		}
		seen[name] = true
		if err := checkDeviceTarget(d.Target); err != nil {
			return &FieldError{Field: key + ".target", Err: err}
		}
		if d.RingDelay < 0 || d.RingDelay.D() > maxRingDelay {
			return fieldErr(key+".ring_delay", "%s is not 0..%s", d.RingDelay, Duration(maxRingDelay))
		}
		if _, err := phone.ParseHoldDialect(d.Hold); err != nil {
			return fieldErr(key+".hold", "%q is not sendonly, inactive or zero-ip", d.Hold)
		}
		if d.FastAnswer < 0 || d.FastAnswer.D() > maxFastAnswer {
			return fieldErr(key+".fast_answer", "%s is not 0..%s", d.FastAnswer, Duration(maxFastAnswer))
		}
	}
	return nil
}

// checkDeviceTarget accepts a SIP URI or an E.164 number.
func checkDeviceTarget(t string) error {
	switch {
	case strings.HasPrefix(t, "sip:") || strings.HasPrefix(t, "sips:"):
		if len(t) <= len("sips:") || strings.ContainsAny(t, " \t<>\"") {
			return fmt.Errorf("%q is not a SIP URI", t)
		}
		return nil
	case vocab.IsE164(t):
		return nil
	}
	return fmt.Errorf("%q is neither a SIP URI nor an E.164 number", t)
}

// Devices returns the [anydevice] devices as the controller takes them.
func (a *AnyDeviceConfig) devices() []anydevice.Device {
	out := make([]anydevice.Device, 0, len(a.Devices))
	for _, d := range a.Devices {
		out = append(out, anydevice.Device{Name: d.Name, Target: d.Target, RingDelay: d.RingDelay.D(), Hold: d.Hold, FastAnswer: d.FastAnswer.D()})
	}
	return out
}

// WithDefaults returns a copy with every defaulted field filled in, as
// `config show` prints it.
func (c *Config) WithDefaults() *Config {
	d := *c
	if d.SIP.Listen == "" {
		d.SIP.Listen = defaultSIPListen
	}
	if d.SIP.Transport == "" {
		d.SIP.Transport = defaultTransport
	}
	if d.SIP.HoldDialect == "" {
		d.SIP.HoldDialect = phone.HoldSendonly.String()
	}
	if d.Audio.Device == "" {
		d.Audio.Device = defaultAudioDevice
	}
	if d.Journal.Path == "" {
		d.Journal.Path = defaultJournalPath()
	}
	if d.Log.Level == "" {
		d.Log.Level = defaultLogLevel
	}
	d.applyShownDefaults()
	return &d
}

// PhoneConfig builds the phone's configuration, reading the account
// password from its environment variable or file and the TLS files.
func (c *Config) PhoneConfig() (phone.Config, error) {
	if err := c.Validate(); err != nil {
		return phone.Config{}, err
	}
	s := c.SIP
	hold, _ := phone.ParseHoldDialect(s.HoldDialect)
	srtpMode, _ := phone.ParseSRTPMode(s.SRTP)
	pc := phone.Config{
		Name:        s.Name,
		Listen:      s.Listen,
		Transport:   strings.ToLower(s.Transport),
		MaxCalls:    s.MaxCalls,
		RTPTimeout:  s.RTPTimeout.D(),
		TraceFile:   expandHome(s.TraceFile),
		HoldDialect: hold,
		Codecs:      c.Audio.Codecs,
		AudioRate:   c.Audio.Rate,
		MWI:         s.MWI,
		Voicemail:   strings.TrimSpace(s.Voicemail),
		SRTP:        srtpMode,
	}
	if pc.Listen == "" {
		pc.Listen = defaultSIPListen
	}
	if pc.Transport == "" && sipsURI(c.Account.Registrar) {
		pc.Transport = "tls" // a sips: registrar implies TLS (tlsconfig.go)
	}
	if pc.Transport == "tls" {
		tc, err := loadTLS(s)
		if err != nil {
			return phone.Config{}, err
		}
		pc.TLS = tc
	}
	if a := c.Account; a.AOR != "" {
		pw, err := readSecret("account.password_env", a.PasswordEnv, "account.password_file", a.PasswordFile)
		if err != nil {
			return phone.Config{}, err
		}
		pc.Account = &phone.Account{
			AOR:         a.AOR,
			DisplayName: a.DisplayName,
			Registrar:   a.Registrar,
			Proxy:       a.Proxy,
			Username:    a.Username,
			Password:    pw,
			Expiry:      a.Expiry.D(),
			Keepalive:   keepaliveOf(s.Keepalive),
		}
	}
	return pc, nil
}

// ControlToken reads the control token from its environment variable or
// file; "" when neither is configured.
func (c *Config) ControlToken() (phone.Secret, error) {
	return readSecret("control.token_env", c.Control.TokenEnv, "control.token_file", c.Control.TokenFile)
}

// readSecret reads a secret from the environment variable env or from file
// (one line, trailing newline trimmed). Errors name the key and the
// variable or file, never the value.
func readSecret(envKey, env, fileKey, file string) (phone.Secret, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fieldErr(envKey, "environment variable %s is not set", env)
		}
		return phone.Secret(v), nil
	case file != "":
		if err := checkSecretFile(fileKey, expandHome(file)); err != nil {
			return "", err
		}
		b, err := os.ReadFile(expandHome(file))
		if err != nil {
			return "", &FieldError{Field: fileKey, Err: err}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fieldErr(fileKey, "%s is empty", file)
		}
		return phone.Secret(v), nil
	}
	return "", nil
}

// checkSecretFile refuses a file holding a secret that others than its
// owner may read or write (mode & 077), as ssh refuses a loose key.
func checkSecretFile(key, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &FieldError{Field: key, Err: err}
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fieldErr(key, "%s is readable or writable by others (mode %04o): chmod 600 it", path, m)
	}
	return nil
}

// expandHome replaces a leading "~/" with the home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// Duration is a TOML duration written as a string: Go's syntax ("30s",
// "1h30m") plus days ("90d").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	if d != 0 && d%Duration(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/Duration(24*time.Hour)), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText writes the form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "30s", "1h30m", "90d" or "0". A number without a
// unit is refused: it is ambiguous.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" {
		*d = 0
		return nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 30s, 5m or 90d", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s, 5m or 90d", s)
	}
	*d = Duration(v)
	return nil
}

// ExampleConfig is the commented file `anyphone config init` writes. Every
// key is shown with its default or an example, commented out.
const ExampleConfig = `# anyphone configuration (TOML). Every key is optional: a commented key
# shows its default. Flags on the command line win over this file; a few
# settings also come from the environment (ANYPHONE_SIP_LISTEN,
# ANYPHONE_AUDIO_DEVICE, ANYPHONE_CONTROL_LISTEN, ANYPHONE_LOG_LEVEL).
# Secrets never go in this file: name an environment variable or a file.
# Check it with "anyphone config check", see it with "anyphone config show".

[sip]
# SIP address; port 0 picks a free port. Use 0.0.0.0:5060 to be reachable
# from other hosts.
# listen = "127.0.0.1:0"
# udp, tcp or tls (a sips: registrar implies tls).
# transport = "udp"
# User part of our Contact and From (default: the account's user).
# name = "anyphone"
# Report a call that receives no RTP for this long; 0 disables.
# rtp_timeout = "0"
# How we hold: sendonly, inactive or zero-ip (RFC 2543 c=0.0.0.0).
# hold_dialect = "sendonly"
# SDES-SRTP for call media: off, optional (RTP/AVP with a=crypto, clear if
# the peer declines) or mandatory (RTP/SAVP; 488 to calls without SRTP).
# srtp = "off"
# Write every SIP message to this file.
# trace_file = ""
# Limit of concurrent calls; further INVITEs get 486. 0 means 64.
# max_calls = 0
# While registered, send OPTIONS to the registrar this often to notice one
# that went away (the header then says retrying); "0" turns it off.
# keepalive = "30s"
# TLS: server certificates are verified against tls_ca (default: the
# system roots) and the host dialled (or tls_server_name). A certificate
# and key are optional: with them the phone also listens for TLS.
# tls_ca = ""
# tls_server_name = ""
# tls_cert = ""
# tls_key = ""
# Accept any server certificate (a lab only; warned in the log and header).
# tls_insecure_skip_verify = false
# Message waiting (RFC 3842): subscribe to message-summary at voicemail, or
# at the account through the registrar; the header shows new/old messages.
# mwi = false
# voicemail = "sip:*97@pbx.example.org"

[account]
# Without an aor there is no account: dial SIP URIs directly.
# aor = "sip:alice@example.org"
# display_name = "Alice"
# Where REGISTER goes; empty: do not register.
# registrar = "sip:pbx.example.org:5060"
# Outbound proxy, host:port.
# proxy = ""
# Digest user name (default: the aor's user).
# username = ""
# The password comes from an environment variable or a file, never from
# here (a "password" key is refused).
# password_env = "ANYPHONE_PASSWORD"
# password_file = "~/.config/anyphone/password"
# Requested registration lifetime.
# expiry = "10m"

[audio]
# auto: the sound server (pulse), else the sound card (portaudio), else
# silence with a notice.
# Others: null, pulse[:DEVICE], portaudio[:DEVICE], tone:HZ, echo (see "anyphone devices").
# device = "auto"
# Microphone and speaker, when they differ from device.
# input = ""
# output = ""
# Where incoming calls ring: "" the output device, "none" for silence.
# ringtone = ""
# Audio codecs in order of preference: PCMU, PCMA, G722, opus.
# codecs = ["PCMU", "PCMA"]
# Sample rate of the sound card: 8000, 16000 or 48000 (wideband needs more
# than 8000 to be heard).
# rate = 8000

[control]
# The control API for "anyphone ctl" (docs/control-protocol.md).
# Empty: off. A non-loopback address needs a token.
# listen = "127.0.0.1:7070"
# The token comes from an environment variable or a file.
# token_env = "ANYPHONE_CTL_TOKEN"
# token_file = ""

[controller]
# Attach to a shared AnyDevice controller (anyphone controller) instead of
# the embedded one: its control URL (its ready line's "ctl"), your user,
# your token (ANYPHONE_CTL_TOKEN, token_env or token_file). --controller and
# --user override it; anyphone ctl talks to it when [control] listen is off.
# url = "ws://127.0.0.1:7070/ctl"
# user = "alice"
# token_env = "ANYPHONE_CTL_TOKEN"
# token_file = "~/.config/anyphone/controller.token"

[journal]
# SQLite call journal (default: $XDG_DATA_HOME/anyphone/journal.db).
# path = ""
# Drop entries older than this at start, e.g. "90d"; 0 keeps everything.
# retention = "0"

[busy]
# What an incoming call gets while you are busy (the control protocol's
# set_policy uses the same names). Actions: alert, wait (call waiting),
# silent, busy (486), unavailable (480), decline (603), voicemail (302).
# The --busy, --dnd, --voicemail, --vip, --no-answer... flags override it.
# on_busy = "wait"
# While in a conference, instead of on_busy ("" = on_busy).
# in_conference = ""
# Team, delegate, forwarded and transferred calls while busy.
# secondary = "wait"
# Count ringing and dialling calls as busy too.
# count_setup_as_busy = false
# Do not disturb: every call gets dnd_action, VIPs excepted.
# dnd = false
# dnd_action = "unavailable"
# Where voicemail redirects to.
# voicemail_uri = "sip:voicemail@example.org"
# Callers that always get through: URIs, numbers or patterns.
# vip = ["sip:boss@example.org", "+4930*"]
# Default region for numbers without a country code (ISO 3166).
# region = "DE"
# Ring unanswered calls this many seconds (0..300), then no_answer_action
# (unavailable or voicemail).
# no_answer_seconds = 20
# no_answer_action = "unavailable"

[anydevice]
# Your other devices: with one active (devices pane, D), dialling rings it
# first and then calls the destination showing your office number. desk is
# this softphone. --number and --anydevice NAME=TARGET override these.
# number = "+4930123456"
# Each device: name, target (SIP URI or E.164 number), ring_delay (follow-me
# stagger), hold (the dialect it accepts), fast_answer (answers sooner are
# taken for a carrier voicemail).
# devices = [{ name = "mobile", target = "+4917012345", ring_delay = "5s", hold = "inactive", fast_answer = "2s" }, { name = "home", target = "sip:home@192.0.2.7" }]

[presence]
# Colleagues whose phone state (idle, ringing, on the phone) the team panel
# shows, from SUBSCRIBE dialog (RFC 4235): user names in your account's
# domain or SIP URIs. Watchers may SUBSCRIBE to yours at this phone.
# watch = ["alice", "sip:bob@example.org"]
# A presence server (kamailio presence + presence_dialoginfo) to PUBLISH
# your state to; without one watchers SUBSCRIBE to this phone.
# server = "sip:presence.example.org:5060"

[log]
# Log file (default: stderr; the TUI logs to a file in the state dir).
# file = ""
# debug, info, warn or error.
# level = "info"
`

// ConfigCmd manages the configuration file.
type ConfigCmd struct {
	Init  ConfigInitCmd  `cmd:"" help:"Write a commented example config file."`
	Show  ConfigShowCmd  `cmd:"" help:"Print the effective configuration (secrets are never shown)."`
	Check ConfigCheckCmd `cmd:"" help:"Validate the configuration, including the password and token sources."`

	out io.Writer // stdout; tests set it
}

func (c *ConfigCmd) stdout() io.Writer {
	if c.out == nil {
		return os.Stdout
	}
	return c.out
}

// configPath is the file the config commands use: --config, else the
// default. mustExist is set when the user named it.
func configPath(g *Globals) (path string, mustExist bool) {
	if g.Config != "" {
		return g.Config, true
	}
	return DefaultConfigPath(), false
}

// ConfigInitCmd writes ExampleConfig.
type ConfigInitCmd struct {
	Path  string `help:"Where to write (default: --config, else the XDG config path)." type:"path"`
	Force bool   `help:"Overwrite an existing file."`
}

// Run writes the example, refusing to overwrite without --force.
func (c *ConfigInitCmd) Run(g *Globals, parent *ConfigCmd) error {
	path := c.Path
	if path == "" {
		path, _ = configPath(g)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return usageError(fmt.Errorf("config init: %s exists (use --force to overwrite)", path))
	}
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	if _, err := io.WriteString(f, ExampleConfig); err != nil {
		f.Close()
		return fmt.Errorf("config init: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	fmt.Fprintf(parent.stdout(), "wrote %s\n", path)
	return nil
}

// ConfigShowCmd prints the effective configuration.
type ConfigShowCmd struct{}

// Run prints the configuration after the file and the environment, with
// defaults filled in, as TOML. Secrets are only named, never shown.
func (c *ConfigShowCmd) Run(g *Globals, parent *ConfigCmd) error {
	path, must := configPath(g)
	cfg, err := LoadConfig(path, must)
	if err != nil {
		return usageError(err)
	}
	w := parent.stdout()
	fmt.Fprintf(w, "# effective configuration: %s, the environment, defaults\n", path)
	if st := newSettingsStore(); st != nil {
		if kept, err := st.load(); err == nil && len(kept) > 0 {
			// the TUI starts with them on top of the file (settingsstate.go)
			applySettings(cfg, kept, nil)
			fmt.Fprintf(w, "# with the settings changed in the TUI, kept in %s\n", st.path)
		}
	}
	if src := secretSource(cfg.Account.PasswordEnv, cfg.Account.PasswordFile); cfg.Account.AOR != "" {
		fmt.Fprintf(w, "# account password: %s\n", src)
	}
	if cfg.Control.Listen != "" {
		fmt.Fprintf(w, "# control token: %s\n", secretSource(cfg.Control.TokenEnv, cfg.Control.TokenFile))
	}
	return toml.NewEncoder(w).Encode(cfg.WithDefaults())
}

// secretSource says where a secret comes from and whether it is there,
// without reading it out.
func secretSource(env, file string) string {
	switch {
	case env != "":
		if os.Getenv(env) == "" {
			return "from $" + env + " (not set)"
		}
		return "from $" + env + " (set)"
	case file != "":
		if _, err := os.Stat(expandHome(file)); err != nil {
			return "from " + file + " (missing)"
		}
		return "from " + file
	}
	return "none"
}

// ConfigCheckCmd validates the configuration.
type ConfigCheckCmd struct{}

// Run loads and validates the file and resolves the secrets it names.
func (c *ConfigCheckCmd) Run(g *Globals, parent *ConfigCmd) error {
	path, must := configPath(g)
	cfg, err := LoadConfig(path, must)
	if err != nil {
		return usageError(err)
	}
	if _, err := cfg.PhoneConfig(); err != nil {
		return usageError(fmt.Errorf("config %s: %w", path, err))
	}
	if _, err := cfg.ControlToken(); err != nil {
		return usageError(fmt.Errorf("config %s: %w", path, err))
	}
	fmt.Fprintf(parent.stdout(), "%s: ok\n", path)
	return nil
}

// minKeepalive is the shortest [sip] keepalive: OPTIONS more often only
// load the registrar.
const minKeepalive = 5 * time.Second

// keepaliveOf maps [sip] keepalive to phone.Account.Keepalive: unset is
// the phone's default, "0" is off (negative there).
func keepaliveOf(k *Duration) time.Duration {
	switch {
	case k == nil:
		return 0
	case *k == 0:
		return -1
	}
	return k.D()
}
