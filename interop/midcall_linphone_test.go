package interop

// Issue 3 against linphonec (Debian linphone-cli): the transferee of a
// blind transfer. linphonec re-INVITEs to hold the call before it acts on
// the REFER; the endpoint must accept that.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/ctl"
)

// linphonercTemplate is /work/shared/peers/linphonerc with its ports filled
// per run: linphonec without a sound card, bound to loopback, no video.
const linphonercTemplate = `[sip]
sip_port={{SIP}}
sip_tcp_port=-1
sip_tls_port=-1
bind_address=127.0.0.1
guess_hostname=0
contact=sip:{{USER}}@127.0.0.1:{{SIP}}
default_proxy=-1
register_only_when_network_is_up=0
inc_timeout=20
max_calls=2
{{SIPEXTRA}}

[rtp]
audio_rtp_port={{RTP0}}-{{RTP1}}
video_rtp_port={{VRTP0}}-{{VRTP1}}

[net]
firewall_policy=0

[sound]
echocancellation=0

[video]
enabled=0
capture=0
display=0
`

// linphonec is a running linphonec with its stdin (its command line).
type linphonec struct {
	*proc
	in   io.WriteCloser
	Port int
	URI  string
}

// startLinphonec starts an auto-answering linphonec as user on free ports,
// with HOME in a temp dir (it needs $HOME/.local/share/linphone or it never
// opens its SIP socket), and waits for its SIP port to be bound.
func startLinphonec(t *testing.T, user string) *linphonec {
	t.Helper()
	return startLinphonecWith(t, user, "")
}

// startLinphonecWith is startLinphonec with sipExtra added to the [sip]
// section of its linphonerc (e.g. media_encryption=srtp).
func startLinphonecWith(t *testing.T, user, sipExtra string) *linphonec {
	t.Helper()
	bin := lookPeer(t, "linphonec")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".local", "share", "linphone"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &linphonec{Port: freePort(t, 1)}
	rtp, vrtp := freePort(t, 10), freePort(t, 10)
	rc := strings.NewReplacer("{{SIP}}", fmt.Sprint(l.Port), "{{USER}}", user,
		"{{RTP0}}", fmt.Sprint(rtp), "{{RTP1}}", fmt.Sprint(rtp+9),
		"{{VRTP0}}", fmt.Sprint(vrtp), "{{VRTP1}}", fmt.Sprint(vrtp+9), "{{SIPEXTRA}}", sipExtra).Replace(linphonercTemplate)
	rcPath := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "linphonec.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", rcPath, "-a", "-d", "6", "-l", filepath.Join(dir, "linphonec.log"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start %s -c %s -a", bin, rcPath)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start linphonec: %v", err)
	}
	p := &proc{name: "linphonec", cmd: cmd, outPath: out.Name(), done: make(chan struct{})}
	// The waiter goroutine is owned by p; it ends when the process exits,
	// which the cleanup guarantees.
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	l.proc, l.in = p, in
	l.URI = fmt.Sprintf("sip:%s@127.0.0.1:%d", user, l.Port)
	t.Cleanup(func() {
		_, _ = io.WriteString(in, "quit\n")
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
		}
		p.Stop()
		if t.Failed() {
			t.Logf("---- linphonec output:\n%s", tail(p.outPath, 8<<10))
			t.Logf("---- linphonec log:\n%s", tail(filepath.Join(dir, "linphonec.log"), 24<<10))
		}
	})
	if !waitFor(10*time.Second, func() bool { return !portFree(l.Port) || p.Exited() }) || p.Exited() {
		t.Fatalf("linphonec never bound 127.0.0.1:%d (exited: %v)", l.Port, p.Exited())
	}
	return l
}

// TestLinphonecBlindTransferee: the endpoint calls an auto-answering
// linphonec and REFERs it to a second endpoint. linphonec holds the call
// (re-INVITE), calls the target and NOTIFies 200; the target gets
// linphonec's call and the first endpoint's call ends as transferred.
func TestLinphonecBlindTransferee(t *testing.T) {
	lp := startLinphonec(t, "lin")
	target := startEndpoint(t, "--name", "target")
	ep := startEndpoint(t, "--name", "transferor", "--dial", lp.URI, "--script", "refer:"+target.URI+"@2s",
		"--exit-after", "30s")

	first, err := ep.WaitEvent(midPred(midCallIs("", "active")), 10*time.Second)
	if err != nil {
		t.Fatalf("linphonec never answered: %v", err)
	}
	id := mid(first).Call.ID
	// linphonec's call reaches the target: it comes from linphonec, with
	// our Referred-By.
	in, err := target.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "active")(m) && m.Call.Direction == "incoming"
	}), 15*time.Second)
	if err != nil {
		t.Fatalf("target never got linphonec's call: %v", err)
	}
	if m := mid(in); m.Call.Remote.User != "lin" {
		t.Errorf("target's call is from %q, want linphonec (lin): %s", m.Call.Remote.URI, in.Raw)
	}
	if !strings.Contains(in.Raw, "transferor") {
		t.Errorf("target's call carries no Referred-By naming the transferor: %s", in.Raw)
	}
	// The transferor saw the progress and ended its leg as transferred.
	fin, err := ep.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventTransferProgress && m.Final }), 10*time.Second)
	if err != nil {
		t.Fatalf("no final transfer event: %v", err)
	}
	if m := mid(fin); !m.OK || m.Code != 200 || m.CallID != id || !sameURI(m.Target, target.URI) {
		t.Errorf("final transfer event %s; want ok, 200, call %s, target %s", fin.Raw, id, target.URI)
	}
	end, err := ep.WaitEvent(midPred(midCallIs(id, "ended")), 10*time.Second)
	if err != nil {
		t.Fatalf("transferor's call never ended: %v", err)
	}
	if e := mid(end).Call.End; e == nil || e.Cause != "transferred" {
		t.Errorf("transferor's call ended %s; want transferred", end.Raw)
	}
	// linphonec's hold before it acted on the REFER was accepted: the call
	// showed "held by remote" and still ended as transferred.
	if _, err := ep.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs(id, "active")(m) && m.Call.RemoteHold
	}), time.Second); err != nil {
		t.Errorf("transferor never saw linphonec's hold re-INVITE: %v", err)
	}
}
