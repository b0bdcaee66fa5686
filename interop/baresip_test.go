package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// baresipOpts configures startBaresip.
type baresipOpts struct {
	User       string  // account user part (default "bob")
	Domain     string  // account host:port (default 127.0.0.1:<its SIP port>)
	Tone       float64 // Hz baresip sends, from an aufile WAV (default 440)
	AutoAnswer bool    // answermode=auto
	AuthPass   string  // digest password, if a proxy challenges
	Codecs     string  // the account's audio_codecs (default "PCMU"), e.g. "opus/48000/2"
	ToneRate   int     // sample rate of the tone WAV (default 8000)
	ToneStereo bool    // a two-channel tone WAV (aufile needs it for Opus)
	MediaEnc   string  // mediaenc of the account (srtp, srtp-mand), loads srtp.so
}

// baresip is a running baresip with a ctrl_tcp connection. What it hears is
// recorded by the sndfile module under RecDir (dump-TIME-dec.wav; -enc.wav
// is what it sends).
type baresip struct {
	*proc
	Dir      string
	RecDir   string
	SIPPort  int
	CtrlPort int
	AOR      string
	RTPPorts [2]int // first and last of its RTP port range

	conn   net.Conn
	mu     sync.Mutex
	msgs   []bsMsg
	eof    bool
	change chan struct{} // closed and replaced on every message; guarded by mu
}

// bsMsg is one ctrl_tcp message: an event or a command response.
type bsMsg struct {
	Event     bool   `json:"event"`
	Type      string `json:"type"`
	Class     string `json:"class"`
	PeerURI   string `json:"peeruri"`
	Param     string `json:"param"`
	Direction string `json:"direction"`
	Response  bool   `json:"response"`
	OK        bool   `json:"ok"`
	Data      string `json:"data"`
	Token     string `json:"token"`
	Raw       string `json:"-"`
}

// baresipConfig is a baresip 1.0.0 config for loopback without sound
// hardware (from /work/shared/peers/baresip.conf and BENCHMARKS.md).
const baresipConfig = `poll_method		epoll
sip_listen		127.0.0.1:{{SIP}}
net_interface		127.0.0.1
sip_transports		udp
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_source		aufile,{{TONE}}
audio_alert		aubridge,nil
rtp_ports		{{RTP0}}-{{RTP1}}
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			g722.so
module			opus.so
module			aufile.so
module			aubridge.so
module			sndfile.so
snd_path		{{REC}}
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{{CTRL}}
`

// startBaresip starts baresip on free ports and connects to its ctrl_tcp.
func startBaresip(t *testing.T, o baresipOpts) *baresip {
	t.Helper()
	bin := lookPeer(t, "baresip")
	if o.User == "" {
		o.User = "bob"
	}
	if o.Tone == 0 {
		o.Tone = 440
	}
	dir := t.TempDir()
	b := &baresip{Dir: dir, RecDir: filepath.Join(dir, "rec"), SIPPort: freePort(t, 1), CtrlPort: freePort(t, 1), change: make(chan struct{})}
	rtp := freePort(t, 20)
	b.RTPPorts = [2]int{rtp, rtp + 19}
	if err := os.Mkdir(b.RecDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tone := filepath.Join(dir, "tone.wav")
	tf := audio.Format{SampleRate: max(o.ToneRate, 8000), Channels: 1, Frame: audio.Narrowband.Frame}
	if o.ToneStereo {
		tf.Channels = 2
	}
	writeToneWAVFormat(t, tone, o.Tone, tf, 30*time.Second)
	cfg := strings.NewReplacer("{{SIP}}", strconv.Itoa(b.SIPPort), "{{TONE}}", tone,
		"{{RTP0}}", strconv.Itoa(rtp), "{{RTP1}}", strconv.Itoa(rtp+19),
		"{{REC}}", b.RecDir, "{{CTRL}}", strconv.Itoa(b.CtrlPort)).Replace(baresipConfig)
	if o.MediaEnc != "" {
		cfg += "module			srtp.so\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	domain := o.Domain
	if domain == "" {
		domain = fmt.Sprintf("127.0.0.1:%d", b.SIPPort)
	}
	b.AOR = fmt.Sprintf("sip:%s@%s", o.User, domain)
	if o.Codecs == "" {
		o.Codecs = "PCMU"
	}
	acct := fmt.Sprintf("<%s>;regint=0;audio_codecs=%s", b.AOR, o.Codecs)
	if o.AutoAnswer {
		acct += ";answermode=auto"
	}
	if o.AuthPass != "" {
		acct += ";auth_pass=" + o.AuthPass
	}
	if o.MediaEnc != "" {
		acct += ";mediaenc=" + o.MediaEnc
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.proc = startProc(t, bin, dir, nil, "-f", dir, "-t", "120")
	var conn net.Conn
	if !waitFor(5*time.Second, func() bool {
		var err error
		conn, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.CtrlPort), time.Second)
		return err == nil
	}) {
		t.Fatalf("baresip ctrl_tcp on %d never accepted (exited: %v)", b.CtrlPort, b.Exited())
	}
	b.conn = conn
	done := make(chan struct{})
	// The reader goroutine is owned by b; the cleanup closes conn and joins it.
	go func() {
		defer close(done)
		b.read(conn)
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
		if t.Failed() {
			b.mu.Lock()
			var s strings.Builder
			for _, m := range b.msgs {
				s.WriteString(m.Raw + "\n")
			}
			b.mu.Unlock()
			t.Logf("---- baresip ctrl_tcp messages:\n%s", s.String())
		}
	})
	return b
}

