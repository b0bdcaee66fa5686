package anydevice

import (
	"time"

	"github.com/anyphone/anyphone/phone"
)

// newFollowMeLocked starts a follow-me session for an incoming call to a
// user's number: the user's active devices ring at once or after their
// RingDelay. c.mu must be held (called from onPhoneEvent).
func (c *Controller) newFollowMeLocked(ci phone.CallInfo) *session {
	u := c.byNumber[ci.Local.User]
	if u == nil {
		return nil
	}
	cp := *u
	remote := ci.Remote.User
	if remote == "" {
		remote = ci.Remote.URI
	}
	s := c.newSession(cp, KindFollowMe, remote)
	s.rem = s.adoptLocked(ci)
	c.startLocked(s)
	// The first command the session runs: schedule the devices.
	devs := make([]Device, 0, len(cp.Active))
	for _, n := range cp.Active {
		if d, ok := cp.Device(n); ok {
			devs = append(devs, d)
		}
	}
	s.pending = len(devs)
	select {
	case s.cmds <- func() { s.startFollowMe(devs) }:
	default:
	}
	return s
}

func (s *session) startFollowMe(devs []Device) {
	s.setState(StateDeviceRinging)
	for _, d := range devs {
		if d.RingDelay <= 0 {
			s.ringDevice(d)
			continue
		}
		s.later(d.RingDelay, func() { s.ringDevice(d) })
	}
	s.publish()
	s.checkAllFailed()
}

// ringDevice places one follow-me leg: the device sees the caller's
// identity and a History-Info that marks the call secondary (RFC 7044), so
// it does not forward it again.
func (s *session) ringDevice(d Device) {
	s.pending--
	if s.ending || s.dev != nil || s.rem.ended {
		return
	}
	from := s.rem.call.Remote
	o := phone.DialOptions{
		FromUser:    from.User,
		FromDisplay: from.DisplayName,
		Headers: [][2]string{
			{"History-Info", historyInfo(s.c.identityURI(s.rem.call.Local.User), s.c.target(d.Target), 302)},
		},
	}
	if _, err := s.dial("device", d, d.Target, o); err != nil {
		s.c.log.Info("follow-me leg", "session", s.id, "device", d.Name, "err", err)
		s.checkAllFailed()
		return
	}
	s.publish()
}

func (s *session) onFollowMeLeg(l *leg, prev phone.CallInfo) {
	if l == s.rem {
		if !l.ended {
			return
		}
		// The caller hung up (or gave up, or went to voicemail).
		s.ending = true
		s.pending = 0
		s.setEnd(endCauseOr("remote", l))
		reason := reasonCanceled
		if s.dev != nil {
			reason = reasonFor(l)
		}
		if l.call.End != nil && l.call.End.Cause == phone.EndTimeout {
			reason = `SIP;cause=408;text="No answer: voicemail"`
		}
		for _, x := range s.legs {
			if x != l {
				s.hangupLeg(x, reason, "")
			}
		}
		return
	}
	if s.moving == l || (s.dev != nil && s.dev != l) {
		if l.call.State == phone.CallActive && prev.State != phone.CallActive && s.dev != nil && s.moving != l {
			// Answered although another device won (a 200 crossed the
			// CANCEL): BYE with the same reason.
			l.note = "lost"
			s.later(ackGuard, func() { s.hangupLeg(l, phone.ReasonCompletedElsewhere, "lost") })
			return
		}
		s.onMoveLeg(l, prev)
		return
	}
	switch {
	case l == s.dev && l.ended:
		s.ending = true
		s.setEnd(endCauseOr("device", l))
		s.hangupLeg(s.rem, reasonFor(l), "")
	case l.call.State == phone.CallActive && prev.State != phone.CallActive:
		if g := l.dev.FastAnswer; g > 0 && time.Since(l.dialed) < g {
			// The seed's Avaya trap done right: a too-fast answer is the
			// carrier's voicemail; drop that leg only, the others ring on.
			// The BYE waits a little so that it cannot overtake our ACK
			// (LIBRARIES defect #7: the callee would see "no ACK").
			l.note = "voicemail"
			s.later(ackGuard, func() { s.hangupLeg(l, reasonFastAns, "voicemail") })
			return
		}
		if l.dev.ConfirmKey != "" {
			if s.confirm == nil {
				s.confirm = l
				l.port.SetFill(&prompt{})
				s.setState(StateConfirming)
			}
			return
		}
		s.win(l)
	case l.ended:
		if s.confirm == l {
			s.confirm = nil
			s.setState(StateDeviceRinging)
		}
		if l.note == "" && l.call.End != nil && l.call.End.Cause == phone.EndRejected {
			l.note = "declined"
		}
		// A decline on one device does not end the call while others
		// still ring (the seed's busy trap).
		s.checkAllFailed()
	}
}

// win makes l the device that carries the call: answer the caller, cancel
// the others with "Call completed elsewhere", bridge.
func (s *session) win(l *leg) {
	s.dev = l
	s.pending = 0
	for _, t := range s.timers {
		t.Stop()
	}
	for _, x := range s.legs {
		if x != l && x != s.rem {
			s.hangupLeg(x, phone.ReasonCompletedElsewhere, "lost")
		}
	}
	if err := s.c.ph.Answer(s.rem.id); err != nil {
		s.c.log.Info("answer caller", "session", s.id, "err", err)
	}
	s.bridge()
}

// checkAllFailed ends the caller's call when no device rings any more and
// none is left to ring: to the user's voicemail (302 with History-Info
// carrying 486 or 480) when there is one, else 486 if a device declined
// busy, else 480.
func (s *session) checkAllFailed() {
	if s.dev != nil || s.pending > 0 || s.confirm != nil || s.rem.ended {
		return
	}
	code, phrase := 480, "Temporarily Unavailable"
	for _, x := range s.legs {
		if x == s.rem {
			continue
		}
		if !x.ended {
			return
		}
		if e := x.call.End; e != nil && (e.Code == 486 || e.Code == 600) {
			code, phrase = 486, "Busy Here"
		}
	}
	s.ending = true
	if vm := s.user.Voicemail; vm != "" {
		// Every device declined or failed: the caller goes to the user's
		// voicemail (302 from the ringing state) with History-Info naming
		// why, so the box can say "busy" or "not available".
		hi := historyInfo(s.c.identityURI(s.rem.call.Local.User), vm, code)
		err := s.c.ph.Redirect(s.rem.id, s.c.target(vm), [][2]string{{"History-Info", hi}})
		if err == nil {
			s.setEnd("voicemail")
			return
		}
		s.c.log.Info("redirect caller to voicemail", "session", s.id, "err", err)
	}
	s.setEnd("no-device")
	if err := s.c.ph.Reject(s.rem.id, code, phrase); err != nil {
		s.c.log.Info("reject caller", "session", s.id, "err", err)
	}
}
