package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone/phonetest/ports"
)

// baresipConfig is a baresip 1.0 config for loopback without sound
// hardware: it rings until told to accept over ctrl_tcp and sends back what
// it hears (aubridge's "nil" player feeds its "nil" source). After interop's
// harness, copied: e2e must not import test code.
const baresipConfig = `poll_method		epoll
sip_listen		127.0.0.1:{{SIP}}
net_interface		127.0.0.1
sip_transports		udp
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_source		aubridge,nil
audio_alert		aubridge,nil
rtp_ports		{{RTP0}}-{{RTP1}}
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			aubridge.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{{CTRL}}
`

// e2ePorts keeps freeUDPPort from handing out a port twice in this binary.
var e2ePorts struct {
	sync.Mutex
	used map[int]bool
}

// freeUDPPort returns a port on 127.0.0.1 free for UDP and TCP and, with
// span > 1, the span-1 ports after it too (never 5060), below the kernel's
// ephemeral range, where no socket bound to port 0 beside this test takes
// one before the peer binds it.
func freeUDPPort(t *testing.T, span int) int {
	t.Helper()
	e2ePorts.Lock()
	defer e2ePorts.Unlock()
	base, err := ports.Free(span, func(p int) bool { return e2ePorts.used[p] })
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	if e2ePorts.used == nil {
		e2ePorts.used = map[int]bool{}
	}
	for p := base; p < base+span; p++ {
		e2ePorts.used[p] = true
	}
	return base
}

// startBaresip runs baresip on 127.0.0.1 and returns the URI to dial and
// accept, which answers the call ringing there (baresip's ctrl_tcp
// "accept"). Under CI a missing baresip fails the test; elsewhere, with
// -short, it skips.
func startBaresip(t *testing.T) (uri string, accept func()) {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		msg := "missing baresip (make test installs it)"
		if os.Getenv("CI") == "true" || !testing.Short() {
			t.Fatal(msg)
		}
		t.Skip(msg + " (-short)")
	}
	dir := t.TempDir()
	sip, rtp, ctrl := freeUDPPort(t, 1), freeUDPPort(t, 20), freeTCPPort(t)
	cfg := strings.NewReplacer("{{SIP}}", strconv.Itoa(sip), "{{RTP0}}", strconv.Itoa(rtp), "{{RTP1}}", strconv.Itoa(rtp+19),
		"{{CTRL}}", strconv.Itoa(ctrl)).Replace(baresipConfig)
	uri = fmt.Sprintf("sip:bob@127.0.0.1:%d", sip)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte("<"+uri+">;regint=0;audio_codecs=PCMU;answermode=manual\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-f", dir, "-t", "120")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe() // kept open: the menu module reads it
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	done := make(chan struct{})
	go func() {
		// The waiter: owned by this test, joined in the cleanup.
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("baresip output:\n%s", out.String())
		}
	})
	// baresip is ready when its SIP port is taken.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", sip))
		if err != nil {
			break
		}
		c.Close()
		select {
		case <-done:
			t.Fatalf("baresip exited at start:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip never listened on %d:\n%s", sip, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var conn net.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		if conn, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctrl), time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp on %d never accepted: %v\n%s", ctrl, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := make(chan struct{})
	go func() { // owned by this test: ends when the cleanup closes conn
		defer close(drained)
		_, _ = io.Copy(io.Discard, conn) // responses and events: the screen is what we check
	}()
	t.Cleanup(func() { conn.Close(); <-drained })
	accept = func() {
		body := `{"command":"accept","params":"","token":"e2e"}`
		if _, err := fmt.Fprintf(conn, "%d:%s,", len(body), body); err != nil {
			t.Errorf("baresip accept: %v", err)
		}
	}
	return uri, accept
}

// freeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTUIAgainstBaresip dials baresip from the real TUI and follows the
// call on the screen through ringing (baresip accepts only once the TUI
// shows it), active, hold, resume, the SIP ladder and hang up.
func TestTUIAgainstBaresip(t *testing.T) {
	bin, tmux := need(t)
	uri, accept := startBaresip(t)
	tm := startTUI(t, bin, tmux)
	followCall(t, tm, uri, accept)
	tm.quit()
}