// read parses netstrings ("LEN:JSON,") until EOF.
func (b *baresip) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		n, err := readNetstring(br)
		if err != nil {
			break
		}
		m := bsMsg{Raw: string(n)}
		if err := json.Unmarshal(n, &m); err == nil {
			m.Raw = string(n)
		}
		b.mu.Lock()
		b.msgs = append(b.msgs, m)
		close(b.change)
		b.change = make(chan struct{})
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.eof = true
	close(b.change)
	b.change = make(chan struct{})
	b.mu.Unlock()
}

// errNetstring reports a malformed netstring.
var errNetstring = errors.New("interop: malformed netstring")

// readNetstring reads one netstring (RFC-less "LEN:DATA," framing).
func readNetstring(br *bufio.Reader) ([]byte, error) {
	head, err := br.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("%w: length %q", errNetstring, head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("%w: no trailing comma", errNetstring)
	}
	return buf[:n], nil
}

// Command sends a ctrl_tcp command (as baresip's long commands: "dial",
// "hangup", ...) and waits for its response.
func (b *baresip) Command(cmd, params string, timeout time.Duration) (bsMsg, error) {
	b.mu.Lock()
	token := fmt.Sprintf("t%d", len(b.msgs))
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": token})
	var frame bytes.Buffer
	fmt.Fprintf(&frame, "%d:%s,", len(body), body)
	if _, err := b.conn.Write(frame.Bytes()); err != nil {
		return bsMsg{}, err
	}
	m, err := b.Wait(func(m bsMsg) bool { return m.Response && m.Token == token }, timeout)
	if err != nil {
		return m, fmt.Errorf("baresip %s %s: %w", cmd, params, err)
	}
	if !m.OK {
		return m, fmt.Errorf("baresip %s %s: not ok: %s", cmd, params, m.Raw)
	}
	return m, nil
}

// Wait returns the first message (since start) that satisfies pred.
func (b *baresip) Wait(pred func(bsMsg) bool, timeout time.Duration) (bsMsg, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		for _, m := range b.msgs {
			if pred(m) {
				b.mu.Unlock()
				return m, nil
			}
		}
		eof, ch := b.eof, b.change
		b.mu.Unlock()
		if eof {
			return bsMsg{}, errors.New("ctrl_tcp connection closed")
		}
		select {
		case <-ch:
		case <-deadline.C:
			return bsMsg{}, fmt.Errorf("timeout after %v", timeout)
		}
	}
}

// WaitEvent waits for an event of type typ (CALL_ESTABLISHED, CALL_CLOSED ...).
func (b *baresip) WaitEvent(typ string, timeout time.Duration) (bsMsg, error) {
	m, err := b.Wait(func(m bsMsg) bool { return m.Event && m.Type == typ }, timeout)
	if err != nil {
		return m, fmt.Errorf("baresip event %s: %w", typ, err)
	}
	return m, nil
}

// Heard returns the sndfile recording of what baresip received (the single
// *-dec.wav), waiting up to 3 s for it to appear.
func (b *baresip) Heard(t *testing.T) string {
	t.Helper()
	var files []string
	waitFor(3*time.Second, func() bool {
		files, _ = filepath.Glob(filepath.Join(b.RecDir, "*-dec.wav"))
		return len(files) > 0
	})
	if len(files) != 1 {
		t.Fatalf("baresip recordings of received audio: %v", files)
	}
	return files[0]
}

// toneEvent matches the endpoint's tone report for hz with detected=true.
func toneEvent(hz float64) func(Event) bool {
	return func(ev Event) bool { return ev.Event == "tone" && ev.Hz == hz && ev.Detected }
}

// TestBaresipCallsAnyphone: baresip dials the endpoint, which answers, plays
// 1000 Hz and hangs up after 3 s; each side must have heard the other's tone.
func TestBaresipCallsAnyphone(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 440})
	ep := startEndpoint(t, "--audio", "tone:1000", "--hangup-after", "3s", "--expect-tone", "440",
		"--expect-calls", "1", "--exit-after", "20s")
	if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	code, sum, err := ep.Wait(10 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	if _, err := ep.WaitEvent(toneEvent(440), time.Second); err != nil {
		t.Errorf("endpoint did not hear baresip's 440 Hz: %v", err)
	}
	assertTone(t, bs.Heard(t), 1000, 1500*time.Millisecond)
}

// TestAnyphoneCallsBaresip: the endpoint dials an auto-answering baresip and
// hangs up after 3 s; each side must have heard the other's tone.
func TestAnyphoneCallsBaresip(t *testing.T) {
	bs := startBaresip(t, baresipOpts{Tone: 440, AutoAnswer: true})
	ep := startEndpoint(t, "--dial", bs.AOR, "--audio", "tone:1000", "--hangup-after", "3s",
		"--expect-tone", "440", "--expect-calls", "1", "--exit-after", "20s")
	code, sum, err := ep.Wait(20 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	if _, err := ep.WaitEvent(toneEvent(440), time.Second); err != nil {
		t.Errorf("endpoint did not hear baresip's 440 Hz: %v", err)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, bs.Heard(t), 1000, 1500*time.Millisecond)
}
