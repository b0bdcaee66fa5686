package anydevice_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// followMe sets up desk, mobile and an external caller around a controller
// that rings both devices for alice's office number.
type followMe struct {
	ctl                  *anydevice.Controller
	rec                  *recorder
	desk, mobile, caller *phonetest.Phone
}

func newFollowMe(t *testing.T, desk, mobile anydevice.Device, voicemail time.Duration) *followMe {
	t.Helper()
	f := &followMe{
		desk:   phonetest.NewPhone(t, 700, &phone.Config{Name: "desk"}),
		mobile: phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"}),
		caller: phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930777"}),
	}
	desk.Name, desk.Target = "desk", f.desk.URI()
	mobile.Name, mobile.Target = "mobile", f.mobile.URI()
	u := anydevice.User{
		ID: "alice", Token: "t", Numbers: []string{office},
		Devices:        []anydevice.Device{desk, mobile},
		Active:         []string{"desk", "mobile"},
		VoicemailAfter: voicemail,
	}
	f.ctl, f.rec = newController(t, []anydevice.User{u}, nil)
	return f
}

func (f *followMe) call(t *testing.T) phone.CallID {
	t.Helper()
	id, err := f.caller.Dial(t.Context(), "sip:"+office+"@"+f.ctl.Phone().Addr(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFollowMeStagedFirstAnswerWins(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{RingDelay: 700 * time.Millisecond}, 0)
	start := time.Now()
	cid := f.call(t)
	f.caller.Events.WaitState(t, cid, phone.CallRinging)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
	if gap := m.Created.Sub(d.Created); gap < 600*time.Millisecond || gap > 1500*time.Millisecond {
		t.Errorf("mobile rang %s after the desk, want ~700ms", gap)
	}
	if d.Created.Sub(start) > 500*time.Millisecond {
		t.Errorf("desk rang %s after the call, want at once", d.Created.Sub(start))
	}
	for _, leg := range []phone.CallInfo{d, m} {
		if leg.Remote.User != "+4930777" {
			t.Errorf("device %s sees caller %+v, want +4930777", leg.Local.User, leg.Remote)
		}
		if hi := strings.Join(leg.Headers["History-Info"], ","); !strings.Contains(hi, "index=1.1") || !strings.Contains(hi, office) {
			t.Errorf("device %s got History-Info %q", leg.Local.User, hi)
		}
	}
	if err := f.desk.Answer(d.ID); err != nil {
		t.Fatal(err)
	}
	// The loser gets CANCEL with Reason cause 200.
	lost := f.mobile.Events.WaitState(t, m.ID, phone.CallEnded)
	if lost.End == nil || lost.End.Cause != phone.EndAnsweredElsewhere {
		t.Errorf("mobile end = %+v, want answered-elsewhere", lost.End)
	}
	f.caller.Events.WaitState(t, cid, phone.CallActive)
	f.rec.waitSession(t, "", anydevice.StateBridged)
	f.caller.Media.WaitTone(t, cid, 700, 5*time.Second)
	f.desk.Media.WaitTone(t, d.ID, 600, 5*time.Second)

	if err := f.caller.Hangup(cid); err != nil {
		t.Fatal(err)
	}
	if end := f.desk.Events.WaitState(t, d.ID, phone.CallEnded); end.End == nil || end.End.Cause != phone.EndRemoteHangup {
		t.Errorf("desk end = %+v", end.End)
	}
}

// TestFollowMeDeclineKeepsRinging is the seed's busy trap: declining on
// the desk must not end a call still ringing on the mobile.
func TestFollowMeDeclineKeepsRinging(t *testing.T) {
	for _, code := range []int{486, 603} {
		t.Run(phone.SIPPhrase(code), func(t *testing.T) {
			f := newFollowMe(t, anydevice.Device{}, anydevice.Device{}, 0)
			cid := f.call(t)
			d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
			m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
			if err := f.desk.Reject(d.ID, code, ""); err != nil {
				t.Fatal(err)
			}
			f.desk.Events.WaitState(t, d.ID, phone.CallEnded)
			time.Sleep(300 * time.Millisecond)
			if ci, ok := f.caller.Call(cid); !ok || ci.State != phone.CallRinging {
				t.Fatalf("%d: caller state after the desk declined = %+v, want still ringing", code, ci.State)
			}
			if ci, ok := f.mobile.Call(m.ID); !ok || ci.State != phone.CallIncoming {
				t.Fatalf("%d: mobile stopped ringing after the desk declined", code)
			}
			if err := f.mobile.Answer(m.ID); err != nil {
				t.Fatal(err)
			}
			f.caller.Events.WaitState(t, cid, phone.CallActive)
			f.caller.Media.WaitTone(t, cid, 1000, 5*time.Second)
		})
	}
}

func TestFollowMeAllDecline(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{}, 0)
	cid := f.call(t)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
	_ = f.desk.Reject(d.ID, 603, "")
	_ = f.mobile.Reject(m.ID, 486, "")
	end := f.caller.Events.WaitState(t, cid, phone.CallEnded)
	if end.End == nil || end.End.Code != 486 {
		t.Errorf("caller end = %+v, want 486 once every device declined", end.End)
	}
}

// TestFastAnswerGuard: a mobile leg answered within the guard is a carrier
// voicemail; it is dropped and the desk keeps ringing.
func TestFastAnswerGuard(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{FastAnswer: 2 * time.Second}, 0)
	cid := f.call(t)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
	if err := f.mobile.Answer(m.ID); err != nil { // "voicemail" picks up at once
		t.Fatal(err)
	}
	if end := f.mobile.Events.WaitState(t, m.ID, phone.CallEnded); end.End == nil || end.End.Cause != phone.EndRemoteHangup {
		t.Errorf("voicemail leg end = %+v, want hung up by the controller", end.End)
	}
	if ci, ok := f.caller.Call(cid); !ok || ci.State == phone.CallActive {
		t.Fatalf("caller connected to the voicemail: %+v", ci.State)
	}
	if err := f.desk.Answer(d.ID); err != nil {
		t.Fatal(err)
	}
	f.caller.Events.WaitState(t, cid, phone.CallActive)
	info := f.rec.waitSession(t, "", anydevice.StateBridged)
	if info.Device != "desk" {
		t.Errorf("bridged to %q, want desk", info.Device)
	}
	notes := ""
	for _, l := range info.Legs {
		notes += l.Device + ":" + l.Note + " "
	}
	if !strings.Contains(notes, "mobile:voicemail") {
		t.Errorf("legs %q lack the voicemail note", notes)
	}
}

