package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
)

// ctlFake is a ctl.Controller that records commands; its calls are
// settable. Events come from a zero cti.Service (Subscribe and Notify work
// without a phone).
type ctlFake struct {
	mu    sync.Mutex
	log   []string
	calls []cti.CallInfo
	bus   cti.Service
}

var _ ctl.Controller = (*ctlFake)(nil)

func (f *ctlFake) rec(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *ctlFake) recorded() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log, "|")
}

func (f *ctlFake) setCalls(calls ...cti.CallInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = calls
}

func (f *ctlFake) find(id cti.CallID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			return nil
		}
	}
	return fmt.Errorf("call %s: %w", id, cti.ErrNoSuchCall)
}

func (f *ctlFake) Dial(ctx context.Context, to string, o cti.DialOptions) (cti.CallID, error) {
	f.rec("dial %s %s", to, o.FromUser)
	return "c7", nil
}

func (f *ctlFake) Answer(ctx context.Context, id cti.CallID) error {
	f.rec("answer %s", id)
	return f.find(id)
}

func (f *ctlFake) Reject(ctx context.Context, id cti.CallID, code int, reason string) error {
	f.rec("reject %s %d %s", id, code, reason)
	return f.find(id)
}

func (f *ctlFake) Hangup(ctx context.Context, id cti.CallID) error {
	f.rec("hangup %s", id)
	return f.find(id)
}

func (f *ctlFake) HangupAll(ctx context.Context) error { f.rec("hangup_all"); return nil }

func (f *ctlFake) SendDTMF(ctx context.Context, id cti.CallID, digits string) error {
	f.rec("dtmf %s %s", id, digits)
	return f.find(id)
}

func (f *ctlFake) Mute(ctx context.Context, id cti.CallID, on bool) error { return nil }
func (f *ctlFake) Register(ctx context.Context) error                     { return nil }
func (f *ctlFake) Unregister(ctx context.Context) error                   { return nil }

func (f *ctlFake) Snapshot() cti.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cti.Snapshot{
		Calls:   append([]cti.CallInfo(nil), f.calls...),
		Regs:    []cti.RegInfo{{AOR: "sip:me@127.0.0.1", Registrar: "sip:127.0.0.1:5099", State: cti.RegRegistered}},
		Notices: []cti.Notice{{Level: cti.NoticeWarn, Text: "audio: null"}},
	}
}

func (f *ctlFake) Hold(ctx context.Context, id cti.CallID) error { return nil }
func (f *ctlFake) HoldWith(ctx context.Context, id cti.CallID, d cti.HoldDialect) error {
	return nil
}
func (f *ctlFake) Resume(ctx context.Context, id cti.CallID) error                  { return nil }
func (f *ctlFake) Transfer(ctx context.Context, id cti.CallID, target string) error { return nil }
func (f *ctlFake) Consult(ctx context.Context, id cti.CallID, target string) (cti.CallID, error) {
	f.rec("consult %s %s", id, target)
	return id + ".c", f.find(id)
}
func (f *ctlFake) Toggle(ctx context.Context, id cti.CallID) error { return nil }
func (f *ctlFake) CompleteTransfer(ctx context.Context, held, consult cti.CallID) error {
	f.rec("complete %s %s", held, consult)
	return f.find(held)
}
func (f *ctlFake) Conference(ctx context.Context, a, b cti.CallID) error { return nil }
func (f *ctlFake) Split(ctx context.Context, id cti.CallID) error {
	f.rec("split %s", id)
	return f.find(id)
}
func (f *ctlFake) AcceptRefer(ctx context.Context, id cti.CallID) error { return nil }
func (f *ctlFake) RejectRefer(ctx context.Context, id cti.CallID) error { return nil }

