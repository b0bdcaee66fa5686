package anydevice_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestCodecRelay bridges callbacks whose legs negotiated wideband codecs.
// Legs on the same codec relay packets as they are: a 6 kHz tone (both
// phones' audio at 48 kHz) crosses Opus↔Opus and G.722↔G.722 although the
// controller's PCM path runs at 8 kHz. Legs on different codecs transcode
// through PCM (Opus↔PCMU, G.722↔PCMA): tones cross both ways, the packet
// relay stays off, and DTMF crosses both ways, each digit once.
func TestCodecRelay(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mobile, dest string
		toneM, toneD float64
		packets      bool
	}{
		{"opus both legs relays packets", "opus", "opus", 6000, 5000, true},
		{"G722 both legs relays packets", "G722", "G722", 6000, 5000, true},
		{"opus to PCMU transcodes", "opus", "PCMU", 1000, 600, false},
		{"G722 to PCMA transcodes", "G722", "PCMA", 1000, 600, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mobile := phonetest.NewPhone(t, tc.toneM, &phone.Config{Name: "mobile", Codecs: []string{tc.mobile}, AudioRate: 48000})
			dest := phonetest.NewPhone(t, tc.toneD, &phone.Config{Name: "+4930555", Codecs: []string{tc.dest}, AudioRate: 48000})
			desk := phonetest.NewPhone(t, 0, &phone.Config{Name: "desk"})
			ctl, rec := newController(t, []anydevice.User{alice(desk.URI(), mobile.URI())}, func(c *anydevice.Config) {
				c.Phone.Codecs = []string{"opus", "G722", "PCMU", "PCMA"}
			})
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
			if got := mobile.Events.WaitState(t, a.ID, phone.CallActive).Codec; got != tc.mobile {
				t.Errorf("mobile leg on %q, want %q", got, tc.mobile)
			}
			if got := dest.Events.WaitState(t, b.ID, phone.CallActive).Codec; got != tc.dest {
				t.Errorf("destination leg on %q, want %q", got, tc.dest)
			}
			dest.Media.WaitTone(t, b.ID, tc.toneM, 5*time.Second)
			mobile.Media.WaitTone(t, a.ID, tc.toneD, 5*time.Second)
			if tc.packets {
				waitRelaying(t, ctl, devLeg, true)
				waitRelaying(t, ctl, remLeg, true)
			} else {
				for _, id := range []phone.CallID{devLeg, remLeg} {
					if st, _ := ctl.LegPacketStats(id); st.Relaying || st.Forwarded != 0 {
						t.Errorf("leg %s: %+v, want PCM (the codecs differ)", id, st)
					}
				}
			}
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
			if err := ctl.Hangup("alice", sid); err != nil {
				t.Fatal(err)
			}
			dest.Events.WaitState(t, b.ID, phone.CallEnded)
		})
	}
}