// TestConfirmKey: with a confirm key the mobile is bridged only after the
// key press; the other devices ring on until then.
func TestConfirmKey(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{ConfirmKey: "1"}, 0)
	cid := f.call(t)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
	if err := f.mobile.Answer(m.ID); err != nil {
		t.Fatal(err)
	}
	f.mobile.Events.WaitState(t, m.ID, phone.CallActive)
	f.rec.waitSession(t, "", anydevice.StateConfirming)
	f.mobile.Media.WaitTone(t, m.ID, 1400, 4*time.Second) // the prompt
	if ci, ok := f.desk.Call(d.ID); !ok || ci.State != phone.CallIncoming {
		t.Fatalf("desk stopped ringing before the key press")
	}
	if err := f.mobile.SendDTMF(m.ID, "7"); err != nil { // the wrong key does nothing
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if ci, _ := f.caller.Call(cid); ci.State == phone.CallActive {
		t.Fatalf("bridged on the wrong key")
	}
	if err := f.mobile.SendDTMF(m.ID, "1"); err != nil {
		t.Fatal(err)
	}
	f.caller.Events.WaitState(t, cid, phone.CallActive)
	if end := f.desk.Events.WaitState(t, d.ID, phone.CallEnded); end.End == nil || end.End.Cause != phone.EndAnsweredElsewhere {
		t.Errorf("desk end = %+v, want answered-elsewhere", end.End)
	}
	f.caller.Media.WaitTone(t, cid, 1000, 5*time.Second)
}

