package cti_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startPhone starts a Service named name on 127.0.0.1:0.
func startPhone(t *testing.T, name string) *cti.Service {
	t.Helper()
	svc, err := cti.New(cti.Options{Logger: quietLog(), Phone: phone.Config{Name: name, Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	return svc
}

// waitCalls waits until svc has n calls.
func waitCalls(t *testing.T, svc *cti.Service, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(svc.Snapshot().Calls) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d calls, want %d", what, len(svc.Snapshot().Calls), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDialRoutesThroughActiveDevice: a dial over the control API goes
// out on the local line while desk is active, and becomes an AnyDevice
// callback (the mobile rings, this phone has no call) while the mobile is
// active.
func TestDialRoutesThroughActiveDevice(t *testing.T) {
	tests := []struct {
		name       string
		route      bool   // connect the controller
		active     string // the user's active device
		wantDevice string // "" for a local call
	}{
		{"no controller: local call", false, "mobile", ""},
		{"desk active: local call", true, "desk", ""},
		{"mobile active: callback", true, "mobile", "mobile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			me := startPhone(t, "me")
			mobile := startPhone(t, "mobile")
			bob := startPhone(t, "bob")
			ad, err := anydevice.New(anydevice.Config{
				Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true, Logger: quietLog()},
				Users: []anydevice.User{{ID: "me", Numbers: []string{"+4930123456"},
					Devices: []anydevice.Device{{Name: "desk", Target: me.URI()}, {Name: "mobile", Target: mobile.URI()}},
					Active:  []string{tt.active}, Policy: anydevice.Policy{URIs: true}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := ad.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_ = ad.Shutdown(ctx)
			})
			if tt.route {
				me.SetAnyDevice(cti.AnyDeviceRoute{Controller: ad, User: "me"})
			}
			sub := me.Subscribe()
			defer sub.Close()

			resp := ctl.NewDispatcher(me, quietLog()).Handle(t.Context(), []byte(`{"cmd":"dial","args":{"to":"`+bob.URI()+`"}}`))
			if !resp.OK {
				t.Fatalf("%s: dial: %+v", tt.name, resp.Error)
			}
			var r cti.DialResult
			if err := json.Unmarshal(resp.Result, &r); err != nil {
				t.Fatal(err)
			}
			if tt.wantDevice == "" {
				if r.CallID == "" || r.Device != "" {
					t.Fatalf("%s: result %s, want a local call", tt.name, resp.Result)
				}
				waitCalls(t, bob, 1, "bob")
				if n := len(mobile.Snapshot().Calls); n != 0 {
					t.Errorf("%s: the mobile has %d calls", tt.name, n)
				}
				return
			}
			if r.CallID != cti.CallID("d"+r.Session) || r.Device != tt.wantDevice || r.Session == "" {
				t.Fatalf("%s: result %s, want a callback via %s", tt.name, resp.Result, tt.wantDevice)
			}
			waitCalls(t, mobile, 1, "the mobile (callback leg A)")
			if c := mobile.Snapshot().Calls[0]; c.Direction != cti.Incoming {
				t.Errorf("%s: the mobile's call is %s, want incoming", tt.name, c.Direction)
			}
			// The callback is this Service's call, carried by the mobile.
			waitCalls(t, me, 1, "this phone (the call on the mobile)")
			if c := me.Snapshot().Calls[0]; c.ID != r.CallID || c.Device != "mobile" {
				t.Errorf("%s: this phone's call %+v, want %s on the mobile", tt.name, c, r.CallID)
			}
			deadline := time.After(5 * time.Second)
			for {
				select {
				case ev := <-sub.C:
					if cp, ok := ev.(cti.CallbackPlaced); ok {
						if cp.Device != "mobile" || cp.To != bob.URI() || cp.Session != r.Session {
							t.Errorf("%s: event %+v", tt.name, cp)
						}
						return
					}
				case <-deadline:
					t.Fatalf("%s: no CallbackPlaced event", tt.name)
				}
			}
		})
	}
}