// The AnyDevice side: desk and mobile, desk active.
func (f *ctlFake) SetDevice(ctx context.Context, name string) error {
	f.rec("device %s", name)
	return nil
}
func (f *ctlFake) Devices(context.Context) ([]string, error) { return []string{"desk"}, nil }
func (f *ctlFake) DeviceList(context.Context) ([]cti.DeviceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mobile := "+4917000000"
	for _, l := range f.log {
		if t, ok := strings.CutPrefix(l, "target mobile "); ok {
			mobile = t
		}
	}
	return []cti.DeviceInfo{{Name: "desk", Target: "sip:me@127.0.0.1", Local: true}, {Name: "mobile", Target: mobile}}, nil
}
func (f *ctlFake) SetDeviceTarget(ctx context.Context, name, target string) error {
	f.rec("target %s %s", name, target)
	return nil
}
func (f *ctlFake) Move(ctx context.Context, id cti.CallID, device string) error {
	f.rec("move %s %s", id, device)
	return nil
}

var _ ctl.DeviceController = (*ctlFake)(nil)

func (f *ctlFake) Subscribe() *cti.Subscription { return f.bus.Subscribe() }

func (f *ctlFake) Call(id cti.CallID) (cti.CallInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			return c, true
		}
	}
	return cti.CallInfo{}, false
}

func (f *ctlFake) Dialogs() []cti.Dialog {
	return []cti.Dialog{{SIPCallID: "reg1@127.0.0.1", Method: "REGISTER", Peer: "127.0.0.1:5099", Messages: 4,
		Last: time.Date(2025, 3, 1, 12, 0, 0, 0, time.Local)}}
}

