package anydevice

// The outcomes of the requests the controller sends on a user's legs
// (issue 17). The phone reports each tracked request's fate (answered,
// timed out, transport error, not sent, given up) as a
// phone.RequestOutcome naming the leg's call; the controller hands it to
// the leg's owner as a RequestOutcome, so the user's front ends (`anyphone
// ctl events`, the TUI) see it as the desk phone's user does, and other
// users never do.

import (
	"time"

	"github.com/anyphone/anyphone/phone"
)

// legMemory is how long an ended leg's session is remembered for the
// outcomes still to come: Timer F (32 s) for a BYE nobody answers, plus
// the vanish probe and a margin.
const legMemory = 2 * time.Minute

// maxPastLegs bounds the memory of ended legs: beyond it the oldest go
// (their late outcomes stay in the log and the ladder).
const maxPastLegs = 4096

type pastLeg struct {
	s     *session
	ended time.Time
}

// rememberLocked keeps the session of leg id, which just ended, for
// legMemory, and forgets the legs that ended before that.
// c.mu must be held.
func (c *Controller) rememberLocked(id phone.CallID, s *session) {
	now := time.Now()
	for pid, pl := range c.past {
		if now.Sub(pl.ended) > legMemory {
			delete(c.past, pid)
		}
	}
	if len(c.past) >= maxPastLegs {
		var oldest phone.CallID
		var at time.Time
		for pid, pl := range c.past {
			if at.IsZero() || pl.ended.Before(at) {
				oldest, at = pid, pl.ended
			}
		}
		delete(c.past, oldest)
	}
	c.past[id] = pastLeg{s: s, ended: now}
}

// onRequestOutcome hands the outcome of a request on a leg to the user
// whose session the leg is (or was). Outcomes of requests outside a leg
// (the controller's REGISTERs, OPTIONS) stay in the log. It runs on phone
// goroutines and never blocks.
func (c *Controller) onRequestOutcome(o phone.RequestOutcome) {
	if o.CallID == "" {
		return
	}
	c.mu.Lock()
	s := c.legs[o.CallID]
	if s == nil {
		s = c.past[o.CallID].s
	}
	c.mu.Unlock()
	if s == nil {
		return
	}
	role, dev := s.publishedLeg(o.CallID)
	c.emit(RequestOutcome{User: s.user.ID, Session: s.id, Role: role, Device: dev, Outcome: o})
}

// publishedLeg is the role and device of leg id as last published (any
// goroutine: it reads the session's published value).
func (s *session) publishedLeg(id phone.CallID) (role, device string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.info.Legs {
		if l.Call.ID == id {
			return l.Role, l.Device
		}
	}
	return "", ""
}
