package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKamailioLostBindingReregister (issue 13): kamailio loses the
// endpoint's binding (kamcmd ul.rm, as after a registrar restart without
// persistence) while the endpoint still shows registered with a long
// expiry. The register command (the TUI's :register) must register again
// at once, and the endpoint must notice and say that the binding was lost.
func TestKamailioLostBindingReregister(t *testing.T) {
	k := startKamailio(t, true)
	aor := fmt.Sprintf("sip:alice@127.0.0.1:%d", k.Port)
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", k.Port)
	ep := startEndpointEnv(t, []string{"INTEROP_ALICE_PW=secret"},
		"--account", aor, "--registrar", registrar, "--password-env", "INTEROP_ALICE_PW", "--expiry", "600s")
	epPort := mustPort(t, ep.Addr)
	if _, err := ep.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("endpoint never registered: %v", err)
	}
	if b := k.Bindings(t, "alice"); !hasPort(b, epPort) {
		t.Fatalf("kamailio bindings for alice %v lack the endpoint on port %d", b, epPort)
	}

	if out, err := k.cmd("ul.rm", "location", "alice"); err != nil {
		t.Fatalf("kamcmd ul.rm location alice: %v\n%s", err, out)
	}
	if b := k.Bindings(t, "alice"); hasPort(b, epPort) {
		t.Fatalf("binding still there after ul.rm: %v", b)
	}

	if err := ep.Send(map[string]any{"id": "1", "cmd": "register"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return ev.Event == "notice" && strings.Contains(ev.Raw, "lost our binding")
	}, 10*time.Second); err != nil {
		t.Errorf("no notice that the registrar lost the binding: %v", err)
	}
	if !waitFor(10*time.Second, func() bool { return hasPort(k.Bindings(t, "alice"), epPort) }) {
		t.Fatalf("register did not restore the binding at kamailio: %v", k.Bindings(t, "alice"))
	}
	if _, err := ep.WaitEvents(isRegistered, 2, 5*time.Second); err != nil {
		t.Errorf("no second registered event: %v", err)
	}
}

// TestKamailioLostBindingAtRefresh: without any command, the next refresh
// of a short binding notices that kamailio lost it, says so, and binds
// again.
func TestKamailioLostBindingAtRefresh(t *testing.T) {
	k := startKamailio(t, true)
	aor := fmt.Sprintf("sip:alice@127.0.0.1:%d", k.Port)
	ep := startEndpointEnv(t, []string{"INTEROP_ALICE_PW=secret"},
		"--account", aor, "--registrar", fmt.Sprintf("sip:127.0.0.1:%d", k.Port), "--password-env", "INTEROP_ALICE_PW", "--expiry", "4s")
	epPort := mustPort(t, ep.Addr)
	if _, err := ep.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("endpoint never registered: %v", err)
	}
	if out, err := k.cmd("ul.rm", "location", "alice"); err != nil {
		t.Fatalf("kamcmd ul.rm location alice: %v\n%s", err, out)
	}
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return ev.Event == "notice" && strings.Contains(ev.Raw, "lost our binding")
	}, 8*time.Second); err != nil {
		t.Errorf("the refresh did not notice the lost binding: %v", err)
	}
	if !waitFor(5*time.Second, func() bool { return hasPort(k.Bindings(t, "alice"), epPort) }) {
		t.Fatalf("the binding was not restored: %v", k.Bindings(t, "alice"))
	}
}
