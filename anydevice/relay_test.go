package anydevice_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// waitRelaying waits until the leg's packet relay is (or is not) in use.
func waitRelaying(t *testing.T, ctl *anydevice.Controller, id phone.CallID, want bool) anydevice.PacketStats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, ok := ctl.LegPacketStats(id)
		if ok && st.Relaying == want && (!want || st.Sent > 0) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("leg %s: packet relay %+v (found %v), want relaying %v", id, st, ok, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPacketRelay bridges a callback whose legs both negotiated PCMU: the
// controller relays packets (no decode, no pacing) both ways, DTMF crosses
// once as telephone-event, hold stops the relay and resume restarts it.
// With Config.PCMRelay the same call goes through PCM.
func TestPacketRelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pcm     bool
		packets bool
	}{
		{name: "same codec relays packets", packets: true},
		{name: "PCMRelay keeps PCM", pcm: true, packets: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"})
			dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555"})
			desk := phonetest.NewPhone(t, 0, &phone.Config{Name: "desk"})
			ctl, rec := newController(t, []anydevice.User{alice(desk.URI(), mobile.URI())}, func(c *anydevice.Config) { c.PCMRelay = tc.pcm })
			sid, err := ctl.Callback(t.Context(), "alice", dest.URI(), anydevice.CallbackOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a := answer(t, mobile, 0)
			b := answer(t, dest, 0)
			info := rec.waitSession(t, sid, anydevice.StateBridged)
			var devLeg, remLeg phone.CallID
			for _, l := range info.Legs {
				switch l.Role {
				case "device":
					devLeg = l.Call.ID
				case "remote":
					remLeg = l.Call.ID
				}
			}
			dest.Media.WaitTone(t, b.ID, 1000, 5*time.Second)
			mobile.Media.WaitTone(t, a.ID, 600, 5*time.Second)
			if tc.packets {
				waitRelaying(t, ctl, devLeg, true)
				waitRelaying(t, ctl, remLeg, true)
			} else {
				for _, id := range []phone.CallID{devLeg, remLeg} {
					if st, _ := ctl.LegPacketStats(id); st.Relaying || st.Forwarded != 0 {
						t.Errorf("leg %s: %+v with PCMRelay", id, st)
					}
				}
			}

			// DTMF both ways, each digit once.
			if err := mobile.SendDTMF(a.ID, "73"); err != nil {
				t.Fatal(err)
			}
			waitDigits(t, dest, b.ID, "73")
			if err := dest.SendDTMF(b.ID, "*"); err != nil {
				t.Fatal(err)
			}
			waitDigits(t, mobile, a.ID, "*")
			time.Sleep(300 * time.Millisecond) // a doubled digit would show now
			if got := dtmfDigits(dest, b.ID); got != "73" {
				t.Errorf("destination received %q, want 73", got)
			}

			// The device holds: the destination is held, the relay
			// sends nothing to it; resume brings the audio back.
			if err := mobile.Hold(a.ID); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitCall(t, 5*time.Second, "held", func(ci phone.CallInfo) bool { return ci.ID == b.ID && ci.RemoteHold })
			time.Sleep(300 * time.Millisecond)
			if err := mobile.Resume(a.ID); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitCall(t, 5*time.Second, "resumed", func(ci phone.CallInfo) bool { return ci.ID == b.ID && !ci.RemoteHold })
			dest.Media.Detector(b.ID).Reset()
			mobile.Media.Detector(a.ID).Reset()
			dest.Media.WaitTone(t, b.ID, 1000, 5*time.Second)
			mobile.Media.WaitTone(t, a.ID, 600, 5*time.Second)
			if tc.packets {
				waitRelaying(t, ctl, remLeg, true)
			}
			if err := ctl.Hangup("alice", sid); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitState(t, b.ID, phone.CallEnded)
		})
	}
}

// TestPacketRelayMove moves a packet-relayed call to another device: the
// remote leg's relay switches to the new device's packets.
func TestPacketRelayMove(t *testing.T) {
	mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"})
	desk := phonetest.NewPhone(t, 700, &phone.Config{Name: "desk"})
	dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555"})
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
	mobile.Events.WaitState(t, a.ID, phone.CallEnded)
	dest.Media.Detector(b.ID).Reset()
	dest.Media.WaitTone(t, b.ID, 700, 5*time.Second)
	desk.Media.WaitTone(t, d.ID, 600, 5*time.Second)
	if det := dest.Media.Detector(b.ID); det.Detected(1000, 0.2) {
		t.Errorf("destination still hears the old device (1000 Hz ratio %.2f)", det.Ratio(1000))
	}
	info, _ := ctl.Session(sid)
	for _, l := range info.Legs {
		if l.Call.State == phone.CallActive {
			waitRelaying(t, ctl, l.Call.ID, true)
		}
	}
	if err := desk.SendDTMF(d.ID, "9"); err != nil {
		t.Fatal(err)
	}
	waitDigits(t, dest, b.ID, "9")
}
