package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestConferenceMixesBothParties(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leaver string // who hangs up at the end: "bob" or "carol"
	}{
		{name: "bob leaves", leaver: "bob"},
		{name: "carol leaves", leaver: "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"}) // silent host
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			c := phonetest.NewPhone(t, 2000, &phone.Config{Name: "carol"})
			aB, bA := connect(t, a, b, 0, 1000)
			aC, cA := connect(t, a, c, 0, 2000)
			if err := a.Conference(aB, aC); err != nil {
				t.Fatalf("conference: %v", err)
			}
			if ci, _ := a.Call(aB); ci.Conference != aC {
				t.Errorf("call %s conference = %q, want %s", aB, ci.Conference, aC)
			}
			b.Media.Detector(bA).Reset()
			c.Media.Detector(cA).Reset()
			b.Media.WaitTone(t, bA, 2000, 5*time.Second)
			c.Media.WaitTone(t, cA, 1000, 5*time.Second)

			leaver, lid, stay, sid, aStay := b, bA, c, cA, aC
			if tc.leaver == "carol" {
				leaver, lid, stay, sid, aStay = c, cA, b, bA, aB
			}
			if err := leaver.Hangup(lid); err != nil {
				t.Fatal(err)
			}
			a.Events.WaitCall(t, 5*time.Second, "remaining call leaves the conference", func(ci phone.CallInfo) bool {
				return ci.ID == aStay && ci.Conference == "" && ci.State == phone.CallActive
			})
			if ci, ok := stay.Call(sid); !ok || ci.State != phone.CallActive {
				t.Fatalf("remaining party's call: %+v", ci)
			}
			// The remaining call still carries audio to the host.
			a.Media.Detector(aStay).Reset()
			want := 2000.0
			if tc.leaver == "carol" {
				want = 1000
			}
			a.Media.WaitTone(t, aStay, want, 5*time.Second)
		})
	}
}

func TestSplitHoldsTheOther(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	c := phonetest.NewPhone(t, 2000, &phone.Config{Name: "carol"})
	aB, _ := connect(t, a, b, 0, 1000)
	aC, cA := connect(t, a, c, 0, 2000)
	if err := a.Conference(aB, aC); err != nil {
		t.Fatal(err)
	}
	if err := a.Split(aB); err != nil {
		t.Fatalf("split: %v", err)
	}
	ci, _ := a.Call(aC)
	if !ci.LocalHold || ci.Conference != "" {
		t.Errorf("after split, carol's call = hold %v conference %q; want held, none", ci.LocalHold, ci.Conference)
	}
	c.Events.WaitCall(t, 5*time.Second, "carol held", func(ci phone.CallInfo) bool { return ci.ID == cA && ci.RemoteHold })
	if err := a.Split(aB); err == nil {
		t.Errorf("second split succeeded, want ErrBadState")
	}
}
