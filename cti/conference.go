package cti

import "context"

// Hold and a conference: holding either leg of a local three-way
// conference holds the conference (both parties hear hold, the legs stay
// mixed and marked), and resuming either leg resumes both, as a UC desk
// phone's Hold key does in a conference. Split (ctl split) takes one leg
// out and holds the other; Conference then rejoins them.

// confLegs returns id and, when id is a local call in a conference, the
// other leg.
func (s *Service) confLegs(id CallID) []CallID {
	c, ok := s.ph.Call(id)
	if !ok || c.Conference == "" {
		return []CallID{id}
	}
	if o, ok := s.ph.Call(c.Conference); ok && o.State == CallActive {
		return []CallID{id, c.Conference}
	}
	return []CallID{id}
}

// eachLeg runs f on id and its conference partner, stopping at the first
// error.
func (s *Service) eachLeg(ctx context.Context, id CallID, f func(context.Context, CallID) error) error {
	for _, l := range s.confLegs(id) {
		if err := f(ctx, l); err != nil {
			return err
		}
	}
	return nil
}
