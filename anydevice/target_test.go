package anydevice_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// TestSetDeviceTarget: a device's target changes in place (checked as a
// configured one), is evented, and survives a restart through StatePath
// until the configuration of that device changes.
func TestSetDeviceTarget(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "devices.json")
	users := func(mobile string) []anydevice.User {
		return []anydevice.User{{
			ID:      "alice",
			Numbers: []string{"+4930123456"},
			Devices: []anydevice.Device{
				{Name: "desk", Target: "sip:desk@127.0.0.1:5999"},
				{Name: "mobile", Target: mobile, Hold: "inactive"},
			},
		}}
	}
	c, rec := newController(t, users("+4917012345"), func(cfg *anydevice.Config) { cfg.StatePath, cfg.Trunk = statePath, "127.0.0.1:9" })
	if err := c.SetActiveDevice("alice", "mobile"); err != nil {
		t.Fatal(err)
	}

	for _, r := range []struct{ name, user, device, target, rule string }{
		{"unknown user", "bob", "mobile", "+4917099999", ""},
		{"unknown device", "alice", "car", "+4917099999", "device-not-owned"},
		{"empty", "alice", "mobile", " ", "not-a-target"},
		{"not a target", "alice", "mobile", "0171 1234", "not-a-target"},
		{"a word", "alice", "mobile", "mymobile", "not-a-target"},
		{"premium", "alice", "mobile", "+49900123456", "premium"},
		{"international", "alice", "mobile", "sip:+33123456789@127.0.0.1", "international"},
	} {
		err := c.SetDeviceTarget(r.user, r.device, r.target)
		if err == nil {
			t.Errorf("%s: %s → %q accepted", r.name, r.device, r.target)
			continue
		}
		var re *anydevice.RefusedError
		if got := errors.As(err, &re); got != (r.rule != "") || (got && re.Rule != r.rule) {
			t.Errorf("%s: %v, want rule %q", r.name, err, r.rule)
		}
	}
	if err := c.SetDeviceTarget("bob", "mobile", "+4917099999"); !errors.Is(err, anydevice.ErrNoSuchUser) {
		t.Errorf("unknown user: %v, want ErrNoSuchUser", err)
	}

	// The controller's own subscribers hear of it too.
	ch, unsub := c.Subscribe(16)
	defer unsub()
	if err := c.SetDeviceTarget("alice", "MOBILE", " sip:newmobile@127.0.0.1:5998 "); err != nil {
		t.Fatalf("SetDeviceTarget: %v", err)
	}
	ev := rec.wait(t, 5*time.Second, "DeviceChanged", func(ev anydevice.Event) bool {
		_, ok := ev.(anydevice.DeviceChanged)
		return ok
	}).(anydevice.DeviceChanged)
	if ev.User != "alice" || ev.Device.Name != "mobile" || ev.Device.Target != "sip:newmobile@127.0.0.1:5998" || ev.Device.Hold != "inactive" {
		t.Errorf("event %+v, want alice's mobile at sip:newmobile@127.0.0.1:5998, hold kept", ev)
	}
	select {
	case got := <-ch:
		if _, ok := got.(anydevice.DeviceChanged); !ok {
			t.Errorf("subscriber got %T, want DeviceChanged", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the subscriber")
	}
	devs, err := c.UserDevices("alice")
	if err != nil || devs[1].Target != "sip:newmobile@127.0.0.1:5998" || devs[1].Hold != "inactive" {
		t.Fatalf("UserDevices after the edit: %+v (%v)", devs, err)
	}
	// The same target again: nothing to do, no event.
	if err := c.SetDeviceTarget("alice", "mobile", "sip:newmobile@127.0.0.1:5998"); err != nil {
		t.Fatal(err)
	}

	restart := func(mobile string) *anydevice.Controller {
		t.Helper()
		c2, err := anydevice.New(anydevice.Config{
			Phone:     phone.Config{Name: "ctl", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			Users:     users(mobile),
			StatePath: statePath,
			Trunk:     "127.0.0.1:9",
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c2.Close() })
		return c2
	}
	c2 := restart("+4917012345")
	devs, _ = c2.UserDevices("alice")
	if devs[1].Target != "sip:newmobile@127.0.0.1:5998" {
		t.Errorf("after a restart: mobile at %s, want the saved target", devs[1].Target)
	}
	if act, _ := c2.ActiveDevices("alice"); !slices.Equal(act, []string{"mobile"}) {
		t.Errorf("after a restart: active %v, want [mobile]", act)
	}
	// A second edit keeps what the configuration said.
	if err := c.SetDeviceTarget("alice", "mobile", "+4917055555"); err != nil {
		t.Fatal(err)
	}
	devs, _ = restart("+4917012345").UserDevices("alice")
	if devs[1].Target != "+4917055555" {
		t.Errorf("after a second edit and a restart: mobile at %s, want +4917055555", devs[1].Target)
	}
	// A changed configuration wins over the saved edit.
	devs, _ = restart("+4917066666").UserDevices("alice")
	if devs[1].Target != "+4917066666" {
		t.Errorf("with a new configured target: mobile at %s, want the configuration's +4917066666", devs[1].Target)
	}
}
