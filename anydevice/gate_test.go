package anydevice_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestJudgeEveryForm: a target that is a number is judged as that number
// in every form a SIP URI can carry it, whatever uris allows.
func TestJudgeEveryForm(t *testing.T) {
	open := anydevice.Policy{URIs: true}
	for _, tc := range []struct {
		target, rule string
	}{
		{"+4930555", ""},
		{"030 555-12", ""},
		{"sip:+4930555@trunk", ""},
		{"sip:bob@example.org", ""},
		{"sip:example.org", ""},
		{"+49900123456", "premium"},
		{"0900123456", "premium"},
		{"0049900123456", "premium"},
		{"sip:+49900123456@anyhost", "premium"},
		{"sips:+49900123456@anyhost:5061;transport=tls", "premium"},
		{"<sip:+49900123456@anyhost>", "premium"},
		{"sip:+49900123456;isub=1@anyhost", "premium"},
		{"sip:+49-900-123456@anyhost", "premium"},
		{"sip:%2B49900123456@anyhost", "premium"},
		{"sip:%2B49%39001234%35%36@anyhost", "premium"},
		{"sip:+49900123456:pw@anyhost", "premium"},
		{"sip:0900123456@anyhost;user=phone", "premium"},
		{"tel:+49900123456", "premium"},
		{"tel:+49900123456;phone-context=+49", "premium"},
		{"TEL:+1212555000", "international"},
		{"sip:+1212555000@anyhost;user=phone", "international"},
		{"sip:001212555000@anyhost", "international"},
		{"sip:900123456@anyhost", "not-e164"},
		{"sip:123@anyhost;user=phone", "not-e164"},
		{"sip:+49900abc@anyhost", "not-e164"},
		{"sip:%ZZ@anyhost", "not-e164"},
		{"tel:", "not-e164"},
	} {
		if got := open.Judge(tc.target); got != tc.rule {
			t.Errorf("Judge(%q) = %q, want %q", tc.target, got, tc.rule)
		}
	}
	closed := anydevice.Policy{}
	if got := closed.Judge("sip:bob@example.org"); got != "not-a-number" {
		t.Errorf("without uris: Judge(sip:bob@example.org) = %q, want not-a-number", got)
	}
}

// TestGateNoUser: a call the controller's phone would place on nobody's
// behalf is refused before an INVITE leaves.
func TestGateNoUser(t *testing.T) {
	trap := phonetest.NewPhone(t, 0, &phone.Config{Name: "trap"})
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")}, nil)
	for _, owner := range []string{"", "s999/remote/", "nonsense"} {
		_, err := ctl.Phone().Dial(t.Context(), trap.URI(), phone.DialOptions{Owner: owner})
		var re *anydevice.RefusedError
		if !errors.Is(err, phone.ErrRefused) || !errors.As(err, &re) || re.Rule != "no-user" {
			t.Errorf("Dial on behalf of %q: err = %v, want refused by no-user", owner, err)
		}
	}
	rec.waitRefused(t, "no-user")
	if n := len(trap.Calls()); n != 0 {
		t.Fatalf("the trap got %d calls", n)
	}
}

// TestGateRefer: a REFER from the bridged destination is answered 403 by
// default; with allow_refer it is carried out only within the user's
// policy and the channel limit, and the new leg takes the referrer's place
// on the bridge.
func TestGateRefer(t *testing.T) {
	t.Run("refused by default", func(t *testing.T) {
		x := newBridgedCall(t, nil)
		err := x.dest.Transfer(x.b.ID, x.third.URI())
		var rej *phone.RejectedError
		if !errors.As(err, &rej) || rej.Code != 403 {
			t.Fatalf("REFER from the destination: %v, want 403", err)
		}
		x.rec.waitRefused(t, "refer")
		if n := len(x.third.Calls()); n != 0 {
			t.Fatalf("the REFER's target got %d calls", n)
		}
		if st, _ := x.ctl.Status("alice"); st.Channels != 2 {
			t.Errorf("channels = %d, want 2", st.Channels)
		}
	})
	t.Run("allowed within the policy", func(t *testing.T) {
		x := newBridgedCall(t, func(c *anydevice.Config) {
			c.Users[0].Policy.AllowRefer = true
			c.MaxChannels = 3
		})
		// Outside the policy: refused however it is written.
		for _, target := range []string{"sip:+49900123456@127.0.0.1:9", "sip:%2B1212555000@127.0.0.1:9"} {
			err := x.dest.Transfer(x.b.ID, target)
			var rej *phone.RejectedError
			if !errors.As(err, &rej) || rej.Code != 403 {
				t.Fatalf("REFER to %s: %v, want 403", target, err)
			}
		}
		x.rec.waitRefused(t, "premium")
		x.rec.waitRefused(t, "international")
		x.dest.Events.WaitCall(t, 5*time.Second, "destination off hold again", func(ci phone.CallInfo) bool {
			return ci.ID == x.b.ID && ci.State == phone.CallActive && !ci.LocalHold
		})

		// Within it: the controller calls the third party in the
		// destination's place.
		if err := x.dest.Transfer(x.b.ID, x.third.URI()); err != nil {
			t.Fatalf("REFER to %s: %v", x.third.URI(), err)
		}
		c := answer(t, x.third, 0)
		hears(t, x.mobile, x.a.ID, 800) // the third party's tone, through the relay
		hears(t, x.third, c.ID, 1000)   // and the mobile's back
		x.dest.Events.WaitState(t, x.b.ID, phone.CallEnded)
		st, _ := x.ctl.Status("alice")
		if len(st.Sessions) != 1 || st.Sessions[0].State != anydevice.StateBridged || st.Channels != 2 {
			t.Fatalf("after the transfer: %+v, want one bridged session on 2 channels", st)
		}
		if got := st.Sessions[0].Remote; !strings.Contains(got, "+4930999") {
			t.Errorf("session remote = %q, want the third party", got)
		}
		if p := x.ctl.PeakChannels(); p > 3 {
			t.Errorf("peak channels %d above the limit 3", p)
		}
	})
	t.Run("channel limit", func(t *testing.T) {
		x := newBridgedCall(t, func(c *anydevice.Config) {
			c.Users[0].Policy.AllowRefer = true
			c.MaxChannels = 2
		})
		err := x.dest.Transfer(x.b.ID, x.third.URI())
		var rej *phone.RejectedError
		if !errors.As(err, &rej) || rej.Code != 503 {
			t.Fatalf("REFER with no channel free: %v, want 503", err)
		}
		x.rec.waitRefused(t, "channels")
		if n := len(x.third.Calls()); n != 0 {
			t.Fatalf("the REFER's target got %d calls", n)
		}
	})
}

