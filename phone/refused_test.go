package phone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestRefusedInviteReported (issue 13): an initial INVITE refused before
// it became a call (415 for a body that is not SDP, 400 for a malformed
// offer) is a CallRefused and an ended CallChanged with its rule; a flood
// of them makes at most one report per rule per second, the later ones
// counted in the next.
func TestRefusedInviteReported(t *testing.T) {
	p := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	res := rawInvite(t, p, "hello", sip.NewHeader("Content-Type", "text/plain"))
	if res.StatusCode != 415 {
		t.Fatalf("text/plain body: %d, want 415", res.StatusCode)
	}
	ev := p.Events.WaitFor(t, 5*time.Second, "the 415 refusal", func(ev phone.Event) bool {
		r, ok := ev.(phone.CallRefused)
		return ok && r.Call.Rule == phone.RuleUnsupportedMedia
	}).(phone.CallRefused)
	if ev.Count != 1 || ev.Call.End == nil || ev.Call.End.Code != 415 || ev.Call.State != phone.CallEnded || !strings.Contains(ev.Why, "text/plain") {
		t.Errorf("415 refusal = %+v end %+v", ev, ev.Call.End)
	}
	p.Events.WaitCall(t, 5*time.Second, "the refused call, ended", func(ci phone.CallInfo) bool {
		return ci.ID == ev.Call.ID && ci.State == phone.CallEnded
	})

	const flood = 8
	garbage := fixture(t, "garbage.sdp")
	for i := range flood {
		if res := rawInvite(t, p, garbage); res.StatusCode != 400 {
			t.Fatalf("garbage %d: %d, want 400", i, res.StatusCode)
		}
	}
	// The first at once, the others summed up when its second is over.
	// (WaitFor calls its predicate under the events' lock: it must not call
	// Events.All, and sees an event again on each change.)
	seen := map[phone.CallID]bool{}
	var got []phone.CallRefused
	n := 0
	p.Events.WaitFor(t, 5*time.Second, "all the bad-sdp refusals counted", func(ev phone.Event) bool {
		if r, ok := ev.(phone.CallRefused); ok && r.Call.Rule == phone.RuleBadSDP && !seen[r.Call.ID] {
			seen[r.Call.ID] = true
			got = append(got, r)
			n += r.Count
		}
		return n == flood
	})
	if len(got) >= flood || got[0].Count != 1 || got[0].Call.End.Code != 400 {
		t.Errorf("%d refusals reported for %d INVITEs, first %+v", len(got), flood, got[0])
	}
	last := got[len(got)-1]
	if last.Count > 1 && !strings.Contains(last.Why, "more refused") {
		t.Errorf("aggregated refusal without its count: %q", last.Why)
	}
	for _, r := range got {
		t.Logf("refused %d %s x%d: %s", r.Call.End.Code, r.Call.Rule, r.Count, r.Why)
	}
}
