package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kamailio is a running kamailio registrar/proxy on loopback.
type kamailio struct {
	*proc
	Port int
	ctl  string // binrpc unix socket
}

// startKamailio runs testdata/kamailio.cfg on a free port (WITH_AUTH when
// withAuth: every password is "secret") and waits until kamcmd answers.
func startKamailio(t *testing.T, withAuth bool) *kamailio {
	t.Helper()
	return startKamailioOn(t, freePort(t, 1), withAuth)
}

// startKamailioOn is startKamailio on port (to restart one where it was).
func startKamailioOn(t *testing.T, port int, withAuth bool) *kamailio {
	t.Helper()
	bin := lookPeer(t, "kamailio")
	lookPeer(t, "kamcmd")
	dir := t.TempDir()
	k := &kamailio{Port: port, ctl: filepath.Join(dir, "kamailio.ctl")}
	tmpl, err := os.ReadFile("testdata/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("{{PORT}}", strconv.Itoa(k.Port), "{{CTL}}", k.ctl).Replace(string(tmpl))
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", cfgPath, "-DD", "-E", "-w", dir, "-Y", dir}
	if withAuth {
		args = append(args, "-A", "WITH_AUTH")
	}
	k.proc = startProc(t, bin, dir, nil, args...)
	if !waitFor(10*time.Second, func() bool { _, err := k.cmd("core.version"); return err == nil }) {
		t.Fatalf("kamailio ctl socket %s never answered (exited: %v)", k.ctl, k.Exited())
	}
	return k
}

// cmd runs kamcmd against this kamailio.
func (k *kamailio) cmd(args ...string) (string, error) {
	full := append([]string{"-s", "unix:" + k.ctl}, args...)
	c := exec.Command("kamcmd", full...)
	c.WaitDelay = 2 * time.Second
	out, err := c.CombinedOutput()
	return string(out), err
}

var contactAddr = regexp.MustCompile(`(?m)^\s*Address:\s*(\S+)`)

// Bindings returns the contact addresses registered for aor's user part
// ("alice"), from `kamcmd ul.dump`.
func (k *kamailio) Bindings(t *testing.T, user string) []string {
	t.Helper()
	out, err := k.cmd("ul.dump")
	if err != nil {
		t.Fatalf("kamcmd ul.dump: %v\n%s", err, out)
	}
	var addrs []string
	// AoR blocks: "AoR: alice" followed by its Contacts until the next AoR.
	blocks := strings.Split(out, "AoR: ")
	for _, b := range blocks[1:] {
		name, rest, _ := strings.Cut(b, "\n")
		if strings.TrimSpace(name) != user {
			continue
		}
		for _, m := range contactAddr.FindAllStringSubmatch(rest, -1) {
			addrs = append(addrs, m[1])
		}
	}
	return addrs
}

// hasPort reports whether one of the contact addresses is on 127.0.0.1:port.
func hasPort(addrs []string, port int) bool {
	needle := fmt.Sprintf("@127.0.0.1:%d", port)
	for _, a := range addrs {
		if strings.Contains(a, needle) || strings.Contains(a, fmt.Sprintf("sip:127.0.0.1:%d", port)) {
			return true
		}
	}
	return false
}

// isRegistered matches registration events in state registered.
func isRegistered(ev Event) bool {
	return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
}

// TestKamailioRegistrar: the endpoint registers as alice with digest auth at
// kamailio and refreshes a short expiry; sipp registers a second contact for
// alice; baresip calls alice through kamailio and the endpoint answers
// (tones checked both ways); on SIGTERM the endpoint removes only its own
// binding.
func TestKamailioRegistrar(t *testing.T) {
	k := startKamailio(t, true)
	aor := fmt.Sprintf("sip:alice@127.0.0.1:%d", k.Port)
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", k.Port)

	ep := startEndpointEnv(t, []string{"INTEROP_ALICE_PW=secret"},
		"--account", aor, "--registrar", registrar, "--password-env", "INTEROP_ALICE_PW",
		"--expiry", "4s", "--audio", "tone:1000", "--hangup-after", "3s", "--expect-tone", "440")
	epPort := mustPort(t, ep.Addr)
	if _, err := ep.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("endpoint never registered: %v", err)
	}
	if b := k.Bindings(t, "alice"); !hasPort(b, epPort) {
		t.Fatalf("kamailio bindings for alice %v lack the endpoint on port %d", b, epPort)
	}

	// A refresh of the 4 s binding: a second "registered" event, or at
	// least two authenticated REGISTERs from the endpoint in kamailio's log
	// (each registration is a challenge and an authenticated retry).
	_, err := ep.WaitEvents(isRegistered, 2, 8*time.Second)
	from := fmt.Sprintf("REQ REGISTER %s from 127.0.0.1:%d", registrar, epPort)
	if n := strings.Count(k.Output(), from); err != nil && n < 3 {
		t.Fatalf("no refresh within 8 s: %v; %d REGISTERs from the endpoint in kamailio's log", err, n)
	}

	// A second client binds the same AOR.
	other := startSipp(t, "testdata/sipp-register.xml", fmt.Sprintf("127.0.0.1:%d", k.Port),
		"-s", "alice", "-au", "alice", "-ap", "secret", "-m", "1")
	if code, err := other.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp REGISTER: exit %d, %v", code, err)
	}
	if b := k.Bindings(t, "alice"); !hasPort(b, epPort) || !hasPort(b, other.Port) {
		t.Fatalf("bindings for alice %v: want the endpoint (%d) and sipp (%d)", b, epPort, other.Port)
	}

	// baresip calls alice through kamailio; the endpoint answers.
	bs := startBaresip(t, baresipOpts{Tone: 440, AuthPass: "secret"})
	if _, err := bs.Command("dial", aor, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.WaitEvent(isCall("active"), 10*time.Second); err != nil {
		t.Fatalf("the call through kamailio never became active: %v", err)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.WaitEvent(toneEvent(440), 3*time.Second); err != nil {
		t.Errorf("endpoint did not hear baresip's 440 Hz through kamailio: %v", err)
	}
	assertTone(t, bs.Heard(t), 1000, 1500*time.Millisecond)

	// SIGTERM: the endpoint removes its own binding, sipp's stays.
	if err := ep.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, sum, err := ep.Wait(10 * time.Second)
	if err != nil {
		t.Fatalf("endpoint after SIGTERM: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Errorf("endpoint exit %d, summary %+v; want 0, ok, 1 answered", code, sum)
	}
	b := k.Bindings(t, "alice")
	if hasPort(b, epPort) {
		t.Errorf("after SIGTERM the endpoint's binding (port %d) is still there: %v", epPort, b)
	}
	if !hasPort(b, other.Port) {
		t.Errorf("after the endpoint's SIGTERM sipp's binding (port %d) is gone: %v", other.Port, b)
	}
}

// mustPort returns the port of a host:port address.
func mustPort(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	p, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("bad address %q", addr)
	}
	return p
}
