package anydevice_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestMoveAndUserHold moves a bridged callback from the mobile to the desk
// and back is not needed: the remote party's dialog must stay the same,
// it must hear the new device, and the old device is released with a
// Reason. The user's hold then reaches the remote party.
func TestMoveAndUserHold(t *testing.T) {
	dir := t.TempDir()
	mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile", TraceFile: filepath.Join(dir, "mobile.trace")})
	desk := phonetest.NewPhone(t, 700, &phone.Config{Name: "desk"})
	dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555", TraceFile: filepath.Join(dir, "dest.trace")})
	ctl, rec := newController(t, []anydevice.User{alice(desk.URI(), mobile.URI())}, nil)
	sid, err := ctl.Callback(t.Context(), "alice", dest.URI(), anydevice.CallbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := answer(t, mobile, 0)
	b := answer(t, dest, 0)
	rec.waitSession(t, sid, anydevice.StateBridged)
	dest.Media.WaitTone(t, b.ID, 1000, 5*time.Second)

	if err := ctl.Move("alice", sid, "desk"); err != nil {
		t.Fatal(err)
	}
	d := answer(t, desk, 0)
	if d.Remote.User != "+4930555" {
		t.Errorf("desk sees %+v, want the remote party", d.Remote)
	}
	end := mobile.Events.WaitState(t, a.ID, phone.CallEnded)
	if end.End == nil || end.End.Cause != phone.EndRemoteHangup {
		t.Errorf("old device end = %+v", end.End)
	}
	waitTrace(t, filepath.Join(dir, "mobile.trace"), `Reason: SIP;cause=200;text="Call moved`)
	dest.Media.Detector(b.ID).Reset()
	dest.Media.WaitTone(t, b.ID, 700, 5*time.Second)
	desk.Media.WaitTone(t, d.ID, 600, 5*time.Second)
	ci, ok := dest.Call(b.ID)
	if !ok || ci.State != phone.CallActive || ci.SIPCallID != b.SIPCallID {
		t.Fatalf("remote party's call changed: %+v", ci)
	}
	if info, _ := ctl.Session(sid); info.Device != "desk" {
		t.Errorf("session device = %q, want desk", info.Device)
	}

	// CTI hold on the bridged call holds the remote party.
	if err := ctl.Hold("alice", sid); err != nil {
		t.Fatal(err)
	}
	dest.Events.WaitCall(t, 5*time.Second, "held by the user", func(ci phone.CallInfo) bool { return ci.ID == b.ID && ci.RemoteHold })
	if err := ctl.Resume("alice", sid); err != nil {
		t.Fatal(err)
	}
	dest.Events.WaitCall(t, 5*time.Second, "resumed", func(ci phone.CallInfo) bool { return ci.ID == b.ID && !ci.RemoteHold })
	if err := ctl.Hangup("alice", sid); err != nil {
		t.Fatal(err)
	}
	dest.Events.WaitState(t, b.ID, phone.CallEnded)
	desk.Events.WaitState(t, d.ID, phone.CallEnded)
}
