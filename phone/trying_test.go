package phone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestTryingStampedOnce (issue 13): an INVITE whose handling takes longer
// than 200 ms (here a call gate deciding on a Replaces for 400 ms) gets one
// 100 Trying, sent at once through our response hook and stamped in the
// ladder when it was sent; before, sipgo's transaction sent its own after
// 200 ms past the hook (timed after the write) and diago's followed as a
// second.
func TestTryingStampedOnce(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob", Authorize: func(r phone.CallRequest) error {
		if r.Kind == phone.RequestReplaces {
			time.Sleep(400 * time.Millisecond) // a slow gate
		}
		return nil
	}})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	if err := b.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallActive)
	bin := b.Events.WaitState(t, in.ID, phone.CallActive)

	// B's local tag is the To tag of its 200 OK.
	var toTag string
	for _, m := range b.Ladder(in.ID) {
		if m.Sent && strings.HasPrefix(m.Summary, "200") && strings.Contains(m.CSeq, "INVITE") {
			if _, rest, ok := strings.Cut(m.Raw, "\r\nTo:"); ok {
				line, _, _ := strings.Cut(rest, "\r\n")
				if _, tag, ok := strings.Cut(line, "tag="); ok {
					toTag, _, _ = strings.Cut(tag, ";")
				}
			}
		}
	}
	if toTag == "" {
		t.Fatalf("no To tag in bob's 200 OK: %+v", b.Ladder(in.ID))
	}
	replaces := bin.SIPCallID + ";to-tag=" + toTag + ";from-tag=" + bin.SIPFromTag
	res := rawInvite(t, b, fixture(t, "baresip_offer.sdp"), sip.NewHeader("Replaces", replaces))
	if res.StatusCode != 200 {
		t.Fatalf("INVITE with Replaces: %d %s, want 200", res.StatusCode, res.Reason)
	}
	newCall := b.Events.WaitCall(t, 5*time.Second, "the replacing call", func(ci phone.CallInfo) bool {
		return ci.ID != in.ID && ci.Direction == phone.Incoming && ci.SIPCallID == res.CallID().Value()
	})
	var invite, trying time.Time
	n := 0
	deadline := time.Now().Add(3 * time.Second)
	for {
		invite, trying, n = time.Time{}, time.Time{}, 0
		for _, m := range b.Ladder(newCall.ID) {
			switch {
			case !m.Sent && m.Summary == "INVITE":
				invite = m.Time
			case m.Sent && m.Summary == "100 Trying":
				n++
				trying = m.Time
			}
		}
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n != 1 {
		t.Errorf("%d 100 Trying in the ladder, want one", n)
	}
	if d := trying.Sub(invite); invite.IsZero() || d < 0 || d > 150*time.Millisecond {
		t.Errorf("100 Trying %s after the INVITE, want at once (under 150 ms; sipgo's own comes at 200 ms)", d)
	}
	t.Logf("100 Trying %s after the INVITE; %d in the ladder", trying.Sub(invite), n)
}
