package cti_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone"
)

// TestLines: a connection's Line is its user's, made once per user and
// only for the right token; a wrong token or an unknown user gets no Line
// and is evented as refused by rule auth without the token; the Lines of
// two users are not the same; after Close no Line is opened and the
// users' subscriptions end.
func TestLines(t *testing.T) {
	ad, err := anydevice.New(anydevice.Config{
		Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true, Logger: quietLog()},
		Users: []anydevice.User{
			{ID: "alice", Token: "alice-secret", Numbers: []string{"+4989100"},
				Devices: []anydevice.Device{{Name: "mobile", Target: "sip:alice-mobile@127.0.0.1:9"}}},
			{ID: "bob", Token: "bob-secret", Numbers: []string{"+4989200"},
				Devices: []anydevice.Device{{Name: "desk", Target: "sip:bob-desk@127.0.0.1:9"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	events, unsub := ad.Subscribe(64)
	defer unsub()
	if err := ad.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = ad.Shutdown(ctx)
	})
	ls := cti.NewLines(ad, quietLog())

	for _, tc := range []struct{ user, token string }{
		{"alice", "guess"}, {"alice", ""}, {"alice", "bob-secret"}, {"mallory", "alice-secret"}, {"", ""},
	} {
		if l, err := ls.Open(tc.user, tc.token); err == nil || l != nil {
			t.Errorf("Open(%q, %q) = %v, %v; want refused", tc.user, tc.token, l, err)
		}
		select {
		case ev := <-events:
			r, ok := ev.(anydevice.Refused)
			if !ok || r.Rule != "auth" || r.User != tc.user {
				t.Errorf("Open(%q, %q): event %#v, want refused by auth for %q", tc.user, tc.token, ev, tc.user)
			}
			if tc.token != "" && strings.Contains(r.Detail, tc.token) {
				t.Errorf("the refusal names the token: %q", r.Detail)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Open(%q, %q): no refused event", tc.user, tc.token)
		}
	}

	a1, err := ls.Open("alice", "alice-secret")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := ls.Open("alice", "alice-secret")
	if err != nil || a2 != a1 {
		t.Errorf("alice's second connection got Line %p (%v), want her first %p", a2, err, a1)
	}
	b, err := ls.Open("bob", "bob-secret")
	if err != nil || b == a1 {
		t.Fatalf("bob's Line %p (%v), alice's %p: want a Line of his own", b, err, a1)
	}
	if devs, err := a1.DeviceList(t.Context()); err != nil || len(devs) != 1 || devs[0].Name != "mobile" {
		t.Errorf("alice's devices %+v (%v), want her mobile alone", devs, err)
	}
	var re *anydevice.RefusedError
	if err := b.SetDevice(t.Context(), "mobile"); !errors.As(err, &re) || re.Rule != "device-not-owned" {
		t.Errorf("bob sets alice's mobile active: %v, want refused by device-not-owned", err)
	}

	sub := a1.Subscribe()
	ls.Close()
	if _, err := ls.Open("alice", "alice-secret"); err == nil {
		t.Errorf("Open after Close succeeded")
	}
	for range sub.C { // drained until Close ends it
	}
}