func (f *ctlFake) Ladder(id cti.CallID) []cti.SIPMessage {
	if id != "c1" {
		return nil
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return []cti.SIPMessage{
		{Time: at, Sent: false, Local: "127.0.0.1:5060", Remote: "127.0.0.1:5070", Summary: "INVITE", Raw: "INVITE sip:me@127.0.0.1 SIP/2.0\r\n"},
		{Time: at.Add(time.Millisecond), Sent: true, Local: "127.0.0.1:5060", Remote: "127.0.0.1:5070", Summary: "180 Ringing", Raw: "SIP/2.0 180 Ringing\r\n"},
	}
}

var (
	ringing = cti.CallInfo{ID: "c1", Direction: cti.Incoming, State: cti.CallIncoming, Remote: cti.Party{URI: "sip:alice@127.0.0.1"}}
	active  = cti.CallInfo{ID: "c2", Direction: cti.Outgoing, State: cti.CallActive, Remote: cti.Party{DisplayName: "Bob", URI: "sip:bob@127.0.0.1"}, Codec: "G722", SRTP: "AES_CM_128_HMAC_SHA1_80"}
	held    = cti.CallInfo{ID: "c3", Direction: cti.Outgoing, State: cti.CallActive, LocalHold: true, Remote: cti.Party{URI: "sip:carol@127.0.0.1"}}
)

// ctlEnv is a control server over a fake and a CtlCmd pointed at it.
type ctlEnv struct {
	f   *ctlFake
	srv *ctl.Server
	out *bytes.Buffer
	cmd *CtlCmd
	g   *Globals
}

func newCtlEnv(t *testing.T, token phone.Secret) *ctlEnv {
	t.Helper()
	clearConfigEnv(t)
	t.Setenv("ANYPHONE_CTL_ADDR", "")
	t.Setenv("ANYPHONE_CTL_TOKEN", "")
	f := &ctlFake{}
	srv, err := ctl.ServerConfig{Addr: "127.0.0.1:0", Token: token, Logger: slog.New(slog.DiscardHandler)}.Listen(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	out := &bytes.Buffer{}
	return &ctlEnv{
		f: f, srv: srv, out: out,
		cmd: &CtlCmd{Addr: srv.Addr(), Token: token, Timeout: 5 * time.Second, out: out},
		g:   &Globals{Config: filepath.Join(t.TempDir(), "none.toml")},
	}
}

func TestCtlCommands(t *testing.T) {
	tests := []struct {
		name    string
		calls   []cti.CallInfo
		run     func(e *ctlEnv) error
		wantLog string
		wantOut string
		wantErr string // in the error text; "" for success
	}{
		{"dial", nil, func(e *ctlEnv) error {
			return (&CtlDialCmd{To: "sip:bob@127.0.0.1:5070", FromUser: "100"}).Run(e.g, e.cmd)
		},
			"dial sip:bob@127.0.0.1:5070 100", "c7\n", ""},
		{"answer by id", []cti.CallInfo{ringing, active}, func(e *ctlEnv) error { return (&CtlAnswerCmd{ID: "c1"}).Run(e.g, e.cmd) },
			"answer c1", "c1\n", ""},
		{"answer the only ringing call", []cti.CallInfo{ringing, active}, func(e *ctlEnv) error { return (&CtlAnswerCmd{}).Run(e.g, e.cmd) },
			"answer c1", "c1\n", ""},
		{"answer with nothing ringing", []cti.CallInfo{active}, func(e *ctlEnv) error { return (&CtlAnswerCmd{}).Run(e.g, e.cmd) },
			"", "", "no call to answer"},
		{"answer an unknown call", nil, func(e *ctlEnv) error { return (&CtlAnswerCmd{ID: "zz"}).Run(e.g, e.cmd) },
			"answer zz", "", "no_such_call"},
		{"reject with code", []cti.CallInfo{ringing}, func(e *ctlEnv) error { return (&CtlRejectCmd{Code: 603, Reason: "Decline"}).Run(e.g, e.cmd) },
			"reject c1 603 Decline", "c1\n", ""},
		{"hangup the only call", []cti.CallInfo{active}, func(e *ctlEnv) error { return (&CtlHangupCmd{}).Run(e.g, e.cmd) },
			"hangup c2", "c2\n", ""},
		{"hangup with two calls", []cti.CallInfo{ringing, active}, func(e *ctlEnv) error { return (&CtlHangupCmd{}).Run(e.g, e.cmd) },
			"", "", "2 calls to hang up (c1, c2): name one"},
		{"hangup all", []cti.CallInfo{ringing, active}, func(e *ctlEnv) error { return (&CtlHangupCmd{All: true}).Run(e.g, e.cmd) },
			"hangup_all", "", ""},
		{"hangup id and all", nil, func(e *ctlEnv) error { return (&CtlHangupCmd{ID: "c1", All: true}).Run(e.g, e.cmd) },
			"", "", "not both"},
		{"dtmf", []cti.CallInfo{active}, func(e *ctlEnv) error { return (&CtlDTMFCmd{ID: "c2", Digits: "123#"}).Run(e.g, e.cmd) },
			"dtmf c2 123#", "", ""},
		{"dtmf bad digit", []cti.CallInfo{active}, func(e *ctlEnv) error { return (&CtlDTMFCmd{ID: "c2", Digits: "12x"}).Run(e.g, e.cmd) },
			"", "", "bad_request"},
		{"consult prints the consultation", []cti.CallInfo{active}, func(e *ctlEnv) error {
			return (&CtlConsultCmd{ID: "c2", Target: "+4930777"}).Run(e.g, e.cmd)
		},
			"consult c2 +4930777", "c2.c\n", ""},
		{"complete with the one other call", []cti.CallInfo{ringing, active, held}, func(e *ctlEnv) error { return (&CtlCompleteCmd{ID: "c3"}).Run(e.g, e.cmd) },
			"complete c3 c2", "c3\n", ""},
		{"complete names the consultation", []cti.CallInfo{active, held}, func(e *ctlEnv) error { return (&CtlCompleteCmd{ID: "c3", Other: "c9"}).Run(e.g, e.cmd) },
			"complete c3 c9", "c3\n", ""},
		{"complete with nothing to join", []cti.CallInfo{held}, func(e *ctlEnv) error { return (&CtlCompleteCmd{ID: "c3"}).Run(e.g, e.cmd) },
			"", "", "complete: 0 other established calls"},
		{"split", []cti.CallInfo{active}, func(e *ctlEnv) error { return (&CtlSplitCmd{ID: "c2"}).Run(e.g, e.cmd) },
			"split c2", "c2\n", ""},
		{"ladder", []cti.CallInfo{ringing}, func(e *ctlEnv) error { return (&CtlLadderCmd{ID: "c1"}).Run(e.g, e.cmd) },
			"", "12:00:00.000 <- 127.0.0.1:5070        INVITE\n12:00:00.001 -> 127.0.0.1:5070        180 Ringing\n", ""},
		{"ladder raw", []cti.CallInfo{ringing}, func(e *ctlEnv) error { return (&CtlLadderCmd{ID: "c1", Raw: true}).Run(e.g, e.cmd) },
			"", "12:00:00.000 <- 127.0.0.1:5070        INVITE\nINVITE sip:me@127.0.0.1 SIP/2.0\n12:00:00.001 -> 127.0.0.1:5070        180 Ringing\nSIP/2.0 180 Ringing\n", ""},
		{"target", nil, func(e *ctlEnv) error {
			return (&CtlTargetCmd{Device: "mobile", Target: "+4917012345"}).Run(e.g, e.cmd)
		},
			"target mobile +4917012345", "desk\tsip:me@127.0.0.1\nmobile\t+4917012345\n", ""},
		{"target without one", nil, func(e *ctlEnv) error { return (&CtlTargetCmd{Device: "mobile"}).Run(e.g, e.cmd) },
			"", "", "target: missing"},
		{"dialogs", nil, func(e *ctlEnv) error { return (&CtlDialogsCmd{}).Run(e.g, e.cmd) },
			"", "SIP CALL-ID     METHOD    PEER            MESSAGES  LAST\nreg1@127.0.0.1  REGISTER  127.0.0.1:5099  4         12:00:00.000\n", ""},
		{"ladder unknown call", nil, func(e *ctlEnv) error { return (&CtlLadderCmd{ID: "zz"}).Run(e.g, e.cmd) },
			"", "", "no_such_call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCtlEnv(t, "")
			e.f.setCalls(tt.calls...)
			err := tt.run(e)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			if got := e.f.recorded(); got != tt.wantLog {
				t.Errorf("%s: controller got %q, want %q", tt.name, got, tt.wantLog)
			}
			if got := e.out.String(); got != tt.wantOut {
				t.Errorf("%s: output %q, want %q", tt.name, got, tt.wantOut)
			}
		})
	}
}

// TestCtlLadderText (issue 13): ctl ladder --text writes the messages as
// sngrep's "save as txt": a header line per message (time, source ->
// destination), the raw message, an empty line; --pcap still writes a
// capture, and not both at once.
func TestCtlLadderText(t *testing.T) {
	e := newCtlEnv(t, "")
	e.f.setCalls(ringing)
	path := filepath.Join(t.TempDir(), "c1.txt")
	if err := (&CtlLadderCmd{ID: "c1", Text: path}).Run(e.g, e.cmd); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "2025/03/01 12:00:00.000000 127.0.0.1:5070 -> 127.0.0.1:5060\nINVITE sip:me@127.0.0.1 SIP/2.0\n\n" +
		"2025/03/01 12:00:00.001000 127.0.0.1:5060 -> 127.0.0.1:5070\nSIP/2.0 180 Ringing\n\n"
	if string(b) != want {
		t.Errorf("text export:\n%q\nwant\n%q", b, want)
	}
	if e.out.Len() != 0 {
		t.Errorf("printed %q as well", e.out.String())
	}
	pcap := filepath.Join(t.TempDir(), "c1.pcap")
	if err := (&CtlLadderCmd{ID: "c1", Pcap: pcap}).Run(e.g, e.cmd); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(pcap); err != nil || len(b) < 24+2*16 {
		t.Errorf("pcap %d bytes, %v", len(b), err)
	}
	if err := (&CtlLadderCmd{ID: "c1", Pcap: pcap, Text: path}).Run(e.g, e.cmd); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--pcap and --text: %v", err)
	}
}

