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

const office = "+4989100"

func alice(desk, mobile string) anydevice.User {
	return anydevice.User{
		ID: "alice", Token: "alice-secret", Display: "Alice", Numbers: []string{office, "+4989101"},
		Devices: []anydevice.Device{
			{Name: "desk", Target: desk, Hold: "inactive"},
			{Name: "mobile", Target: mobile, Hold: "sendonly"},
		},
		Active: []string{"mobile"},
	}
}

// TestCallback is the outgoing AnyDevice call: device first, ringback, the
// destination as the office number, relay both ways, DTMF and hold across,
// teardown with Reason from either side.
func TestCallback(t *testing.T) {
	for _, tc := range []struct {
		name        string
		remoteHangs bool
	}{
		{"destination hangs up", true},
		{"device hangs up", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile", TraceFile: filepath.Join(dir, "mobile.trace")})
			dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555", TraceFile: filepath.Join(dir, "dest.trace")})
			desk := phonetest.NewPhone(t, 0, &phone.Config{Name: "desk"})
			ctl, rec := newController(t, []anydevice.User{alice(desk.URI(), mobile.URI())}, nil)

			sid, err := ctl.Callback(t.Context(), "alice", dest.URI(), anydevice.CallbackOptions{})
			if err != nil {
				t.Fatalf("Callback: %v", err)
			}
			// Leg A first, showing the destination.
			a := mobile.Events.WaitState(t, "", phone.CallIncoming)
			if a.Remote.User != "+4930555" {
				t.Errorf("device sees caller %+v, want the destination +4930555", a.Remote)
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(dest.Calls()); n != 0 {
				t.Fatalf("destination called before the device answered (%d calls)", n)
			}
			answeredAt := time.Now()
			if err := mobile.Answer(a.ID); err != nil {
				t.Fatal(err)
			}
			mobile.Events.WaitState(t, a.ID, phone.CallActive)

			// Leg B as the office number, From and P-Asserted-Identity.
			b := dest.Events.WaitState(t, "", phone.CallIncoming)
			if !b.Created.After(answeredAt) {
				t.Errorf("leg B created %s, not after the device answered %s", b.Created, answeredAt)
			}
			if b.Remote.User != office {
				t.Errorf("destination sees caller %+v, want %s", b.Remote, office)
			}
			if pai := strings.Join(b.Headers["P-Asserted-Identity"], ","); !strings.Contains(pai, "sip:"+office+"@") {
				t.Errorf("destination got P-Asserted-Identity %q, want %s", pai, office)
			}
			waitTrace(t, filepath.Join(dir, "dest.trace"), "From: \"Alice\" <sip:"+office+"@")

			// Ringback on A while B rings.
			mobile.Media.WaitTone(t, a.ID, 425, 4*time.Second)
			rec.waitSession(t, sid, anydevice.StateRemoteRinging)

			if err := dest.Answer(b.ID); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitState(t, b.ID, phone.CallActive)
			info := rec.waitSession(t, sid, anydevice.StateBridged)
			if info.Channels != 2 {
				t.Errorf("channels = %d, want 2", info.Channels)
			}

			// Audio both ways through the relay.
			dest.Media.WaitTone(t, b.ID, 1000, 5*time.Second)
			mobile.Media.WaitTone(t, a.ID, 600, 5*time.Second)

			// DTMF both ways.
			if err := mobile.SendDTMF(a.ID, "159#"); err != nil {
				t.Fatal(err)
			}
			waitDigits(t, dest, b.ID, "159#")
			if err := dest.SendDTMF(b.ID, "42"); err != nil {
				t.Fatal(err)
			}
			waitDigits(t, mobile, a.ID, "42")

			// Hold from the device in RFC 2543 form reaches the destination
			// as a=sendonly (its dialect), and resume comes back.
			if err := mobile.HoldWith(a.ID, phone.HoldZeroIP); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitCall(t, 5*time.Second, "remote hold at destination", func(ci phone.CallInfo) bool { return ci.ID == b.ID && ci.RemoteHold })
			tr := waitTrace(t, filepath.Join(dir, "dest.trace"), "a=sendonly")
			if i := strings.LastIndex(tr, "a=sendonly"); strings.Contains(tr[max(0, i-600):i], "c=IN IP4 0.0.0.0") {
				t.Errorf("destination got the device's c=0.0.0.0 instead of its own dialect")
			}
			// diago races between a re-INVITE's ACK and the next re-INVITE
			// of the same dialog (LIBRARIES defect #8): give the ACK time.
			time.Sleep(300 * time.Millisecond)
			if err := mobile.Resume(a.ID); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitCall(t, 5*time.Second, "resume at destination", func(ci phone.CallInfo) bool { return ci.ID == b.ID && !ci.RemoteHold && ci.State == phone.CallActive })

			// Linked teardown with a Reason.
			hanger, other, hid, oid, otherTrace := dest, mobile, b.ID, a.ID, "mobile.trace"
			if !tc.remoteHangs {
				hanger, other, hid, oid, otherTrace = mobile, dest, a.ID, b.ID, "dest.trace"
			}
			if err := hanger.Hangup(hid); err != nil {
				t.Fatal(err)
			}
			end := other.Events.WaitState(t, oid, phone.CallEnded)
			if end.End == nil || end.End.Cause != phone.EndRemoteHangup {
				t.Errorf("other leg end = %+v, want remote-hangup", end.End)
			}
			waitTrace(t, filepath.Join(dir, otherTrace), "Reason: Q.850;cause=16")
			ended := rec.wait(t, 5*time.Second, "session ended", func(ev anydevice.Event) bool {
				e, ok := ev.(anydevice.SessionEnded)
				return ok && e.Session.ID == sid
			}).(anydevice.SessionEnded)
			if ended.Session.Answered.IsZero() || len(ended.Session.Legs) != 2 || ended.Session.Kind != anydevice.KindCallback {
				t.Errorf("journal record = %+v", ended.Session)
			}
			n := 0
			for _, ev := range rec.events() {
				if _, ok := ev.(anydevice.SessionEnded); ok {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d SessionEnded records, want 1 for the whole call", n)
			}
			if st, _ := ctl.Status("alice"); st.Channels != 0 || len(st.Sessions) != 0 {
				t.Errorf("after the call: status %+v", st)
			}
		})
	}
}