func TestFollowMeCallerCancels(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{}, 0)
	cid := f.call(t)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
	if err := f.caller.Hangup(cid); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		p  *phonetest.Phone
		id phone.CallID
	}{{f.desk, d.ID}, {f.mobile, m.ID}} {
		end := x.p.Events.WaitState(t, x.id, phone.CallEnded)
		if end.End == nil || end.End.Cause != phone.EndCallerCancelled {
			t.Errorf("device end = %+v, want caller-cancelled (not answered elsewhere: a missed call)", end.End)
		}
	}
}

func TestFollowMeVoicemailTimeout(t *testing.T) {
	f := newFollowMe(t, anydevice.Device{}, anydevice.Device{}, 800*time.Millisecond)
	cid := f.call(t)
	d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
	end := f.caller.Events.WaitState(t, cid, phone.CallEnded)
	if end.End == nil || end.End.Code != 480 {
		t.Errorf("caller end = %+v, want 480 without a voicemail box", end.End)
	}
	f.desk.Events.WaitState(t, d.ID, phone.CallEnded)
}

// TestFollowMeAllDeclineVoicemail: once every device declined, a caller
// already ringing goes to the user's voicemail (302 from the ringing
// state) with History-Info saying why.
func TestFollowMeAllDeclineVoicemail(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     [2]int // desk, mobile
		wantCause string
	}{
		{"busy", [2]int{603, 486}, "cause%3D486"},
		{"declined", [2]int{603, 603}, "cause%3D480"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "caller.trace")
			f := &followMe{
				desk:   phonetest.NewPhone(t, 700, &phone.Config{Name: "desk"}),
				mobile: phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"}),
				caller: phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930777", TraceFile: trace}),
			}
			u := anydevice.User{
				ID: "alice", Token: "t", Numbers: []string{office},
				Devices: []anydevice.Device{
					{Name: "desk", Target: f.desk.URI()},
					{Name: "mobile", Target: f.mobile.URI()},
				},
				Active:    []string{"desk", "mobile"},
				Voicemail: "sip:vm-alice@127.0.0.1:5999",
			}
			f.ctl, f.rec = newController(t, []anydevice.User{u}, nil)
			cid := f.call(t)
			f.caller.Events.WaitState(t, cid, phone.CallRinging)
			d := f.desk.Events.WaitState(t, "", phone.CallIncoming)
			m := f.mobile.Events.WaitState(t, "", phone.CallIncoming)
			_ = f.desk.Reject(d.ID, tc.codes[0], "")
			f.desk.Events.WaitState(t, d.ID, phone.CallEnded)
			time.Sleep(200 * time.Millisecond)
			if ci, _ := f.caller.Call(cid); ci.State != phone.CallRinging {
				t.Fatalf("caller left ringing after one decline: %s", ci.State)
			}
			_ = f.mobile.Reject(m.ID, tc.codes[1], "")
			end := f.caller.Events.WaitState(t, cid, phone.CallEnded)
			if end.End == nil || end.End.Code != 302 {
				t.Fatalf("caller end = %+v, want 302 to voicemail", end.End)
			}
			waitTrace(t, trace, "Contact: <sip:vm-alice@127.0.0.1:5999>", "History-Info: <sip:"+office+"@", tc.wantCause)
			ended := f.rec.wait(t, 5*time.Second, "session ended", func(ev anydevice.Event) bool {
				_, ok := ev.(anydevice.SessionEnded)
				return ok
			}).(anydevice.SessionEnded)
			if ended.Session.End != "voicemail" {
				t.Errorf("session end = %q, want voicemail", ended.Session.End)
			}
		})
	}
}