func TestCtlStatus(t *testing.T) {
	e := newCtlEnv(t, "")
	e.f.setCalls(ringing, active)
	if err := (&CtlStatusCmd{}).Run(e.g, e.cmd); err != nil {
		t.Fatal(err)
	}
	out := e.out.String()
	for _, want := range []string{
		"CALL  DIRECTION  STATE     DEVICE  REMOTE",
		"DURATION  MEDIA",
		"c1    incoming   incoming  here    sip:alice@127.0.0.1",
		`c2    outgoing   active    here    "Bob" <sip:bob@127.0.0.1>`,
		"G722 SRTP",
		"sip:me@127.0.0.1  sip:127.0.0.1:5099  registered",
		"warn: audio: null",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "CALL" && f[len(f)-1] != "MEDIA",
			f[0] == "c1" && f[len(f)-1] != "-",
			f[0] == "c2" && strings.Join(f[len(f)-2:], " ") != "G722 SRTP":
			t.Errorf("media column (codec, SRTP) wrong in %q", line)
		}
	}
	e.out.Reset()
	if err := (&CtlStatusCmd{JSON: true}).Run(e.g, e.cmd); err != nil {
		t.Fatal(err)
	}
	var st statusView
	if err := json.Unmarshal(e.out.Bytes(), &st); err != nil || len(st.Calls) != 2 || st.Regs[0].State != "registered" {
		t.Errorf("status --json %s (%v)", e.out.String(), err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCtlEvents(t *testing.T) {
	e := newCtlEnv(t, "")
	out := &syncBuffer{}
	e.cmd.out = out
	done := make(chan error, 1)
	go func() { done <- (&CtlEventsCmd{Count: 2, Snapshot: true}).Run(e.g, e.cmd) }()
	// Notify until the subscription sees them: the command subscribes
	// asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), `"snapshot"`) {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.f.bus.Notify(cti.NoticeInfo, "one")
	e.f.bus.Notify(cti.NoticeWarn, "two")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("events: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events did not stop after --count 2")
	}
	var names, texts []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m struct{ Event, Text string }
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		names = append(names, m.Event)
		texts = append(texts, m.Text)
	}
	if strings.Join(names, ",") != "snapshot,notice,notice" || texts[1] != "one" || texts[2] != "two" {
		t.Errorf("events output:\n%s", out.String())
	}
}

