package anydevice

import (
	"fmt"
	"strings"

	"github.com/anyphone/anyphone/phone"
)

// Consultation, toggle, transfer and conference on a bridged session. The
// controller is the anchor, so all of them act on its own legs and relay
// ports instead of asking the peers (REFER, Replaces) to do anything: the
// user's consultation is a third leg from the controller (three trunk
// channels while it is up), toggle swaps which leg the device's port is
// connected to and parks the other on hold in its own dialect, a transfer
// connects the remote party's port to the consultation leg's and releases
// the device, a conference mixes the three ports. Peers that do not support
// REFER or Replaces are served the same.

// reasonTransferred ends the device leg when the user transferred the call.
const reasonTransferred = `SIP;cause=200;text="Call transferred"`

// talking is the leg the device talks to: the consultation leg while the
// user consults, else the remote party.
func (s *session) talking() *leg {
	if s.talk != nil && !s.talk.ended {
		return s.talk
	}
	return s.rem
}

// parked reports whether l waits on hold while the user talks to the
// other party of a consultation.
func (s *session) parked(l *leg) bool {
	return !s.conf && s.cons != nil && !s.cons.ended && s.talking() != l
}

// checkTarget applies the user's dial policy to a consultation or
// transfer target; it returns the address to dial.
func (s *session) checkTarget(what, target string) (string, error) {
	number := destNumber(&s.user.Policy, target)
	if rule := s.user.Policy.Judge(target); rule != "" {
		return "", s.c.refuseTo(s.user.ID, target, rule, what+" to "+target)
	}
	if err := s.c.cfg.routable(target); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if number != "" && !strings.Contains(target, "@") {
		return number, nil
	}
	return target, nil
}

// dialThird places the consultation (or blind transfer) leg as the user's
// office number, like leg B of a callback.
func (s *session) dialThird(target string) error {
	callerID := s.plan.callerID
	if callerID == "" {
		callerID = s.user.Office()
	}
	o := phone.DialOptions{
		FromUser:    callerID,
		FromDisplay: s.user.Display,
		Headers:     [][2]string{{"P-Asserted-Identity", pai(s.user.Display, s.c.identityURI(callerID))}},
	}
	l, err := s.dial("consult", Device{}, target, o)
	if err != nil {
		return err
	}
	s.cons = l
	return nil
}

// withBridged runs f on the session goroutine when the session is bridged.
func (c *Controller) withBridged(userID string, id SessionID, f func(s *session) error) error {
	s, err := c.lookup(userID, id)
	if err != nil {
		return err
	}
	var cmdErr error
	if !s.do(func() {
		if s.state() != StateBridged || s.transferred || s.dev == nil || s.rem == nil || s.rem.ended {
			cmdErr = ErrBadState
			return
		}
		cmdErr = f(s)
		s.reconcileHold()
		s.publish()
	}) {
		return ErrNoSuchSession
	}
	return cmdErr
}

// Consult places a consultation call from the controller to target while
// the remote party is parked on hold (in its own dialect); the device
// hears ringback, then the target. The target is checked against the
// user's dial policy like a callback. The session then uses three trunk
// channels.
func (c *Controller) Consult(userID string, id SessionID, target string) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons != nil || s.moving != nil {
			return ErrBadState
		}
		dest, err := s.checkTarget("consult", target)
		if err != nil {
			return err
		}
		if err := s.dialThird(dest); err != nil {
			return err
		}
		s.talk = s.cons
		s.dev.port.SetFill(NewRingback())
		s.dev.port.Listen(nil)
		return nil
	})
}

// Toggle swaps the device between the remote party and the consultation
// target: the one left is parked on hold, the other resumed.
func (c *Controller) Toggle(userID string, id SessionID) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons == nil || s.cons.call.State != phone.CallActive || s.conf {
			return ErrBadState
		}
		next := s.rem
		if s.talking() == s.rem {
			next = s.cons
		}
		s.talk = next
		s.dev.port.SetFill(nil)
		Connect(s.dev.port, next.port)
		return nil
	})
}

// EndConsult hangs up the consultation leg only: the device goes back to
// the remote party, taken off hold.
func (c *Controller) EndConsult(userID string, id SessionID) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons == nil || s.cons.ended {
			return ErrBadState
		}
		s.hangupLeg(s.cons, reasonNormal, "")
		return nil
	})
}

// CompleteTransfer ends the user's part of a consultation: the remote
// party and the consultation target are relayed to each other (both taken
// off hold) and the device leg is released with a Reason. Neither peer is
// asked to do anything: no REFER, no Replaces.
func (c *Controller) CompleteTransfer(userID string, id SessionID) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons == nil || s.cons.call.State != phone.CallActive {
			return ErrBadState
		}
		s.transfer()
		return nil
	})
}

