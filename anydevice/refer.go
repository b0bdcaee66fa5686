package anydevice

import (
	"time"

	"github.com/anyphone/anyphone/phone"
)

// A REFER the gate allowed (gate.go, policy allow_refer): the remote party
// of a bridged two-party call asks the controller to call someone else in
// its place. The controller places that call as a new leg of the same
// session; when it answers, it takes the referrer's place on the bridge and
// the referrer's leg ends (phone ends it as transferred). If it fails, the
// call goes on as it was.

// ringingDevices counts the device legs not ended. Session goroutine only
// (the gate asks from s.dial).
func (s *session) ringingDevices() int {
	n := 0
	for _, l := range s.legs {
		if l.role == "device" && !l.ended {
			n++
		}
	}
	return n
}

// referable reports whether a REFER on call id may be carried out: id is
// the remote party's leg of a bridged call with no consultation, move,
// conference or transfer under way. Session goroutine only.
func (s *session) referable(id phone.CallID) bool {
	return s.rem != nil && s.rem.id == id && !s.rem.ended && s.dev != nil && !s.dev.ended &&
		s.state() == StateBridged && s.cons == nil && s.moving == nil && !s.conf && !s.transferred &&
		s.rem.referOf == nil && !s.referring()
}

// referring reports whether a REFER-made leg is still ringing.
func (s *session) referring() bool {
	for _, l := range s.legs {
		if l.referOf != nil && !l.ended {
			return true
		}
	}
	return false
}

// adoptRefer makes call id, about to be placed for a REFER on related, a
// leg of s. Session goroutine only.
func (s *session) adoptRefer(related, id phone.CallID) bool {
	if !s.referable(related) {
		return false
	}
	old := s.rem
	l := &leg{role: "remote", id: id, dialed: time.Now(), charged: true, referOf: old}
	l.port = s.c.portFor(id, true)
	l.call = phone.CallInfo{ID: id, Direction: phone.Outgoing, State: phone.CallDialing}
	s.legs = append(s.legs, l)
	s.c.attach(id, s)
	s.publish()
	return true
}

// onReferLeg follows a REFER-made leg until it answers and takes the
// referrer's place, or fails and is forgotten.
func (s *session) onReferLeg(l *leg, prev phone.CallInfo) {
	old := l.referOf
	switch {
	case l.ended:
		l.referOf = nil
		l.note = "refer failed"
	case l.call.State == phone.CallActive && prev.State != phone.CallActive:
		l.referOf = nil
		if s.rem != old || s.dev == nil || s.dev.ended {
			s.hangupLeg(l, reasonNormal, "too late")
			return
		}
		old.note = "transferred"
		s.rem = l
		s.mu.Lock()
		s.info.Remote = l.call.Remote.User
		if s.info.Remote == "" {
			s.info.Remote = l.call.Remote.URI
		}
		s.mu.Unlock()
		old.port.Listen(nil)
		s.bridge()
		s.reconcileHold()
	}
}
