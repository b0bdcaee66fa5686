package anydevice

import (
	"fmt"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// TestRequestOutcomeToOwner: the outcome of a request on a leg goes to
// the user whose session the leg is, with the leg's role and device, also
// after the leg ended (within legMemory); outcomes outside a leg, of an
// unknown call or of a leg forgotten long ago go nowhere.
func TestRequestOutcomeToOwner(t *testing.T) {
	c := &Controller{legs: map[phone.CallID]*session{}, past: map[phone.CallID]pastLeg{}}
	s := &session{c: c, id: "s1", user: User{ID: "alice"}}
	s.info.Legs = []LegInfo{
		{Role: "device", Device: "mobile", Call: phone.CallInfo{ID: "c1"}},
		{Role: "remote", Call: phone.CallInfo{ID: "c2"}},
	}
	c.legs["c1"], c.legs["c2"] = s, s
	ch, stop := c.Subscribe(8)
	defer stop()
	next := func() (RequestOutcome, bool) {
		select {
		case ev := <-ch:
			o, ok := ev.(RequestOutcome)
			return o, ok
		default:
			return RequestOutcome{}, false
		}
	}

	c.onRequestOutcome(phone.RequestOutcome{CallID: "c1", Method: "BYE", Outcome: phone.OutcomeTransportError})
	if o, ok := next(); !ok || o.User != "alice" || o.Session != "s1" || o.Role != "device" || o.Leg() != "mobile" || o.Outcome.Method != "BYE" {
		t.Errorf("live leg: %+v %v, want alice's BYE on the mobile", o, ok)
	}
	c.mu.Lock()
	c.rememberLocked("c2", s)
	delete(c.legs, "c2")
	c.mu.Unlock()
	c.onRequestOutcome(phone.RequestOutcome{CallID: "c2", Method: "BYE", Outcome: phone.OutcomeTimedOut})
	if o, ok := next(); !ok || o.User != "alice" || o.Leg() != "remote" {
		t.Errorf("ended leg: %+v %v, want alice's BYE on the remote leg", o, ok)
	}
	for _, id := range []phone.CallID{"", "c9"} {
		c.onRequestOutcome(phone.RequestOutcome{CallID: id, Method: "REGISTER"})
		if o, ok := next(); ok {
			t.Errorf("call %q: emitted %+v, want nothing", id, o)
		}
	}
	// A leg that ended longer than legMemory ago is forgotten at the next
	// detach; the memory stays bounded at maxPastLegs.
	c.mu.Lock()
	c.past["c2"] = pastLeg{s: s, ended: time.Now().Add(-legMemory - time.Second)}
	for i := range maxPastLegs + 10 {
		c.rememberLocked(phone.CallID(fmt.Sprintf("x%d", i)), s)
	}
	_, kept := c.past["c2"]
	n := len(c.past)
	c.mu.Unlock()
	if kept {
		t.Error("a leg ended longer than legMemory ago is still remembered")
	}
	if n > maxPastLegs {
		t.Errorf("%d ended legs remembered, want at most %d", n, maxPastLegs)
	}
}
