package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/phone"
)

// writeConfig writes text to a config file in a fresh temp dir.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clearConfigEnv keeps the ANYPHONE_* overrides of the machine out of a test.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	for _, o := range envOverrides {
		t.Setenv(o.name, "")
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no settings kept from a real TUI
}

func TestLoadConfigValid(t *testing.T) {
	clearConfigEnv(t)
	t.Setenv("TEST_ANYPHONE_PW", "hunter2")
	p := writeConfig(t, `
[sip]
listen = "127.0.0.1:5070"
transport = "TCP"
name = "desk"
rtp_timeout = "30s"
hold_dialect = "inactive"
srtp = "mandatory"
max_calls = 4

[account]
aor = "sip:alice@127.0.0.1"
display_name = "Alice"
registrar = "sip:127.0.0.1:5099"
proxy = "127.0.0.1:5099"
password_env = "TEST_ANYPHONE_PW"
expiry = "5m"

[audio]
codecs = ["opus", "g722", "PCMU"]
rate = 16000

[control]
listen = "127.0.0.1:7070"

[journal]
retention = "90d"
`)
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.SIP.RTPTimeout.D() != 30*time.Second || c.Journal.Retention.D() != 90*24*time.Hour {
		t.Errorf("durations: %v %v", c.SIP.RTPTimeout, c.Journal.Retention)
	}
	pc, err := c.PhoneConfig()
	if err != nil {
		t.Fatalf("PhoneConfig: %v", err)
	}
	want := phone.Config{
		Name: "desk", Listen: "127.0.0.1:5070", Transport: "tcp", MaxCalls: 4,
		RTPTimeout: 30 * time.Second, HoldDialect: phone.HoldInactive, SRTP: phone.SRTPMandatory,
		Codecs: []string{"opus", "g722", "PCMU"}, AudioRate: 16000,
		Account: &phone.Account{
			AOR: "sip:alice@127.0.0.1", DisplayName: "Alice", Registrar: "sip:127.0.0.1:5099",
			Proxy: "127.0.0.1:5099", Password: "hunter2", Expiry: 5 * time.Minute,
		},
	}
	if !reflect.DeepEqual(pc, want) {
		t.Errorf("PhoneConfig =\n%#v\nwant\n%#v", pc, want)
	}
	if err := pc.Validate(); err != nil {
		t.Errorf("phone rejects the built config: %v", err)
	}
}

