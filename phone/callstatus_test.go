package phone_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// statusesOf is what CallStatuses must report: Calls projected, by ID.
func statusesOf(calls []phone.CallInfo) []phone.CallStatus {
	var out []phone.CallStatus
	for _, c := range calls {
		out = append(out, phone.CallStatus{ID: c.ID, State: c.State, LocalHold: c.LocalHold})
	}
	return sortStatuses(out)
}

func sortStatuses(s []phone.CallStatus) []phone.CallStatus {
	slices.SortFunc(s, func(a, b phone.CallStatus) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return s
}

func TestCallStatusesMatchCalls(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	check := func(step string, p *phonetest.Phone, want int) {
		t.Helper()
		got := sortStatuses(p.CallStatuses(nil))
		if len(got) != want {
			t.Errorf("%s: %d statuses %+v, want %d", step, len(got), got, want)
		}
		if exp := statusesOf(p.Calls()); !slices.Equal(got, exp) {
			t.Errorf("%s: CallStatuses = %+v, Calls say %+v", step, got, exp)
		}
	}
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallRinging)
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	check("ringing, caller", a, 1)
	check("ringing, callee", b, 1)
	if err := b.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallActive)
	b.Events.WaitState(t, in.ID, phone.CallActive)
	if err := a.Hold(id); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitCall(t, 5*time.Second, "held", func(ci phone.CallInfo) bool { return ci.ID == id && ci.LocalHold })
	check("held, caller", a, 1)
	if got := a.CallStatuses([]phone.CallStatus{{ID: "kept"}}); len(got) != 2 || got[0].ID != "kept" || !got[1].LocalHold {
		t.Errorf("CallStatuses(dst) = %+v, want dst kept and the held call appended", got)
	}
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallEnded)
	b.Events.WaitState(t, in.ID, phone.CallEnded)
	check("ended, caller", a, 0)
	check("ended, callee", b, 0)
}