func TestCtlEventsEndsWithServer(t *testing.T) {
	e := newCtlEnv(t, "")
	e.cmd.out = io.Discard
	done := make(chan error, 1)
	go func() { done <- (&CtlEventsCmd{}).Run(e.g, e.cmd) }()
	time.Sleep(100 * time.Millisecond)
	e.srv.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ctl.ErrClosed) {
			t.Errorf("events after the server closed: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events did not end with the server")
	}
}

func TestCtlTarget(t *testing.T) {
	e := newCtlEnv(t, "tok-1")
	e.f.setCalls(active)

	// Wrong token: refused.
	e.cmd.Token = "nope"
	if err := (&CtlStatusCmd{}).Run(e.g, e.cmd); !errors.Is(err, ctl.ErrUnauthorized) {
		t.Errorf("wrong token: %v, want ErrUnauthorized", err)
	}

	// Address and token from the config file ([control] listen, token_file).
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf("[control]\nlisten = %q\ntoken_file = %q\n", e.srv.Addr(), tokFile)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	e.cmd.Addr, e.cmd.Token = "", ""
	e.g.Config = cfg
	if err := (&CtlHangupCmd{}).Run(e.g, e.cmd); err != nil {
		t.Fatalf("hangup with the config's address and token: %v", err)
	}
	if got := e.f.recorded(); got != "hangup c2" {
		t.Errorf("controller got %q", got)
	}

	// A shared controller in [controller]: its URL, user and token file,
	// when there is no local control API.
	text = fmt.Sprintf("[controller]\nurl = \"ws://%s/ctl\"\nuser = \"alice\"\ntoken_file = %q\n", e.srv.Addr(), tokFile)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, user, token, err := e.cmd.target(e.g)
	if err != nil || addr != "ws://"+e.srv.Addr()+"/ctl" || user != "alice" || token != "tok-1" {
		t.Errorf("target from [controller] = %q %q %v (%v)", addr, user, token == "tok-1", err)
	}
	t.Setenv("ANYPHONE_CTL_TOKEN", "from-env")
	if _, _, token, _ := e.cmd.target(e.g); token != "from-env" {
		t.Errorf("ANYPHONE_CTL_TOKEN does not win over [controller] token_file")
	}
	t.Setenv("ANYPHONE_CTL_TOKEN", "")

	// No address anywhere: a clear usage error.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default config file either
	err = (&CtlStatusCmd{}).Run(&Globals{}, &CtlCmd{out: io.Discard})
	var ee *exitError
	if !errors.Is(err, errNoCtlAddr) && !(errors.As(err, &ee) && errors.Is(ee.err, errNoCtlAddr)) {
		t.Errorf("no address: %v, want errNoCtlAddr", err)
	}
	// A port-0 listen address cannot be dialled.
	if err := os.WriteFile(cfg, []byte("[control]\nlisten = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.g.Config = cfg
	if err := (&CtlStatusCmd{}).Run(e.g, e.cmd); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("port 0: %v, want a hint about --addr", err)
	}
}

// TestCtlAndConfigParse checks the kong tags: the commands parse as the
// docs show them, flags from the environment included.
func TestCtlAndConfigParse(t *testing.T) {
	type root struct {
		Globals
		Ctl    CtlCmd    `cmd:""`
		Config ConfigCmd `cmd:"" name:"config"`
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		command string
		check   func(r *root) bool
	}{
		{"dial", []string{"ctl", "--addr", "127.0.0.1:7070", "dial", "sip:bob@127.0.0.1"}, nil, "ctl dial <to>",
			func(r *root) bool { return r.Ctl.Addr == "127.0.0.1:7070" && r.Ctl.Dial.To == "sip:bob@127.0.0.1" }},
		{"answer without id", []string{"ctl", "answer"}, nil, "ctl answer", func(r *root) bool { return r.Ctl.Answer.ID == "" }},
		{"reject default code", []string{"ctl", "reject", "c1"}, nil, "ctl reject <id>",
			func(r *root) bool { return r.Ctl.Reject.Code == 486 && r.Ctl.Reject.ID == "c1" }},
		{"hangup all", []string{"ctl", "hangup", "--all"}, nil, "ctl hangup", func(r *root) bool { return r.Ctl.Hangup.All }},
		{"dtmf", []string{"ctl", "dtmf", "c1", "12#"}, nil, "ctl dtmf <id> <digits>",
			func(r *root) bool { return r.Ctl.DTMF.Digits == "12#" }},
		{"status json", []string{"ctl", "status", "--json"}, nil, "ctl status", func(r *root) bool { return r.Ctl.Status.JSON }},
		{"events", []string{"ctl", "events", "--count", "3"}, nil, "ctl events", func(r *root) bool { return r.Ctl.Events.Count == 3 }},
		{"ladder", []string{"ctl", "ladder", "c1", "--raw"}, nil, "ctl ladder <id>", func(r *root) bool { return r.Ctl.Ladder.Raw }},
		{"token from env", []string{"ctl", "status"}, map[string]string{"ANYPHONE_CTL_TOKEN": "t0k", "ANYPHONE_CTL_ADDR": "127.0.0.1:9"}, "ctl status",
			func(r *root) bool { return r.Ctl.Token.Reveal() == "t0k" && r.Ctl.Addr == "127.0.0.1:9" }},
		{"config init", []string{"config", "init", "--force", "--path", "/tmp/x.toml"}, nil, "config init",
			func(r *root) bool { return r.Config.Init.Force && r.Config.Init.Path == "/tmp/x.toml" }},
		{"config show", []string{"config", "show"}, nil, "config show", func(r *root) bool { return true }},
		{"config check", []string{"--config", "/tmp/c.toml", "config", "check"}, nil, "config check",
			func(r *root) bool { return r.Globals.Config == "/tmp/c.toml" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"ANYPHONE_CTL_TOKEN", "ANYPHONE_CTL_ADDR", "ANYPHONE_CONFIG"} {
				t.Setenv(k, tt.env[k])
			}
			var r root
			p, err := kong.New(&r, kong.Name("anyphone"), kong.Exit(func(int) { t.Fatalf("%s: kong exited", tt.name) }))
			if err != nil {
				t.Fatal(err)
			}
			kctx, err := p.Parse(tt.args)
			if err != nil {
				t.Fatalf("%s: parse %q: %v", tt.name, tt.args, err)
			}
			if kctx.Command() != tt.command || !tt.check(&r) {
				t.Errorf("%s: command %q, parsed %+v", tt.name, kctx.Command(), r.Ctl)
			}
		})
	}
}