func TestLoadConfigRefusesBadValues(t *testing.T) {
	clearConfigEnv(t)
	tests := []struct {
		name  string
		text  string
		field string // the FieldError's field; "" when the message names it
		want  string // in the error text
	}{
		{"transport", "[sip]\ntransport = \"carrier-pigeon\"\n", "sip.transport", `"carrier-pigeon" is not udp, tcp or tls`},
		{"listen", "[sip]\nlisten = \"localhost\"\n", "sip.listen", "not host:port"},
		{"listen port", "[sip]\nlisten = \"127.0.0.1:99999\"\n", "sip.listen", "port \"99999\" is not a number from 0 to 65535"},
		{"listen port name", "[sip]\nlisten = \"127.0.0.1:sip\"\n", "sip.listen", "port \"sip\""},
		{"proxy port", "[account]\naor = \"sip:a@example.org\"\nproxy = \"pbx.example.org:0\"\n", "account.proxy", "from 1 to 65535"},
		{"tls cert without key", "[sip]\ntransport = \"tls\"\ntls_cert = \"c.pem\"\n", "sip.tls_key", "go together"},
		{"voicemail", "[sip]\nvoicemail = \"*97\"\n", "sip.voicemail", "not a SIP URI"},
		{"mwi without target", "[sip]\nmwi = true\n", "sip.mwi", "sip.voicemail"},
		{"tls ca unreadable", "[sip]\ntransport = \"tls\"\ntls_ca = \"/nonexistent/ca.pem\"\n", "sip.tls_ca", "no such file"},
		{"tls server name", "[sip]\ntransport = \"tls\"\ntls_server_name = \"sip://pbx\"\n", "sip.tls_server_name", "not a host name"},
		{"sips registrar over udp", "[sip]\ntransport = \"udp\"\n[account]\naor = \"sip:a@127.0.0.1\"\nregistrar = \"sips:127.0.0.1\"\n", "account.registrar", "transport = \"tls\""},
		{"name", "[sip]\nname = \"a b\"\n", "sip.name", "not a SIP user name"},
		{"hold dialect", "[sip]\nhold_dialect = \"pause\"\n", "sip.hold_dialect", "pause"},
		{"unknown codec", "[audio]\ncodecs = [\"opus\", \"gsm\"]\n", "audio.codecs", "gsm"},
		{"codec twice", "[audio]\ncodecs = [\"G722\", \"g722\"]\n", "audio.codecs", "twice"},
		{"audio rate", "[audio]\nrate = 44100\n", "audio.rate", "44100"},
		{"srtp", "[sip]\nsrtp = \"always\"\n", "sip.srtp", `"always" is not off, optional or mandatory`},
		{"max calls", "[sip]\nmax_calls = -1\n", "sip.max_calls", "negative"},
		{"negative keepalive", "[sip]\nkeepalive = \"-30s\"\n", "sip.keepalive", "at least 5s"},
		{"short keepalive", "[sip]\nkeepalive = \"1s\"\n", "sip.keepalive", "at least 5s"},
		{"keepalive garbage", "[sip]\nkeepalive = \"often\"\n", "", "sip.keepalive"},
		{"negative rtp timeout", "[sip]\nrtp_timeout = \"-5s\"\n", "sip.rtp_timeout", "negative"},
		{"duration without unit", "[sip]\nrtp_timeout = 30\n", "", "sip.rtp_timeout"},
		{"duration garbage", "[sip]\nrtp_timeout = \"soon\"\n", "", "sip.rtp_timeout"},
		{"wrong type", "[sip]\nmax_calls = \"four\"\n", "", "sip.max_calls"},
		{"unknown key", "[sip]\nlisten = \"127.0.0.1:0\"\nlisen = \"x\"\n", "sip.lisen", "unknown key"},
		{"unknown section", "[sipp]\nlisten = \"x\"\n", "sipp", "unknown key"},
		{"plain password", "[account]\naor = \"sip:a@127.0.0.1\"\npassword = \"hunter2\"\n", "account.password", "password_env or password_file"},
		{"aor", "[account]\naor = \"alice\"\n", "account.aor", "not a SIP address of record"},
		{"account keys without aor", "[account]\nregistrar = \"sip:127.0.0.1\"\n", "account.aor", "missing"},
		{"registrar", "[account]\naor = \"sip:a@127.0.0.1\"\nregistrar = \"127.0.0.1\"\n", "account.registrar", "not a SIP URI"},
		{"proxy", "[account]\naor = \"sip:a@127.0.0.1\"\nproxy = \"p\"\n", "account.proxy", "host:port"},
		{"two password sources", "[account]\naor = \"sip:a@127.0.0.1\"\npassword_env = \"X\"\npassword_file = \"f\"\n", "account.password_file", "not both"},
		{"short expiry", "[account]\naor = \"sip:a@127.0.0.1\"\nexpiry = \"10s\"\n", "account.expiry", "1m"},
		{"audio spaces", "[audio]\ndevice = \" null\"\n", "audio.device", "spaces"},
		{"control not loopback", "[control]\nlisten = \"0.0.0.0:7070\"\n", "control.listen", "token_env"},
		{"control listen", "[control]\nlisten = \"7070\"\n", "control.listen", "host:port"},
		{"two token sources", "[control]\ntoken_env = \"X\"\ntoken_file = \"f\"\n", "control.token_file", "not both"},
		{"controller without url", "[controller]\nuser = \"alice\"\n", "controller.url", "missing"},
		{"controller url not ws", "[controller]\nurl = \"http://127.0.0.1:7070/ctl\"\nuser = \"alice\"\n", "controller.url", "ws://"},
		{"controller without user", "[controller]\nurl = \"ws://127.0.0.1:7070/ctl\"\n", "controller.user", "missing"},
		{"controller two token sources", "[controller]\nurl = \"ws://127.0.0.1:7070/ctl\"\nuser = \"a\"\ntoken_env = \"X\"\ntoken_file = \"f\"\n", "controller.token_file", "not both"},
		{"retention", "[journal]\nretention = \"-1d\"\n", "journal.retention", "negative"},
		{"log level", "[log]\nlevel = \"loud\"\n", "log.level", "loud"},
		{"syntax", "[sip\n", "", "line"},
		{"busy no-answer too long", "[busy]\nno_answer_seconds = 400\n", "busy.no_answer_seconds", "400 is above 300"},
		{"busy no-answer negative", "[busy]\nno_answer_seconds = -1\n", "busy.no_answer_seconds", "negative"},
		{"busy unknown action", "[busy]\non_busy = \"hold\"\n", "", "busy.on_busy"},
		{"busy voicemail without URI", "[busy]\ndnd_action = \"voicemail\"\n", "busy.dnd_action", "voicemail_uri"},
		{"busy bad VIP", "[busy]\nvip = [\"sip:a@b\", \"\"]\n", "busy.vip[1]", "empty"},
		{"busy region", "[busy]\nregion = \"XX\"\n", "busy.region", "unknown region"},
		{"busy unknown key", "[busy]\nbusy_on_busy = \"busy\"\n", "busy.busy_on_busy", "unknown key"},
		{"anydevice number", "[anydevice]\nnumber = \"030123\"\n", "anydevice.number", "E.164"},
		{"anydevice devices need a number", "[anydevice]\ndevices = [{ name = \"mobile\", target = \"+4917012345\" }]\n", "anydevice.number", "missing"},
		{"anydevice desk", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"Desk\", target = \"+4917012345\" }]\n", "anydevice.devices[0].name", "this softphone"},
		{"anydevice twice", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"+4917012345\" }, { name = \"M\", target = \"+4917012346\" }]\n", "anydevice.devices[1].name", "twice"},
		{"anydevice target", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"0171\" }]\n", "anydevice.devices[0].target", "neither"},
		{"anydevice hold", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"sip:m@127.0.0.1\", hold = \"pause\" }]\n", "anydevice.devices[0].hold", "pause"},
		{"anydevice ring delay", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"sip:m@127.0.0.1\", ring_delay = \"10m\" }]\n", "anydevice.devices[0].ring_delay", "0..5m"},
		{"anydevice fast answer", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"sip:m@127.0.0.1\", fast_answer = \"1m\" }]\n", "anydevice.devices[0].fast_answer", "0..30s"},
		{"anydevice unknown device key", "[anydevice]\nnumber = \"+4930123456\"\ndevices = [{ name = \"m\", target = \"sip:m@127.0.0.1\", ringdelay = \"1s\" }]\n", "", "ringdelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.text)
			_, err := LoadConfig(p, true)
			if err == nil {
				t.Fatalf("%s: LoadConfig accepted %q", tt.name, tt.text)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q does not mention %q and the path", tt.name, err, tt.want)
			}
			if tt.field != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field {
					t.Errorf("%s: error %v (%T), want a FieldError for %s", tt.name, err, err, tt.field)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error shows the password: %v", tt.name, err)
			}
		})
	}
}