// Transfer is a blind transfer: the device leg is released at once, the
// remote party hears ringback while the controller calls target (as the
// user's office number), and the two are relayed once it answers. If the
// target does not answer, the remote party is released with its reason.
func (c *Controller) Transfer(userID string, id SessionID, target string) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons != nil || s.moving != nil {
			return ErrBadState
		}
		dest, err := s.checkTarget("transfer", target)
		if err != nil {
			return err
		}
		if err := s.dialThird(dest); err != nil {
			return err
		}
		s.transfer()
		return nil
	})
}

// transfer leaves rem and cons to each other and releases the device.
func (s *session) transfer() {
	s.transferred = true
	s.conf = false
	s.userHold = false
	Unconference(s.dev.port, s.rem.port, s.cons.port)
	s.dev.port.Listen(nil)
	if s.cons.call.State == phone.CallActive {
		s.rem.port.SetFill(nil)
		Connect(s.rem.port, s.cons.port)
	} else {
		s.rem.port.SetFill(NewRingback())
		s.rem.port.Listen(nil)
	}
	s.hangupLeg(s.dev, reasonTransferred, "transferred")
}

// Conference mixes the device, the remote party and the consultation
// target: each hears the other two. Nobody is on hold.
func (c *Controller) Conference(userID string, id SessionID) error {
	return c.withBridged(userID, id, func(s *session) error {
		if s.cons == nil || s.cons.call.State != phone.CallActive || s.conf {
			return ErrBadState
		}
		s.conf = true
		s.dev.port.SetFill(nil)
		Conference(s.dev.port, s.rem.port, s.cons.port)
		return nil
	})
}

// onConsultLeg follows the legs a consultation or transfer changed; it
// reports whether it handled the event (the kind's own handler is then
// skipped).
func (s *session) onConsultLeg(l *leg, prev phone.CallInfo) bool {
	if s.transferred {
		return s.onTransferredLeg(l, prev)
	}
	if s.cons == nil {
		return false
	}
	switch {
	case l == s.cons && l.call.State == phone.CallEarly && s.talking() == l:
		s.dev.port.Listen(l.port) // early media replaces our ringback once it carries audio
	case l == s.cons && l.call.State == phone.CallActive && prev.State != phone.CallActive:
		if s.talking() == l {
			s.dev.port.SetFill(nil)
			Connect(s.dev.port, l.port)
		}
	case l == s.cons && l.ended:
		// The consultation ended (or never answered): back to the remote
		// party, taken off hold by reconcileHold.
		s.endConsult()
	case l == s.rem && l.ended && !s.cons.ended && !s.ending:
		// The parked party hung up: the consultation becomes the call.
		if s.conf {
			Unconference(s.dev.port, s.rem.port, s.cons.port)
			s.conf = false
		}
		s.rem, s.cons, s.talk = s.cons, nil, nil
		s.rem.role = "remote"
		s.dev.port.SetFill(nil)
		Connect(s.dev.port, s.rem.port)
	case l == s.dev && l.ended:
		// The user hung up: everyone goes.
		s.ending = true
		s.setEnd(endCauseOr("device", l))
		s.hangupLeg(s.rem, reasonFor(l), "")
		s.hangupLeg(s.cons, reasonFor(l), "")
	default:
		return false
	}
	return true
}

func (s *session) endConsult() {
	if s.conf {
		Unconference(s.dev.port, s.rem.port, s.cons.port)
		s.conf = false
	}
	s.cons, s.talk = nil, nil
	s.dev.port.SetFill(nil)
	Connect(s.dev.port, s.rem.port)
}

// onTransferredLeg: after a transfer the remote party and the target talk
// through the relay; when one leaves, the other is released with its
// reason.
func (s *session) onTransferredLeg(l *leg, prev phone.CallInfo) bool {
	switch {
	case l == s.dev:
		return true // released by the transfer
	case l == s.cons && l.call.State == phone.CallEarly:
		s.rem.port.Listen(l.port)
	case l == s.cons && l.call.State == phone.CallActive && prev.State != phone.CallActive:
		s.rem.port.SetFill(nil)
		Connect(s.rem.port, l.port)
	case (l == s.cons || l == s.rem) && l.ended:
		other := s.rem
		if l == s.rem {
			other = s.cons
		}
		s.ending = true
		s.setEnd(fmt.Sprintf("transferred-%s", endCause(l)))
		s.hangupLeg(other, reasonFor(l), "")
	default:
		return false
	}
	return true
}
