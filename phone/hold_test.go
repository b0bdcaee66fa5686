package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// received counts samples call id received during d; the sleep is the
// measurement window, not a wait.
func received(t *testing.T, p *phonetest.Phone, id phone.CallID, d time.Duration) int {
	t.Helper()
	det := p.Media.Detector(id)
	if det == nil {
		t.Fatalf("call %s has no media", id)
	}
	before := det.Total()
	time.Sleep(d)
	return det.Total() - before
}

func TestHoldDialectsStopAndResumeRTP(t *testing.T) {
	for _, tc := range []struct {
		dialect     phone.HoldDialect
		holderHears bool // does the holding side still receive audio?
		remoteHears bool // does the held side still receive audio (music on hold)?
	}{
		{phone.HoldSendonly, false, true},
		{phone.HoldInactive, false, false},
		{phone.HoldZeroIP, false, false},
	} {
		t.Run(tc.dialect.String(), func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", HoldDialect: tc.dialect})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := answerOn(t, b)
			a.Events.WaitState(t, id, phone.CallActive)
			b.Events.WaitState(t, in.ID, phone.CallActive)
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)

			if err := a.Hold(id); err != nil {
				t.Fatalf("hold: %v", err)
			}
			if ci, _ := a.Call(id); !ci.LocalHold {
				t.Errorf("holder: LocalHold = false after Hold")
			}
			b.Events.WaitCall(t, 5*time.Second, "remote hold at bob", func(ci phone.CallInfo) bool { return ci.ID == in.ID && ci.RemoteHold })
			// Not a wait: audio sent before the hold may still be in
			// flight (jitter buffer included), and no event marks its end.
			time.Sleep(200 * time.Millisecond)
			const window = 600 * time.Millisecond
			gotA, gotB := received(t, a, id, window), received(t, b, in.ID, window)
			if (gotA > 0) != tc.holderHears {
				t.Errorf("held %s: holder received %d samples in %s, want audio=%v", tc.dialect, gotA, window, tc.holderHears)
			}
			if (gotB > 0) != tc.remoteHears {
				t.Errorf("held %s: held side received %d samples in %s, want audio=%v", tc.dialect, gotB, window, tc.remoteHears)
			}

			if err := a.Resume(id); err != nil {
				t.Fatalf("resume: %v", err)
			}
			b.Events.WaitCall(t, 5*time.Second, "remote resume at bob", func(ci phone.CallInfo) bool { return ci.ID == in.ID && !ci.RemoteHold })
			a.Media.Detector(id).Reset()
			b.Media.Detector(in.ID).Reset()
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
		})
	}
}
