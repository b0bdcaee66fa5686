package anydevice_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestNotATollFraudMachine: every way to make the controller dial for
// someone else, somewhere expensive or as someone else is refused before a
// single INVITE leaves, and each refusal is an event naming its rule.
func TestNotATollFraudMachine(t *testing.T) {
	mobile := phonetest.NewPhone(t, 0, &phone.Config{Name: "mobile"})
	u := alice("sip:desk@127.0.0.1:9", mobile.URI())
	u.Policy = anydevice.Policy{MaxPerMinute: 3, MaxConcurrent: 1}
	bob := anydevice.User{ID: "bob", Token: "bob-secret", Numbers: []string{"+4989200"},
		Devices: []anydevice.Device{{Name: "mobile", Target: "sip:bobmobile@127.0.0.1:9"}}}
	ctl, rec := newController(t, []anydevice.User{u, bob}, func(c *anydevice.Config) { c.Trunk = "127.0.0.1:9" }) // numbers need a trunk; none is reached

	t.Run("tokens", func(t *testing.T) {
		for _, tc := range []struct {
			name, user, token string
			ok                bool
		}{
			{"right token", "alice", "alice-secret", true},
			{"wrong token", "alice", "alice-secreT", false},
			{"empty token", "alice", "", false},
			{"other user's token", "alice", "bob-secret", false},
			{"unknown user", "mallory", "", false},
		} {
			err := ctl.Authenticate(tc.user, tc.token)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, anydevice.ErrUnauthenticated)) {
				t.Errorf("%s: Authenticate = %v", tc.name, err)
			}
		}
		rec.waitRefused(t, "auth")
	})

	for _, tc := range []struct {
		name string
		user string
		dest string
		o    anydevice.CallbackOptions
		rule string
	}{
		{"premium 0900", "alice", "0900123456", anydevice.CallbackOptions{}, "premium"},
		{"premium e164", "alice", "+49900123456", anydevice.CallbackOptions{}, "premium"},
		{"premium uri", "alice", "sip:+4919312345@127.0.0.1:9", anydevice.CallbackOptions{}, "premium"},
		{"international", "alice", "+1212555000", anydevice.CallbackOptions{}, "international"},
		{"international 00", "alice", "001212555000", anydevice.CallbackOptions{}, "international"},
		{"not a number", "alice", "sip:someone@127.0.0.1:9", anydevice.CallbackOptions{}, "not-a-number"},
		{"caller id not hers", "alice", "+4930555", anydevice.CallbackOptions{CallerID: "+4989200"}, "caller-id"},
		{"device not hers", "alice", "+4930555", anydevice.CallbackOptions{Device: "bobmobile"}, "device-not-owned"},
		{"unknown user", "mallory", "+4930555", anydevice.CallbackOptions{}, "unknown-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ctl.Callback(t.Context(), tc.user, tc.dest, tc.o)
			var re *anydevice.RefusedError
			if !errors.As(err, &re) || re.Rule != tc.rule {
				t.Fatalf("%s: Callback err = %v, want refused by %s", tc.name, err, tc.rule)
			}
			rec.waitRefused(t, tc.rule)
		})
	}
	if n := len(mobile.Calls()); n != 0 {
		t.Fatalf("a refused callback still rang the device (%d calls)", n)
	}
	if err := ctl.SetActiveDevice("alice", "bobmobile"); err == nil {
		t.Errorf("SetActiveDevice to a device not hers succeeded")
	}

	t.Run("concurrent and rate", func(t *testing.T) {
		sid, err := ctl.Callback(t.Context(), "alice", "+4930555", anydevice.CallbackOptions{})
		if err != nil {
			t.Fatalf("first callback: %v", err)
		}
		mobile.Events.WaitState(t, "", phone.CallIncoming)
		var re *anydevice.RefusedError
		if _, err := ctl.Callback(t.Context(), "alice", "+4930556", anydevice.CallbackOptions{}); !errors.As(err, &re) || re.Rule != "concurrent" {
			t.Fatalf("second concurrent callback: %v, want refused by concurrent", err)
		}
		if err := ctl.Hangup("bob", sid); !errors.Is(err, anydevice.ErrNoSuchSession) {
			t.Errorf("bob hung up alice's session: %v", err)
		}
		rec.waitRefused(t, "session-not-owned")
		if err := ctl.Hangup("alice", sid); err != nil {
			t.Fatal(err)
		}
		rec.wait(t, 5*time.Second, "session ended", func(ev anydevice.Event) bool {
			e, ok := ev.(anydevice.SessionEnded)
			return ok && e.Session.ID == sid
		})
		for i := 0; ; i++ {
			sid, err := ctl.Callback(t.Context(), "alice", "+4930555", anydevice.CallbackOptions{})
			if errors.As(err, &re) && re.Rule == "rate" {
				if i != 2 { // 3 a minute, one used above
					t.Errorf("rate limit after %d more calls, want 2", i)
				}
				break
			}
			if err != nil {
				t.Fatalf("callback %d: %v", i, err)
			}
			_ = ctl.Hangup("alice", sid)
			rec.wait(t, 5*time.Second, "session ended", func(ev anydevice.Event) bool {
				e, ok := ev.(anydevice.SessionEnded)
				return ok && e.Session.ID == sid
			})
			if i > 5 {
				t.Fatal("no rate limit")
			}
		}
	})
}

func TestChannelLimit(t *testing.T) {
	mobile := phonetest.NewPhone(t, 0, &phone.Config{Name: "mobile"})
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", mobile.URI())}, func(c *anydevice.Config) { c.MaxChannels, c.Trunk = 1, "127.0.0.1:9" })
	_, err := ctl.Callback(t.Context(), "alice", "+4930555", anydevice.CallbackOptions{})
	var re *anydevice.RefusedError
	if !errors.As(err, &re) || re.Rule != "channels" {
		t.Fatalf("callback with 1 channel: %v, want refused by channels", err)
	}
	rec.waitRefused(t, "channels")
}

// TestUnknownSIPSource: with an address ACL, SIP from elsewhere is answered
// 403 and reported as a refusal.
func TestUnknownSIPSource(t *testing.T) {
	caller := phonetest.NewPhone(t, 0, &phone.Config{Name: "+4930777"})
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")}, func(c *anydevice.Config) {
		c.Phone.AllowSources = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	id, err := caller.Dial(t.Context(), "sip:"+office+"@"+ctl.Phone().Addr(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end := caller.Events.WaitState(t, id, phone.CallEnded)
	if end.End == nil || end.End.Code != 403 {
		t.Fatalf("caller end = %+v, want 403", end.End)
	}
	rec.waitRefused(t, "sip-source")
}

func TestUnknownNumber(t *testing.T) {
	caller := phonetest.NewPhone(t, 0, &phone.Config{Name: "+4930777"})
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")}, nil)
	id, err := caller.Dial(t.Context(), "sip:+4989999@"+ctl.Phone().Addr(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if end := caller.Events.WaitState(t, id, phone.CallEnded); end.End == nil || end.End.Code != 404 {
		t.Fatalf("caller end = %+v, want 404", end.End)
	}
	rec.waitRefused(t, "unknown-number")
}
