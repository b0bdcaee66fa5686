package ctl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/phone/vocab"
)

// TestRemoteReconnects: a Remote (the TUI attached to a shared controller)
// whose server goes away says so, dials again with back-off, and when the
// server is back says so and publishes Lagged so the front end takes a
// fresh Snapshot; commands work again.
func TestRemoteReconnects(t *testing.T) {
	const token = vocab.Secret("s3cret")
	s1 := listen(t, token, newFake())
	addr := s1.Addr()
	r, err := NewRemote(t.Context(), func(ctx context.Context) (*Client, error) { return Dial(ctx, addr, token) })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sub := r.Subscribe()
	if n := len(r.Snapshot().Calls); n != 2 {
		t.Fatalf("snapshot has %d calls, want the fake's 2", n)
	}
	wait := func(what string, pred func(api.Event) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-sub.C:
				if pred(ev) {
					return
				}
			case <-deadline:
				t.Fatalf("waiting for %s", what)
			}
		}
	}
	notice := func(text string) func(api.Event) bool {
		return func(ev api.Event) bool { n, ok := ev.(api.Notice); return ok && strings.Contains(n.Text, text) }
	}
	s1.Close()
	wait("the lost-connection notice", notice("controller connection lost"))
	if err := r.HangupAll(t.Context()); err == nil {
		t.Error("a command while the controller is away succeeded")
	}
	s2, err := ServerConfig{Addr: addr, Token: token, Logger: quiet()}.Listen(t.Context(), newFake())
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	defer s2.Close()
	wait("the reconnected notice", notice("reconnected"))
	wait("Lagged, for a fresh snapshot", func(ev api.Event) bool { _, ok := ev.(api.Lagged); return ok })
	if n := len(r.Snapshot().Calls); n != 2 {
		t.Errorf("snapshot after reconnecting has %d calls, want 2", n)
	}
	if err := r.HangupAll(t.Context()); err != nil {
		t.Errorf("a command after reconnecting: %v", err)
	}
}
