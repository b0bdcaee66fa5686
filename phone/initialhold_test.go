package phone_test

import (
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func holdResult(t *testing.T, p *phonetest.Phone, id phone.CallID) phone.InitialHoldResult {
	t.Helper()
	return p.Events.WaitFor(t, 10*time.Second, "initial hold result", func(ev phone.Event) bool {
		r, ok := ev.(phone.InitialHoldResult)
		return ok && r.CallID == id
	}).(phone.InitialHoldResult)
}

func TestDialOnHold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dialect   phone.HoldDialect
		strict    bool
		want      phone.HoldDialect
		wantTried []phone.HoldDialect
		bHears    bool // the callee hears us while held (sendonly: music/mic)
	}{
		{name: "sendonly", dialect: phone.HoldSendonly, want: phone.HoldSendonly, bHears: true},
		{name: "inactive", dialect: phone.HoldInactive, want: phone.HoldInactive},
		{name: "zero-ip", dialect: phone.HoldZeroIP, want: phone.HoldZeroIP},
		{name: "strict peer: zero-ip falls back to sendonly", dialect: phone.HoldZeroIP, strict: true, want: phone.HoldSendonly,
			wantTried: []phone.HoldDialect{phone.HoldZeroIP, phone.HoldInactive}, bHears: true},
		{name: "strict peer: inactive falls back to sendonly", dialect: phone.HoldInactive, strict: true, want: phone.HoldSendonly,
			wantTried: []phone.HoldDialect{phone.HoldInactive}, bHears: true},
		{name: "strict peer takes sendonly", dialect: phone.HoldSendonly, strict: true, want: phone.HoldSendonly, bHears: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "agent-dialer"})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "agent", StrictHold: tc.strict})
			d := tc.dialect
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{Hold: &d})
			if err != nil {
				t.Fatal(err)
			}
			in := answerOn(t, b)
			r := holdResult(t, a, id)
			if !r.OK || r.Dialect != tc.want || !slices.Equal(r.Tried, tc.wantTried) {
				t.Errorf("result = %+v, want ok dialect %s tried %v", r, tc.want, tc.wantTried)
			}
			act := a.Events.WaitCall(t, 10*time.Second, "caller active and held", func(ci phone.CallInfo) bool {
				return ci.ID == id && ci.State == phone.CallActive && ci.LocalHold
			})
			if act.HoldDialect != tc.want {
				t.Errorf("caller hold dialect = %s, want %s", act.HoldDialect, tc.want)
			}
			b.Events.WaitCall(t, 5*time.Second, "callee active, held by remote", func(ci phone.CallInfo) bool {
				return ci.ID == in.ID && ci.State == phone.CallActive && ci.RemoteHold
			})
			time.Sleep(300 * time.Millisecond) // not a wait: audio from before the hold drains
			const window = 600 * time.Millisecond
			gotA, gotB := received(t, a, id, window), received(t, b, in.ID, window)
			if gotA > 0 {
				t.Errorf("caller on hold received %d samples", gotA)
			}
			if (gotB > 0) != tc.bHears {
				t.Errorf("callee received %d samples, want audio=%v", gotB, tc.bHears)
			}
			if err := a.Resume(id); err != nil {
				t.Fatalf("resume: %v", err)
			}
			b.Events.WaitCall(t, 5*time.Second, "callee resumed", func(ci phone.CallInfo) bool { return ci.ID == in.ID && !ci.RemoteHold })
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.Detector(in.ID).Reset()
			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
		})
	}
}

func TestStrictHoldRefusesHeldOffer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dialect phone.HoldDialect
	}{
		{"zero-ip", phone.HoldZeroIP},
		{"inactive", phone.HoldInactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each refused held offer is a 488 with the Mediation Server's
			// reason phrase in the caller's ladder.
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "a"})
			b := phonetest.NewPhone(t, 0, &phone.Config{Name: "b", StrictHold: true})
			d := tc.dialect
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{Hold: &d})
			if err != nil {
				t.Fatal(err)
			}
			answerOn(t, b)
			r := holdResult(t, a, id)
			if len(r.Tried) == 0 || r.Tried[0] != tc.dialect {
				t.Fatalf("tried = %v, want %s refused first", r.Tried, tc.dialect)
			}
			var saw488 bool
			for _, m := range a.Ladder(id) {
				if m.Summary == "488 Call hold not allowed for initial INVITE offer" && !m.Sent {
					saw488 = true
				}
			}
			if !saw488 {
				var sum []string
				for _, m := range a.Ladder(id) {
					sum = append(sum, m.Summary)
				}
				t.Errorf("ladder %v has no 488 Call hold not allowed for initial INVITE offer", sum)
			}
		})
	}
}

func TestCalleeHoldsInEveryDialect(t *testing.T) {
	for _, tc := range []struct {
		dialect     phone.HoldDialect
		callerHears bool // the held caller still receives (sendonly)
	}{
		{phone.HoldSendonly, true},
		{phone.HoldInactive, false},
		{phone.HoldZeroIP, false},
	} {
		t.Run(tc.dialect.String(), func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			id, in := connect(t, a, b, 440, 1000)
			if err := b.HoldWith(in, tc.dialect); err != nil {
				t.Fatalf("callee hold: %v", err)
			}
			a.Events.WaitCall(t, 5*time.Second, "caller held by remote", func(ci phone.CallInfo) bool { return ci.ID == id && ci.RemoteHold })
			time.Sleep(300 * time.Millisecond) // not a wait: audio from before the hold drains
			const window = 600 * time.Millisecond
			gotA, gotB := received(t, a, id, window), received(t, b, in, window)
			if gotB > 0 {
				t.Errorf("holder (callee) received %d samples", gotB)
			}
			if (gotA > 0) != tc.callerHears {
				t.Errorf("held caller received %d samples, want audio=%v", gotA, tc.callerHears)
			}
			if err := b.Resume(in); err != nil {
				t.Fatalf("resume: %v", err)
			}
			a.Events.WaitCall(t, 5*time.Second, "caller resumed", func(ci phone.CallInfo) bool { return ci.ID == id && !ci.RemoteHold })
			a.Media.Detector(id).Reset()
			b.Media.Detector(in).Reset()
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.WaitTone(t, in, 440, 5*time.Second)
		})
	}
}
