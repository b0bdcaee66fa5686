package anydevice

import (
	"slices"

	"github.com/anyphone/anyphone/phone"
)

// Ladder returns the SIP messages of a session's legs in time order, each
// summary naming its leg ("mobile: INVITE", "remote: 200 OK"): the ladder
// of a call carried by another device, as the user sees a desk call's. A
// session of another user does not exist for userID.
func (c *Controller) Ladder(userID string, id SessionID) ([]phone.SIPMessage, error) {
	s, err := c.lookup(userID, id)
	if err != nil {
		return nil, err
	}
	type legName struct {
		id   phone.CallID
		name string
	}
	var legs []legName
	if !s.do(func() {
		for _, l := range s.legs {
			name := l.role
			if l.role == "device" && l.dev.Name != "" {
				name = l.dev.Name
			} else if l == s.cons {
				name = "consultation"
			}
			legs = append(legs, legName{l.id, name})
		}
	}) {
		return nil, ErrNoSuchSession
	}
	var out []phone.SIPMessage
	for _, l := range legs {
		for _, m := range c.ph.Ladder(l.id) {
			m.Summary = l.name + ": " + m.Summary
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b phone.SIPMessage) int { return a.Time.Compare(b.Time) })
	return out, nil
}
