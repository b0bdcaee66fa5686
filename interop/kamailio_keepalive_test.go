package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKamailioKeepaliveNoticesLostRegistrar (issue 13): the endpoint,
// registered at kamailio for 600 s, sends OPTIONS every 2 s; kamailio is
// stopped, and the endpoint says the registrar is unreachable (state
// retrying) within keepalive + the 10 s request timeout, long before any
// refresh. kamailio restarts on the same port without the old binding
// (no persistence) and the endpoint registers again on its own.
func TestKamailioKeepaliveNoticesLostRegistrar(t *testing.T) {
	const keepalive = 2 * time.Second
	const requestTimeout = 10 * time.Second // phone's regDefaultTimeout
	k := startKamailio(t, true)
	aor := fmt.Sprintf("sip:alice@127.0.0.1:%d", k.Port)
	ep := startEndpointEnv(t, []string{"INTEROP_ALICE_PW=secret"},
		"--account", aor, "--registrar", fmt.Sprintf("sip:127.0.0.1:%d", k.Port), "--password-env", "INTEROP_ALICE_PW",
		"--expiry", "600s", "--keepalive", keepalive.String())
	epPort := mustPort(t, ep.Addr)
	if _, err := ep.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("endpoint never registered: %v", err)
	}
	// A few keepalives answered by kamailio leave the registration alone.
	time.Sleep(2*keepalive + time.Second)
	if _, err := ep.WaitEvent(isUnreachable, 0); err == nil {
		t.Fatalf("registrar called unreachable while kamailio answered")
	}

	k.Stop()
	stopped := time.Now()
	ev, err := ep.WaitEvent(isUnreachable, keepalive+requestTimeout+3*time.Second)
	if err != nil {
		t.Fatalf("stopped registrar not noticed within %s: %v", keepalive+requestTimeout+3*time.Second, err)
	}
	noticed := time.Since(stopped)
	t.Logf("registrar stopped; noticed after %s: %s", noticed.Round(10*time.Millisecond), ev.Registration.Err)
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return ev.Event == "notice" && strings.Contains(ev.Raw, "unreachable")
	}, 2*time.Second); err != nil {
		t.Errorf("no notice that the registrar is unreachable: %v", err)
	}

	k2 := startKamailioOn(t, k.Port, true)
	restarted := time.Now()
	if b := k2.Bindings(t, "alice"); hasPort(b, epPort) {
		t.Fatalf("restarted kamailio still has the binding: %v", b)
	}
	if !waitFor(40*time.Second, func() bool { return hasPort(k2.Bindings(t, "alice"), epPort) }) {
		t.Fatalf("the endpoint did not register at the restarted kamailio: %v", k2.Bindings(t, "alice"))
	}
	t.Logf("registered again %s after the restart", time.Since(restarted).Round(10*time.Millisecond))
	if _, err := ep.WaitEvents(isRegistered, 2, 5*time.Second); err != nil {
		t.Errorf("no registered event after the restart: %v", err)
	}
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return ev.Event == "notice" && strings.Contains(ev.Raw, "registered again")
	}, 2*time.Second); err != nil {
		t.Errorf("no notice that the phone registered again: %v", err)
	}
}

// isUnreachable matches a registration retrying because the registrar
// did not answer.
func isUnreachable(ev Event) bool {
	return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "retrying" &&
		strings.Contains(ev.Registration.Err, "unreachable")
}
