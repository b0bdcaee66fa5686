package phone_test

import (
	"slices"
	"strconv"
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

// TestRefusedSiblingsReported (issue 13): the other refusals of an initial
// INVITE are reported like the 415 (a CallRefused with its rule and an
// ended CallChanged): 420 for a Require we lack, 406 for an Accept without
// SDP, 422 for a Session-Expires below our Min-SE, 400 for one that is no
// number.
func TestRefusedSiblingsReported(t *testing.T) {
	sdp := fixture(t, "baresip_offer.sdp")
	for _, tc := range []struct {
		name string
		hdrs []sip.Header
		code int
		rule string
		why  string
	}{
		{"require", []sip.Header{sip.NewHeader("Require", "foo-ext")}, 420, phone.RuleBadExtension, "foo-ext"},
		{"accept", []sip.Header{sip.NewHeader("Accept", "text/plain")}, 406, phone.RuleNotAcceptable, "text/plain"},
		{"session interval", []sip.Header{sip.NewHeader("Session-Expires", "30")}, 422, phone.RuleSessionInterval, "Min-SE"},
		{"session expires garbage", []sip.Header{sip.NewHeader("Session-Expires", "soon")}, 400, phone.RuleSessionInterval, "no number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
			if res := rawInvite(t, p, sdp, tc.hdrs...); res.StatusCode != tc.code {
				t.Fatalf("%s: %d, want %d", tc.name, res.StatusCode, tc.code)
			}
			ev := p.Events.WaitFor(t, 5*time.Second, "the refusal", func(ev phone.Event) bool {
				_, ok := ev.(phone.CallRefused)
				return ok
			}).(phone.CallRefused)
			if ev.Call.Rule != tc.rule || ev.Call.End == nil || ev.Call.End.Code != tc.code || !strings.Contains(ev.Why, tc.why) {
				t.Errorf("%s: refusal = rule %q why %q end %+v", tc.name, ev.Call.Rule, ev.Why, ev.Call.End)
			}
			p.Events.WaitCall(t, 5*time.Second, "the refused call, ended", func(ci phone.CallInfo) bool {
				return ci.ID == ev.Call.ID && ci.State == phone.CallEnded
			})
			// Its ladder is read by the call's id, the INVITE first.
			var sum []string
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				sum = sum[:0]
				for _, m := range p.Ladder(ev.Call.ID) {
					sum = append(sum, m.Summary)
				}
				if len(sum) >= 2 || time.Now().After(deadline) {
					break
				}
			}
			answered := slices.ContainsFunc(sum, func(s string) bool { return strings.HasPrefix(s, strconv.Itoa(tc.code)+" ") })
			if len(sum) < 2 || sum[0] != "INVITE" || !answered {
				t.Errorf("%s: ladder of %s = %v, want the INVITE and the %d", tc.name, ev.Call.ID, sum, tc.code)
			}
			t.Logf("%s: refused %d %s (%s): %s", tc.name, ev.Call.End.Code, ev.Call.End.Reason, ev.Call.Rule, ev.Why)
		})
	}
}
