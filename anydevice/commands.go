package anydevice

import (
	"fmt"
	"strings"

	"github.com/anyphone/anyphone/phone"
)

// lookup returns the user's session.
func (c *Controller) lookup(userID string, id SessionID) (*session, error) {
	c.mu.Lock()
	s := c.sessions[id]
	c.mu.Unlock()
	if s == nil {
		return nil, ErrNoSuchSession
	}
	if s.user.ID != userID {
		// Someone else's call: to this user it does not exist.
		_ = c.refuse(userID, "session-not-owned", fmt.Sprintf("command on session %s", id))
		return nil, ErrNoSuchSession
	}
	return s, nil
}

// Hold puts the remote party of a bridged session on hold, in the remote
// leg's dialect; the device leg stays up.
func (c *Controller) Hold(userID string, id SessionID) error { return c.setUserHold(userID, id, true) }

// Resume takes the remote party off hold.
func (c *Controller) Resume(userID string, id SessionID) error {
	return c.setUserHold(userID, id, false)
}

func (c *Controller) setUserHold(userID string, id SessionID, on bool) error {
	s, err := c.lookup(userID, id)
	if err != nil {
		return err
	}
	var cmdErr error
	if !s.do(func() {
		if s.state() != StateBridged {
			cmdErr = ErrBadState
			return
		}
		s.userHold = on
		s.reconcileHold()
		s.publish()
	}) {
		return ErrNoSuchSession
	}
	return cmdErr
}

// Hangup ends a session: every leg gets BYE or CANCEL with a Reason.
func (c *Controller) Hangup(userID string, id SessionID) error {
	s, err := c.lookup(userID, id)
	if err != nil {
		return err
	}
	if !s.do(func() { s.hangupAll(reasonNormal) }) {
		return ErrNoSuchSession
	}
	return nil
}

// Move carries a bridged session over to another of the user's devices
// (desk to mobile and back): the new device is called showing the remote
// party; when it answers, the remote leg is relayed to it and the old
// device leg is released with a Reason. The remote party's dialog is
// never touched, so it notices nothing.
func (c *Controller) Move(userID string, id SessionID, device string) error {
	s, err := c.lookup(userID, id)
	if err != nil {
		return err
	}
	u, _ := c.user(userID)
	dev, ok := u.Device(device)
	if !ok {
		return c.refuse(userID, "device-not-owned", "move to "+device)
	}
	var cmdErr error
	if !s.do(func() {
		if s.state() != StateBridged || s.moving != nil || s.cons != nil || s.transferred {
			cmdErr = ErrBadState
			return
		}
		if strings.EqualFold(s.dev.dev.Name, dev.Name) && s.dev.dev.Target == dev.Target {
			cmdErr = fmt.Errorf("move: already on %s: %w", dev.Name, ErrBadState)
			return
		}
		from := s.rem.call.Remote
		if s.kind == KindCallback {
			from = phone.Party{User: userPart(s.info.Remote), DisplayName: s.info.Remote}
		}
		l, err := s.dial("device", dev, dev.Target, phone.DialOptions{FromUser: from.User, FromDisplay: from.DisplayName})
		if err != nil {
			cmdErr = err
			return
		}
		s.moving = l
		s.publish()
	}) {
		return ErrNoSuchSession
	}
	return cmdErr
}

// onMoveLeg follows the new device leg of a move.
func (s *session) onMoveLeg(l *leg, prev phone.CallInfo) {
	if l != s.moving {
		return
	}
	switch {
	case l.call.State == phone.CallActive && prev.State != phone.CallActive:
		old := s.dev
		s.moving = nil
		s.dev = l
		Connect(l.port, s.rem.port)
		old.port.Listen(nil)
		s.hangupLeg(old, reasonMoved, "moved")
		s.reconcileHold()
	case l.ended:
		s.moving = nil // the move failed; the call stays where it was
	}
}
