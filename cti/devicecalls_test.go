package cti_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// deviceRig is this phone (me, with a journal) routed through a real
// controller whose user has this phone as desk and another Service as the
// mobile; bob is the destination.
type deviceRig struct {
	me, mobile, bob *cti.Service
	ad              *anydevice.Controller
	j               *journal.Journal
	sub             *cti.Subscription
}

func newDeviceRig(t *testing.T) *deviceRig {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	me, err := cti.New(cti.Options{Logger: quietLog(), Journal: j, User: "me",
		Phone: phone.Config{Name: "me", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := me.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = me.Shutdown(ctx)
	})
	r := &deviceRig{me: me, mobile: startPhone(t, "mobile"), bob: startPhone(t, "+4930555"), j: j}
	r.ad, err = anydevice.New(anydevice.Config{
		Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", Transport: "udp", Logger: quietLog()},
		Users: []anydevice.User{{ID: "me", Numbers: []string{"+4930123456"},
			Devices: []anydevice.Device{{Name: "desk", Target: me.URI()}, {Name: "mobile", Target: r.mobile.URI()}},
			Active:  []string{"desk"}, Policy: anydevice.Policy{URIs: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ad.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = r.ad.Shutdown(ctx)
	})
	me.SetAnyDevice(cti.AnyDeviceRoute{Controller: r.ad, User: "me", Numbers: []string{"+4930123456"}})
	r.sub = me.Subscribe()
	t.Cleanup(r.sub.Close)
	return r
}

// waitCall waits for a CallChanged of id matching pred.
func (r *deviceRig) waitCall(t *testing.T, id cti.CallID, what string, pred func(cti.CallInfo) bool) cti.CallInfo {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-r.sub.C:
			if cc, ok := ev.(cti.CallChanged); ok && cc.Call.ID == id && pred(cc.Call) {
				return cc.Call
			}
		case <-deadline:
			t.Fatalf("waiting for %s: %+v", what, r.me.Snapshot().Calls)
		}
	}
}

// answerFirst answers the first ringing call of svc.
func answerFirst(t *testing.T, svc *cti.Service, what string) {
	t.Helper()
	waitCalls(t, svc, 1, what)
	if err := svc.Answer(t.Context(), svc.Snapshot().Calls[0].ID); err != nil {
		t.Fatalf("%s: answer: %v", what, err)
	}
}

// TestDeviceCallIsACall (issue 10): with the mobile active, a dial from
// the control protocol is a callback that this Service shows and drives as
// one of its calls: ringing on the mobile, then active with device mobile;
// status lists it, hold and resume act on it, hangup_all ends it, and the
// journal has one row with the device.
func TestDeviceCallIsACall(t *testing.T) {
	r := newDeviceRig(t)
	d := ctl.NewDispatcher(r.me, quietLog())
	do := func(line string) json.RawMessage {
		t.Helper()
		resp := d.Handle(t.Context(), []byte(line))
		if !resp.OK {
			t.Fatalf("%s: %+v", line, resp.Error)
		}
		return resp.Result
	}
	if !strings.Contains(string(do(`{"cmd":"device","args":{"device":"mobile"}}`)), `"active":["mobile"]`) {
		t.Fatal("device mobile did not become active")
	}
	var res cti.DialResult
	_ = json.Unmarshal(do(`{"cmd":"dial","args":{"to":"`+r.bob.URI()+`"}}`), &res)
	if res.Device != "mobile" || res.CallID == "" {
		t.Fatalf("dial result %+v, want a call on the mobile", res)
	}
	ringing := r.waitCall(t, res.CallID, "the call ringing on the mobile", func(ci cti.CallInfo) bool { return ci.State == cti.CallDialing })
	if ringing.Device != "mobile" || ringing.Direction != cti.Outgoing {
		t.Errorf("ringing call %+v, want outgoing on the mobile", ringing)
	}
	answerFirst(t, r.mobile, "the mobile")
	answerFirst(t, r.bob, "bob")
	up := r.waitCall(t, res.CallID, "the call active", func(ci cti.CallInfo) bool { return ci.State == cti.CallActive })
	if up.Device != "mobile" || !strings.Contains(up.Remote.URI, "+4930555") {
		t.Errorf("active call %+v, want bob on the mobile", up)
	}
	var st struct {
		Calls []cti.CallInfo `json:"calls"`
	}
	_ = json.Unmarshal(do(`{"cmd":"status"}`), &st)
	if len(st.Calls) != 1 || st.Calls[0].ID != res.CallID || st.Calls[0].Device != "mobile" {
		t.Fatalf("status calls %+v, want the call on the mobile", st.Calls)
	}
	// Its ladder is its legs' SIP messages at the controller, named.
	var lad struct {
		Messages []cti.SIPMessage `json:"messages"`
	}
	_ = json.Unmarshal(do(`{"cmd":"ladder","args":{"call_id":"`+string(res.CallID)+`"}}`), &lad)
	var sums []string
	for _, m := range lad.Messages {
		sums = append(sums, m.Summary)
	}
	if got := strings.Join(sums, "|"); !strings.Contains(got, "mobile: INVITE") || !strings.Contains(got, "remote: INVITE") || !strings.Contains(got, "remote: 200 OK") {
		t.Errorf("the device call's ladder: %s", got)
	}
	do(`{"cmd":"hold","args":{"call_id":"` + string(res.CallID) + `"}}`)
	r.waitCall(t, res.CallID, "held", func(ci cti.CallInfo) bool { return ci.LocalHold })
	do(`{"cmd":"resume","args":{"call_id":"` + string(res.CallID) + `"}}`)
	r.waitCall(t, res.CallID, "resumed", func(ci cti.CallInfo) bool { return !ci.LocalHold && ci.State == cti.CallActive })
	do(`{"cmd":"hangup_all"}`)
	end := r.waitCall(t, res.CallID, "ended", func(ci cti.CallInfo) bool { return ci.State == cti.CallEnded })
	if end.Answered.IsZero() {
		t.Errorf("ended call %+v was never answered", end)
	}
	waitCalls(t, r.bob, 0, "bob after hangup_all")
	waitCalls(t, r.mobile, 0, "the mobile after hangup_all")
	rows := r.waitJournal(t, 1)
	if rows[0].Device != "mobile" || rows[0].Outcome != journal.OutcomeAnswered || rows[0].Direction != cti.Outgoing {
		t.Errorf("journal %+v, want one answered outgoing row on the mobile", rows[0])
	}
}

// TestDeviceCallFailureIsVisible (issue 10): the mobile declines the
// callback; the call ends with who failed, the SIP code and the Q.850
// cause, a notice says so, and the journal row has them.
func TestDeviceCallFailureIsVisible(t *testing.T) {
	r := newDeviceRig(t)
	if err := r.me.SetDevice(t.Context(), "mobile"); err != nil {
		t.Fatal(err)
	}
	res, err := r.me.DialRouted(t.Context(), r.bob.URI(), cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitCalls(t, r.mobile, 1, "the mobile")
	if err := r.mobile.Reject(t.Context(), r.mobile.Snapshot().Calls[0].ID, 486, ""); err != nil {
		t.Fatal(err)
	}
	end := r.waitCall(t, res.CallID, "the failed call", func(ci cti.CallInfo) bool { return ci.State == cti.CallEnded })
	if end.End == nil || end.End.Code != 486 || end.End.Q850 != 17 || !strings.Contains(end.End.Text, "mobile: 486") {
		t.Errorf("end %+v, want the mobile's 486 with Q.850 17", end.End)
	}
	// The notice follows the ended call's event.
	found := false
	for deadline := time.Now().Add(2 * time.Second); !found && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, n := range r.me.Snapshot().Notices {
			found = found || strings.Contains(n.Text, "failed: mobile: 486")
		}
	}
	if !found {
		t.Errorf("no notice of the failure: %+v", r.me.Snapshot().Notices)
	}
	rows := r.waitJournal(t, 1)
	if rows[0].Device != "mobile" || rows[0].Code != 486 || rows[0].Outcome == journal.OutcomeAnswered {
		t.Errorf("journal %+v, want the failed call on the mobile with 486", rows[0])
	}
	if n := len(r.me.Snapshot().Calls); n != 0 {
		t.Errorf("%d calls left", n)
	}
}

// waitJournal waits for the Service's JournalChanged events of n rows and
// returns the rows.
func (r *deviceRig) waitJournal(t *testing.T, n int) []journal.Entry {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for seen := 0; seen < n; {
		select {
		case ev := <-r.sub.C:
			if _, ok := ev.(cti.JournalChanged); ok {
				seen++
			}
		case <-deadline:
			t.Fatalf("journal: %d of %d rows recorded", seen, n)
		}
	}
	rows, err := r.j.List(context.Background(), journal.Filter{User: "me"})
	if err != nil || len(rows) != n {
		t.Fatalf("journal: %d rows (%v), want %d: %+v", len(rows), err, n, rows)
	}
	return rows
}

// TestDeviceFollowMe (issue 10): a call to the user's number rings the
// active devices. With the mobile active this Service shows it as an
// incoming call ringing on the mobile, then active there; with desk and
// mobile active and nobody answering, the journal has exactly one row, a
// missed call, not a second one for the desk's follow-me leg.
func TestDeviceFollowMe(t *testing.T) {
	t.Run("answered on the mobile", func(t *testing.T) {
		r := newDeviceRig(t)
		if err := r.me.SetDevice(t.Context(), "mobile"); err != nil {
			t.Fatal(err)
		}
		carol := startPhone(t, "carol")
		cid, err := carol.Dial(t.Context(), "sip:+4930123456@"+r.ad.Phone().Addr(), cti.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := cti.CallID("ds1")
		in := r.waitCall(t, id, "the call ringing on the mobile", func(ci cti.CallInfo) bool {
			return ci.State == cti.CallIncoming && ci.Device != ""
		})
		if in.Direction != cti.Incoming || in.Device != "mobile" || !strings.Contains(in.Remote.URI, "carol") {
			t.Errorf("incoming %+v, want carol ringing on the mobile", in)
		}
		answerFirst(t, r.mobile, "the mobile")
		r.waitCall(t, id, "active on the mobile", func(ci cti.CallInfo) bool { return ci.State == cti.CallActive && ci.Device == "mobile" })
		deadline := time.Now().Add(5 * time.Second)
		for c, _ := carol.Call(cid); c.State != cti.CallActive; c, _ = carol.Call(cid) {
			if time.Now().After(deadline) {
				t.Fatalf("carol's call %+v never active", c)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := carol.Hangup(t.Context(), cid); err != nil {
			t.Fatal(err)
		}
		r.waitCall(t, id, "ended", func(ci cti.CallInfo) bool { return ci.State == cti.CallEnded })
		rows := r.waitJournal(t, 1)
		if rows[0].Direction != cti.Incoming || rows[0].Device != "mobile" || rows[0].Outcome != journal.OutcomeAnswered {
			t.Errorf("journal %+v, want carol's call answered on the mobile", rows[0])
		}
	})
	t.Run("missed on every device: one missed call", func(t *testing.T) {
		r := newDeviceRig(t)
		if err := r.ad.SetActiveDevice("me", "desk", "mobile"); err != nil {
			t.Fatal(err)
		}
		carol := startPhone(t, "carol")
		cid, err := carol.Dial(t.Context(), "sip:+4930123456@"+r.ad.Phone().Addr(), cti.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitCalls(t, r.mobile, 1, "the mobile ringing")
		deadline := time.Now().Add(5 * time.Second)
		for !slices.ContainsFunc(r.me.Snapshot().Calls, func(ci cti.CallInfo) bool { return ci.State == cti.CallIncoming && ci.Device == "" }) {
			if time.Now().After(deadline) {
				t.Fatalf("the desk never rang: %+v", r.me.Snapshot().Calls)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := carol.Hangup(t.Context(), cid); err != nil { // carol gives up
			t.Fatal(err)
		}
		r.waitJournal(t, 1)
		// The desk's leg ended before the session did: a row of its would
		// have been recorded by now; the last call event comes after both.
		waitCalls(t, r.me, 0, "this phone after the caller gave up")
		rows, _ := r.j.List(context.Background(), journal.Filter{User: "me"})
		if len(rows) != 1 || !rows[0].Missed || rows[0].Direction != cti.Incoming {
			t.Fatalf("journal %+v, want exactly one missed call", rows)
		}
	})
}

// waitDevices waits for a DevicesChanged on sub matching pred.
func waitDevices(t *testing.T, sub *cti.Subscription, what string, pred func(cti.DevicesChanged) bool) cti.DevicesChanged {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if dc, ok := ev.(cti.DevicesChanged); ok && pred(dc) {
				return dc
			}
		case <-deadline:
			t.Fatalf("waiting for %s", what)
		}
	}
}

// targetOf is device name's target in devs.
func targetOf(devs []cti.DeviceInfo, name string) string {
	for _, d := range devs {
		if d.Name == name {
			return d.Target
		}
	}
	return ""
}

// TestDeviceChangesAreEvents (issue 10): switching the active device and
// changing a device's target reach subscribers as DevicesChanged with the
// whole new value, on the Service and on a Line; this softphone's own
// device is not the controller's to retarget.
func TestDeviceChangesAreEvents(t *testing.T) {
	r := newDeviceRig(t)
	if err := r.me.SetDevice(t.Context(), "mobile"); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, r.sub, "mobile active", func(dc cti.DevicesChanged) bool {
		return len(dc.Active) > 0 && dc.Active[0] == "mobile" && len(dc.Devices) == 2
	})

	line := cti.NewLine(r.ad, "me", quietLog())
	defer line.Close()
	lsub := line.Subscribe()
	defer lsub.Close()

	const next = "sip:newmobile@127.0.0.1:5998"
	if err := r.me.SetDeviceTarget(t.Context(), "mobile", next); err != nil {
		t.Fatalf("SetDeviceTarget: %v", err)
	}
	for _, sub := range []*cti.Subscription{r.sub, lsub} {
		dc := waitDevices(t, sub, "mobile's new target", func(dc cti.DevicesChanged) bool { return targetOf(dc.Devices, "mobile") == next })
		if !slices.Equal(dc.Active, []string{"mobile"}) {
			t.Errorf("DevicesChanged active %v, want [mobile]", dc.Active)
		}
	}
	if devs, err := r.me.DeviceList(t.Context()); err != nil || targetOf(devs, "mobile") != next {
		t.Errorf("DeviceList after the edit: %+v (%v)", devs, err)
	}
	if err := r.me.SetDeviceTarget(t.Context(), "desk", "sip:x@127.0.0.1"); !errors.Is(err, cti.ErrBadState) {
		t.Errorf("retarget desk: %v, want ErrBadState", err)
	}
	if err := line.SetDeviceTarget(t.Context(), "mobile", "+49900123456"); err == nil {
		t.Error("a premium target was accepted")
	}
	if err := line.SetDeviceTarget(t.Context(), "mobile", r.mobile.URI()); err != nil {
		t.Fatalf("Line.SetDeviceTarget: %v", err)
	}
	waitDevices(t, r.sub, "mobile back", func(dc cti.DevicesChanged) bool { return targetOf(dc.Devices, "mobile") == r.mobile.URI() })
}

// TestRemoteDevices (issue 10): over the control protocol a ctl.Remote
// lists, switches and retargets the user's devices, and the changes
// arrive as DevicesChanged events, as on the Service itself.
func TestRemoteDevices(t *testing.T) {
	r := newDeviceRig(t)
	const token = "s3cret"
	srv, err := ctl.ServerConfig{Addr: "127.0.0.1:0", Token: token, Logger: quietLog()}.Listen(t.Context(), r.me)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rem, err := ctl.NewRemote(t.Context(), func(ctx context.Context) (*ctl.Client, error) { return ctl.Dial(ctx, srv.Addr(), token) })
	if err != nil {
		t.Fatal(err)
	}
	defer rem.Close()
	sub := rem.Subscribe()
	defer sub.Close()

	if err := rem.SetDevice(t.Context(), "mobile"); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, sub, "mobile active", func(dc cti.DevicesChanged) bool { return len(dc.Active) > 0 && dc.Active[0] == "mobile" })
	if act, err := rem.Devices(t.Context()); err != nil || !slices.Equal(act, []string{"mobile"}) {
		t.Errorf("Devices: %v (%v), want [mobile]", act, err)
	}
	const next = "sip:newmobile@127.0.0.1:5998"
	if err := rem.SetDeviceTarget(t.Context(), "mobile", next); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, sub, "the new target", func(dc cti.DevicesChanged) bool { return targetOf(dc.Devices, "mobile") == next })
	devs, err := rem.DeviceList(t.Context())
	if err != nil || targetOf(devs, "mobile") != next || !devs[0].Local {
		t.Errorf("DeviceList: %+v (%v), want desk local and mobile at %s", devs, err, next)
	}
	var ce *ctl.Error
	if err := rem.SetDeviceTarget(t.Context(), "desk", next); !errors.As(err, &ce) || ce.Code != ctl.CodeBadState {
		t.Errorf("retarget desk: %v, want bad_state", err)
	}
	if err := rem.SetDeviceTarget(t.Context(), "mobile", ""); !errors.As(err, &ce) || ce.Code != ctl.CodeBadRequest {
		t.Errorf("empty target: %v, want bad_request", err)
	}
}