// TestDeviceTargetsJudged: device and voicemail targets are judged by the
// user's policy when configured, and simultaneous ring follows
// allow_simring.
func TestDeviceTargetsJudged(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name string
		mod  func(u *anydevice.User)
		want string
	}{
		{"premium device", func(u *anydevice.User) { u.Devices[1].Target = "+49900123456" }, "devices[1].target"},
		{"premium device as URI", func(u *anydevice.User) { u.Devices[1].Target = "sip:+49900123456@127.0.0.1:9" }, "devices[1].target"},
		{"international device", func(u *anydevice.User) { u.Devices[1].Target = "tel:+1212555000" }, "devices[1].target"},
		{"premium voicemail", func(u *anydevice.User) { u.Voicemail = "sip:+49900123456@127.0.0.1:9" }, "voicemail"},
		{"simring off", func(u *anydevice.User) { u.Policy.AllowSimring = &off; u.Active = []string{"desk", "mobile"} }, "allow_simring"},
	} {
		u := alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")
		tc.mod(&u)
		cfg := anydevice.Config{Users: []anydevice.User{u}}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	u := alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")
	u.Policy.AllowSimring = &off
	ctl, rec := newController(t, []anydevice.User{u}, nil)
	if err := ctl.SetActiveDevice("alice", "desk", "mobile"); err == nil {
		t.Fatal("two active devices with allow_simring off: accepted")
	}
	rec.waitRefused(t, "simring")
}

// TestNumbersNeedATrunk: a number (a device's target, a voicemail, a
// callback's destination, a consultation) needs a trunk or an account to
// be dialled through; without one the config names the field and a
// callback is refused before any device rings.
func TestNumbersNeedATrunk(t *testing.T) {
	u := alice("sip:desk@127.0.0.1:9", "+4917012345")
	cfg := anydevice.Config{Users: []anydevice.User{u}}
	if err := cfg.Validate(); !errors.Is(err, anydevice.ErrNoTrunk) || !strings.Contains(err.Error(), "devices[1].target") {
		t.Errorf("a number device without a trunk: Validate = %v, want ErrNoTrunk naming devices[1].target", err)
	}
	cfg.Trunk = "127.0.0.1:9"
	if err := cfg.Validate(); err != nil {
		t.Errorf("with a trunk: %v", err)
	}
	cfg = anydevice.Config{Phone: phone.Config{Account: &phone.Account{AOR: "sip:ctl@127.0.0.1:9"}}, Users: []anydevice.User{u}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("with an account: %v", err)
	}

	ctl, _ := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")}, nil)
	_, err := ctl.Callback(t.Context(), "alice", "+4930555123", anydevice.CallbackOptions{})
	if !errors.Is(err, anydevice.ErrNoTrunk) {
		t.Fatalf("a callback to a number without a trunk: %v, want ErrNoTrunk", err)
	}
	if st, _ := ctl.Status("alice"); len(st.Sessions) != 0 {
		t.Errorf("a session was started: %+v", st.Sessions)
	}
	if err := ctl.SetDeviceTarget("alice", "mobile", "+4917012345"); !errors.Is(err, anydevice.ErrNoTrunk) {
		t.Errorf("a number as the mobile's target without a trunk: %v, want ErrNoTrunk", err)
	}
}