// TestLoadConfigBusyAndAnyDevice reads the [busy] and [anydevice]
// sections.
func TestLoadConfigBusyAndAnyDevice(t *testing.T) {
	clearConfigEnv(t)
	p := writeConfig(t, `
[busy]
on_busy = "voicemail"
voicemail_uri = "sip:vm@127.0.0.1:5090"
vip = ["+4930*"]
region = "DE"
no_answer_seconds = 30
no_answer_action = "voicemail"

[anydevice]
number = "+4930123456"
devices = [{ name = "mobile", target = "+4917012345", ring_delay = "5s", hold = "inactive", fast_answer = "2s" }]
`)
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	thirty := 30
	wantBusy := busy.Policy{OnBusy: busy.Voicemail, VoicemailURI: "sip:vm@127.0.0.1:5090", VIP: []string{"+4930*"},
		Region: "DE", NoAnswerSeconds: &thirty, NoAnswerAction: busy.Voicemail}
	if !reflect.DeepEqual(c.Busy, wantBusy) {
		t.Errorf("busy = %+v, want %+v", c.Busy, wantBusy)
	}
	wantDevs := []anydevice.Device{{Name: "mobile", Target: "+4917012345", RingDelay: 5 * time.Second, Hold: "inactive", FastAnswer: 2 * time.Second}}
	if c.AnyDevice.Number != "+4930123456" || !reflect.DeepEqual(c.AnyDevice.devices(), wantDevs) {
		t.Errorf("anydevice = %+v, want %v", c.AnyDevice, wantDevs)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	clearConfigEnv(t)
	p := filepath.Join(t.TempDir(), "nope.toml")
	c, err := LoadConfig(p, false)
	if err != nil || !reflect.DeepEqual(*c, Config{}) {
		t.Errorf("missing default file: %+v, %v; want the zero Config", c, err)
	}
	if _, err := LoadConfig(p, true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing named file: %v, want ErrNotExist", err)
	}
}

func TestLoadConfigEnvOverrides(t *testing.T) {
	clearConfigEnv(t)
	t.Setenv("ANYPHONE_SIP_LISTEN", "127.0.0.1:5999")
	t.Setenv("ANYPHONE_LOG_LEVEL", "debug")
	t.Setenv("ANYPHONE_CONTROL_LISTEN", "0.0.0.0:7070")
	p := writeConfig(t, "[sip]\nlisten = \"127.0.0.1:5070\"\n")
	// A non-loopback control address from the environment is still refused.
	if _, err := LoadConfig(p, true); err == nil || !strings.Contains(err.Error(), "control.listen") {
		t.Fatalf("env control.listen without token: %v", err)
	}
	t.Setenv("ANYPHONE_CONTROL_LISTEN", "127.0.0.1:7070")
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.Listen != "127.0.0.1:5999" || c.Log.Level != "debug" || c.Control.Listen != "127.0.0.1:7070" {
		t.Errorf("overrides not applied: %+v", c)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got := DefaultConfigPath(); got != "/xdg/anyphone/config.toml" {
		t.Errorf("with XDG_CONFIG_HOME: %s", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultConfigPath(); got != "/home/u/.config/anyphone/config.toml" {
		t.Errorf("fallback: %s", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative") // not absolute: ignored per the XDG spec
	if got := DefaultConfigPath(); got != "/home/u/.config/anyphone/config.toml" {
		t.Errorf("relative XDG_CONFIG_HOME: %s", got)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil { // the umask cannot narrow a chmod
		t.Fatal(err)
	}
	t.Setenv("TEST_ANYPHONE_TOKEN", "tok")
	t.Setenv("TEST_ANYPHONE_UNSET", "")
	tests := []struct {
		name    string
		c       ControlConfig
		want    phone.Secret
		wantErr string
	}{
		{"none", ControlConfig{}, "", ""},
		{"env", ControlConfig{TokenEnv: "TEST_ANYPHONE_TOKEN"}, "tok", ""},
		{"unset env", ControlConfig{TokenEnv: "TEST_ANYPHONE_UNSET"}, "", "control.token_env: environment variable TEST_ANYPHONE_UNSET is not set"},
		{"file, newline trimmed", ControlConfig{TokenFile: pwFile}, "from-file", ""},
		{"empty file", ControlConfig{TokenFile: empty}, "", "control.token_file"},
		{"missing file", ControlConfig{TokenFile: filepath.Join(dir, "nope")}, "", "control.token_file"},
		{"file readable by others", ControlConfig{TokenFile: loose}, "", "control.token_file: " + loose + " is readable or writable by others (mode 0644)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Control: tt.c}
			got, err := c.ControlToken()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%s: err %v, want %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Reveal() != tt.want.Reveal() {
				t.Errorf("%s: got %v (%v), want the expected secret", tt.name, got, err)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		out     string
		wantErr bool
	}{
		{"30s", 30 * time.Second, "30s", false},
		{"1h30m", 90 * time.Minute, "1h30m0s", false},
		{"90d", 90 * 24 * time.Hour, "90d", false},
		{"0", 0, "0s", false},
		{"30", 0, "", true},
		{"d", 0, "", true},
		{"soon", 0, "", true},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("UnmarshalText(%q) err = %v", tt.in, err)
			continue
		}
		if tt.wantErr {
			continue
		}
		if d.D() != tt.want || d.String() != tt.out {
			t.Errorf("UnmarshalText(%q) = %v (%s), want %v (%s)", tt.in, d.D(), d, tt.want, tt.out)
		}
	}
}

// tomlKeys lists the dotted TOML keys of a struct type.
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() && f.Type.Name() != "Duration" {
			keys = append(keys, tomlKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}

func TestExampleConfig(t *testing.T) {
	clearConfigEnv(t)
	// As written: everything commented, so it is the embedded default.
	c, err := LoadConfig(writeConfig(t, ExampleConfig), true)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if !reflect.DeepEqual(*c, Config{}) {
		t.Errorf("the example is not the default: %+v", c)
	}
	// Uncommented: every key of Config appears, with a value of the right type.
	uncomment := regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`)
	live := uncomment.ReplaceAllString(ExampleConfig, "$1")
	var all Config
	md, err := toml.Decode(live, &all)
	if err != nil {
		t.Fatalf("the uncommented example does not parse: %v\n%s", err, live)
	}
	if un := md.Undecoded(); len(un) > 0 {
		t.Errorf("the example has keys Config lacks: %v", un)
	}
	for _, k := range tomlKeys(reflect.TypeFor[Config](), "") {
		if !md.IsDefined(strings.Split(k, ".")...) {
			t.Errorf("the example does not show %s", k)
		}
	}
}

func TestConfigCommands(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.toml")
	g := &Globals{Config: path}
	var out bytes.Buffer
	parent := &ConfigCmd{out: &out}

	// check of a missing named file fails.
	if err := (&ConfigCheckCmd{}).Run(g, parent); err == nil {
		t.Error("check of a missing file succeeded")
	}
	if err := (&ConfigInitCmd{}).Run(g, parent); err != nil {
		t.Fatalf("init: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != ExampleConfig {
		t.Fatalf("init wrote %d bytes (%v), want the example", len(b), err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("init mode %v, want 0600", fi.Mode().Perm())
	}
	if err := (&ConfigInitCmd{}).Run(g, parent); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("init over an existing file: %v, want a refusal naming --force", err)
	}
	if err := os.WriteFile(path, []byte("[log]\nlevel = \"warn\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (&ConfigInitCmd{Force: true}).Run(g, parent); err != nil {
		t.Fatalf("init --force: %v", err)
	}
	other := filepath.Join(dir, "other.toml")
	if err := (&ConfigInitCmd{Path: other}).Run(g, parent); err != nil {
		t.Fatalf("init --path: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("init --path: %v", err)
	}

	t.Setenv("TEST_ANYPHONE_PW", "hunter2")
	t.Setenv("TEST_ANYPHONE_TOKEN", "tok-secret")
	if err := os.WriteFile(path, []byte(`
[account]
aor = "sip:alice@127.0.0.1"
password_env = "TEST_ANYPHONE_PW"
[control]
listen = "127.0.0.1:7070"
token_env = "TEST_ANYPHONE_TOKEN"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := (&ConfigCheckCmd{}).Run(g, parent); err != nil {
		t.Fatalf("check: %v", err)
	}
	if !strings.Contains(out.String(), "ok") {
		t.Errorf("check output %q", out.String())
	}
	out.Reset()
	if err := (&ConfigShowCmd{}).Run(g, parent); err != nil {
		t.Fatalf("show: %v", err)
	}
	shown := out.String()
	for _, want := range []string{`aor = "sip:alice@127.0.0.1"`, `listen = "127.0.0.1:0"`, `transport = "udp"`, `device = "auto"`,
		"account password: from $TEST_ANYPHONE_PW (set)", "control token: from $TEST_ANYPHONE_TOKEN (set)"} {
		if !strings.Contains(shown, want) {
			t.Errorf("show output lacks %q:\n%s", want, shown)
		}
	}
	for _, secret := range []string{"hunter2", "tok-secret"} {
		if strings.Contains(shown, secret) {
			t.Errorf("show output reveals a secret:\n%s", shown)
		}
	}
	var back Config
	if _, err := toml.Decode(shown, &back); err != nil {
		t.Errorf("show output is not TOML: %v", err)
	}

	// check resolves the password: an unset variable fails, naming it.
	t.Setenv("TEST_ANYPHONE_PW", "")
	err = (&ConfigCheckCmd{}).Run(g, parent)
	if err == nil || !strings.Contains(err.Error(), "account.password_env") {
		t.Errorf("check with the password unset: %v", err)
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Errorf("check error %v, want exit status 2", err)
	}
}
