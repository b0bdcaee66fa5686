package phone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func ladderSummary(l []phone.SIPMessage) string {
	var s []string
	for _, m := range l {
		d := "<-"
		if m.Sent {
			d = "->"
		}
		s = append(s, d+m.Summary)
	}
	return strings.Join(s, " ")
}

// waitLadder waits until pred holds for the ladder of id (sipgo traces a
// message on its own goroutine, after the event that it caused).
func waitLadder(t *testing.T, p *phonetest.Phone, id phone.CallID, what string, pred func([]phone.SIPMessage) bool) []phone.SIPMessage {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := p.Ladder(id)
		if pred(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("ladder of %s: want %s, have %s", id, what, ladderSummary(l))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasMsg(l []phone.SIPMessage, summary string, sent bool) bool {
	for _, m := range l {
		if m.Summary == summary && m.Sent == sent {
			return true
		}
	}
	return false
}

// TestLadderKeepsFailedCalls (issue 13): the callee's ladder opens with the
// INVITE it received, both ladders outlive the rejected call, and every
// message is after the one that caused it.
func TestLadderKeepsFailedCalls(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	if err := b.Reject(in.ID, 486, ""); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallEnded)
	b.Events.WaitState(t, in.ID, phone.CallEnded)

	bl := waitLadder(t, b, in.ID, "<-INVITE ... ->486 Busy Here, <-ACK", func(l []phone.SIPMessage) bool {
		return hasMsg(l, "486 Busy Here", true) && hasMsg(l, "ACK", false)
	})
	if len(bl) == 0 || bl[0].Summary != "INVITE" || bl[0].Sent {
		t.Errorf("callee ladder = %s, want the received INVITE first", ladderSummary(bl))
	}
	al := waitLadder(t, a, id, "->INVITE ... <-486 Busy Here, ->ACK", func(l []phone.SIPMessage) bool {
		return hasMsg(l, "486 Busy Here", false) && hasMsg(l, "ACK", true)
	})
	if al[0].Summary != "INVITE" || !al[0].Sent {
		t.Errorf("caller ladder = %s, want the sent INVITE first", ladderSummary(al))
	}
	// order: a response after its request, the ACK after the 486
	for _, l := range [][]phone.SIPMessage{al, bl} {
		pos := map[string]int{}
		for i, m := range l {
			if _, ok := pos[m.Summary]; !ok {
				pos[m.Summary] = i
			}
		}
		if !(pos["INVITE"] < pos["486 Busy Here"] && pos["486 Busy Here"] < pos["ACK"]) {
			t.Errorf("ladder out of order: %s", ladderSummary(l))
		}
		for i := 1; i < len(l); i++ {
			if l[i].Time.Before(l[i-1].Time) {
				t.Errorf("ladder times out of order at %d: %s", i, ladderSummary(l))
			}
		}
	}
	// still there later: the call is gone from the phone
	if _, ok := a.Call(id); ok {
		t.Logf("call %s still known", id)
	}
	if got := a.Ladder(id); len(got) < len(al) {
		t.Errorf("ended call's ladder shrank: %s", ladderSummary(got))
	}
}
