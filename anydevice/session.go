package anydevice

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// Reason header values the controller sends when it ends legs.
const (
	reasonNormal   = `Q.850;cause=16;text="Normal call clearing"`
	reasonMoved    = `SIP;cause=200;text="Call moved to another device"`
	reasonFastAns  = `SIP;cause=480;text="Answered too fast: voicemail"`
	reasonCanceled = `SIP;cause=487;text="Originator cancelled"`
)

// ackGuard delays a BYE right after our ACK so that it cannot overtake
// the ACK at the callee (LIBRARIES defect #7).
const ackGuard = 200 * time.Millisecond

// leg is one call of a session. Only the session goroutine touches it.
type leg struct {
	role   string // "device" or "remote"
	dev    Device // for device legs
	id     phone.CallID
	call   phone.CallInfo
	dialed time.Time
	port   *Port
	note   string
	ended  bool
	// holdBusy is true while a hold or resume we sent is under way.
	holdBusy bool
	// charged is true while the leg holds a trunk channel.
	charged bool
	// referOf is the leg whose REFER placed this one, until it answers
	// and takes that leg's place (refer.go).
	referOf *leg
}

func (l *leg) dialect() phone.HoldDialect {
	d, _ := phone.ParseHoldDialect(l.dev.Hold)
	if d == phone.HoldDefault {
		d = phone.HoldSendonly
	}
	return d
}

// session is one call across its legs. Its goroutine (run) alone changes
// its legs; phone events and commands reach it through channels.
type session struct {
	c    *Controller
	id   SessionID
	user User
	kind Kind

	events chan phone.Event
	cmds   chan func()
	done   chan struct{}

	// session goroutine state
	legs     []*leg
	dev      *leg // the device leg that carries the call
	rem      *leg // the remote party's leg
	moving   *leg // a new device leg while a move is under way
	confirm  *leg // a device leg waiting for its confirm key
	timers   []*time.Timer
	pending  int // staged device legs not dialed yet
	userHold bool
	ending   bool
	plan     callbackPlan

	// consultation (consult.go): cons is the third leg, talk the leg the
	// device talks to (rem or cons), conf mixes all three, transferred
	// means the device left and rem and cons talk to each other.
	cons        *leg
	talk        *leg
	conf        bool
	transferred bool

	mu   sync.Mutex
	info SessionInfo
}

func (c *Controller) newSession(u User, kind Kind, remote string) *session {
	s := &session{
		c:      c,
		id:     SessionID(fmt.Sprintf("s%d", c.seq.Add(1))),
		user:   u,
		kind:   kind,
		events: make(chan phone.Event, 1024),
		cmds:   make(chan func(), 64),
		done:   make(chan struct{}),
		info:   SessionInfo{User: u.ID, Kind: kind, Remote: remote, Created: time.Now(), State: StateIdle},
	}
	s.info.ID = s.id
	return s
}

// startLocked registers s and starts its goroutine. c.mu must be held.
func (c *Controller) startLocked(s *session) {
	c.sessions[s.id] = s
	c.wg.Add(1)
	go func() {
		// run is the session goroutine: started here, joined by Shutdown
		// through c.wg.
		defer c.wg.Done()
		s.run()
	}()
}

// post hands a phone event to the session; it never blocks (the buffer is
// large; a session that cannot keep up loses events and logs it).
func (s *session) post(ev phone.Event) {
	select {
	case s.events <- ev:
	case <-s.done:
	default:
		s.c.log.Error("session event queue full", "session", s.id)
	}
}

// do runs f on the session goroutine and waits for it; false if the
// session ended.
func (s *session) do(f func()) bool {
	ran := make(chan struct{})
	select {
	case s.cmds <- func() { f(); close(ran) }:
	case <-s.done:
		return false
	}
	select {
	case <-ran:
		return true
	case <-s.done:
		// f may have ended the session (a hang-up): then both are ready
		// and select picks either; f ran, so say so.
		select {
		case <-ran:
			return true
		default:
			return false
		}
	}
}

// later runs f on the session goroutine after d.
func (s *session) later(d time.Duration, f func()) {
	t := time.AfterFunc(d, func() {
		select {
		case s.cmds <- f:
		case <-s.done:
		}
	})
	s.timers = append(s.timers, t)
}

func (s *session) run() {
	defer s.finish()
	for !s.over() {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case f := <-s.cmds:
			f()
		}
	}
}

// over reports whether every leg ended and nothing is pending.
func (s *session) over() bool {
	if len(s.legs) == 0 {
		return s.ending
	}
	for _, l := range s.legs {
		if !l.ended {
			return false
		}
	}
	return s.pending == 0 || s.ending
}

func (s *session) finish() {
	for _, t := range s.timers {
		t.Stop()
	}
	for _, l := range s.legs {
		s.c.detach(l.id)
		l.charged = false
	}
	s.mu.Lock()
	s.info.State = StateEnded
	s.info.Ended = time.Now()
	if s.info.End == "" {
		s.info.End = "ended"
	}
	s.mu.Unlock()
	s.publish()
	s.c.mu.Lock()
	delete(s.c.sessions, s.id)
	s.c.mu.Unlock()
	close(s.done)
	s.c.emit(SessionEnded{Session: s.snapshot()})
}

func (s *session) snapshot() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.info
	in.Legs = slices.Clone(in.Legs)
	return in
}

// publish copies the legs into info and emits SessionChanged. Session
// goroutine only.
func (s *session) publish() {
	legs := make([]LegInfo, 0, len(s.legs))
	ch := 0
	for _, l := range s.legs {
		legs = append(legs, LegInfo{Role: l.role, Device: l.dev.Name, Call: l.call, Dialed: l.dialed, Note: l.note})
		if l.charged {
			ch++
		}
	}
	s.mu.Lock()
	s.info.Legs = legs
	s.info.Channels = ch
	s.info.Held = s.userHold
	s.info.Consulting = s.cons != nil && !s.cons.ended && !s.transferred
	s.info.Conference = s.conf
	s.info.Transferred = s.transferred
	s.info.Talking = ""
	if s.talk != nil && s.info.Consulting {
		s.info.Talking = s.talk.role
	}
	if s.dev != nil {
		s.info.Device = s.dev.dev.Name
	}
	in := s.info
	s.mu.Unlock()
	s.c.emit(SessionChanged{Session: in})
}

func (s *session) setState(st State) {
	s.mu.Lock()
	s.info.State = st
	if st == StateBridged && s.info.Answered.IsZero() {
		s.info.Answered = time.Now()
	}
	s.mu.Unlock()
}

func (s *session) state() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info.State
}

func (s *session) setEnd(why string) {
	s.mu.Lock()
	if s.info.End == "" {
		s.info.End = why
	}
	s.mu.Unlock()
}

// dial places a leg. Failures end nothing by themselves: the caller
// decides.
func (s *session) dial(role string, dev Device, target string, o phone.DialOptions) (*leg, error) {
	o.Owner = ownerOf(s, role, dev) // the gate (gate.go) judges and charges the leg
	id, err := s.c.ph.Dial(s.c.ctx, s.c.target(target), o)
	if err != nil {
		return nil, fmt.Errorf("dial %s leg: %w", role, err)
	}
	l := &leg{role: role, dev: dev, id: id, dialed: time.Now(), charged: true}
	l.port = s.c.portFor(id, true)
	l.call = phone.CallInfo{ID: id, Direction: phone.Outgoing, State: phone.CallDialing}
	s.legs = append(s.legs, l)
	s.c.attach(id, s)
	s.publish()
	return l, nil
}

// adopt makes an existing call (the incoming one) a leg of s.
// c.mu must be held (it is called from onPhoneEvent).
func (s *session) adoptLocked(ci phone.CallInfo) *leg {
	l := &leg{role: "remote", id: ci.ID, call: ci, dialed: ci.Created, charged: true}
	p := NewPort()
	s.c.ports[ci.ID] = p
	l.port = p
	s.c.legs[ci.ID] = s
	s.c.chargeLocked(ci.ID, true) // admitted by screen
	s.legs = append(s.legs, l)
	return l
}

func (s *session) legOf(id phone.CallID) *leg {
	for _, l := range s.legs {
		if l.id == id {
			return l
		}
	}
	return nil
}

func (s *session) handle(ev phone.Event) {
	switch e := ev.(type) {
	case phone.CallChanged:
		l := s.legOf(e.Call.ID)
		if l == nil || l.ended {
			return
		}
		prev := l.call
		l.call = e.Call
		if e.Call.State == phone.CallEnded {
			l.ended = true
			l.charged = false // the controller gave the channel back (onPhoneEvent)
		}
		if l.referOf != nil {
			s.onReferLeg(l, prev)
			s.publish()
			return
		}
		if s.onConsultLeg(l, prev) {
			if s.state() == StateBridged {
				s.reconcileHold()
			}
			s.publish()
			return
		}
		switch s.kind {
		case KindCallback:
			s.onCallbackLeg(l, prev)
		case KindFollowMe:
			s.onFollowMeLeg(l, prev)
		}
		if s.state() == StateBridged {
			s.reconcileHold()
		}
		s.publish()
	case phone.DTMFReceived:
		l := s.legOf(e.CallID)
		if l == nil || l.ended {
			return
		}
		s.onDTMF(l, e.Digit)
	}
}

// peerOf is the leg l's audio and DTMF go to while bridged.
func (s *session) peerOf(l *leg) *leg {
	switch l {
	case s.dev:
		return s.rem
	case s.rem:
		return s.dev
	}
	return nil
}

func (s *session) onDTMF(l *leg, digit rune) {
	if s.confirm == l {
		if string(digit) == l.dev.ConfirmKey {
			s.confirm = nil
			s.win(l)
			s.publish()
		}
		return
	}
	if s.state() != StateBridged {
		return
	}
	peer := s.peerOf(l)
	if peer == nil || peer.ended {
		return
	}
	// RFC 4733 events are re-sent in the far leg's own telephone-event
	// payload type by its media pump: no audio leak, no PT mix-up
	// (LIBRARIES defect #16, #18). The packet relay already carries them
	// as they are (relay.go).
	if !l.port.relaysTo(peer.port) {
		if err := s.c.ph.SendDTMF(peer.id, string(digit)); err != nil {
			s.c.log.Info("dtmf relay", "session", s.id, "err", err)
		}
	}
	s.c.emit(DTMF{Session: s.id, From: l.role, Digit: digit})
}

// bridge connects the device and remote legs' audio.
func (s *session) bridge() {
	s.dev.port.SetFill(nil)
	s.rem.port.SetFill(nil)
	Connect(s.dev.port, s.rem.port)
	s.setState(StateBridged)
}

// reconcileHold makes each bridged leg's hold match the other side:
// the remote leg is held while the device holds us or the user pressed
// hold; the device leg is held while the remote holds us. Each leg is
// held in its own dialect (the SBC translation: a leg that only accepts
// sendonly gets sendonly even when the other sent c=0.0.0.0). Our own
// holds only change LocalHold, and we only react to RemoteHold, so there
// is no ping-pong.
//
// During a consultation the party the device does not talk to is parked
// on hold; in a conference nobody is; after a transfer the two remaining
// legs follow each other's hold.
func (s *session) reconcileHold() {
	if s.transferred {
		if s.rem != nil && s.cons != nil && !s.rem.ended && !s.cons.ended {
			s.setHold(s.rem, s.cons.call.RemoteHold)
			s.setHold(s.cons, s.rem.call.RemoteHold)
		}
		return
	}
	if s.dev == nil || s.rem == nil || s.dev.ended || s.rem.ended {
		return
	}
	devHeld := s.dev.call.RemoteHold
	s.setHold(s.rem, devHeld || s.userHold || s.parked(s.rem))
	if s.cons != nil && !s.cons.ended {
		s.setHold(s.cons, devHeld || s.parked(s.cons))
	}
	if t := s.talking(); t != nil && !t.ended && !s.conf {
		s.setHold(s.dev, t.call.RemoteHold)
	} else {
		s.setHold(s.dev, false)
	}
}

func (s *session) setHold(l *leg, want bool) {
	if l.holdBusy || l.call.State != phone.CallActive || l.call.LocalHold == want {
		return
	}
	l.holdBusy = true
	id, dialect := l.id, l.dialect()
	s.c.wg.Add(1)
	go func() {
		// Owned by c.wg: a re-INVITE can take up to 32 s, so it does not
		// run on the session goroutine; its result comes back as a command.
		defer s.c.wg.Done()
		var err error
		if want {
			err = s.c.ph.HoldWith(id, dialect)
		} else {
			err = s.c.ph.Resume(id)
		}
		select {
		case s.cmds <- func() {
			l.holdBusy = false
			if err != nil {
				s.c.log.Info("hold relay", "session", s.id, "call_id", id, "want", want, "err", err)
				return
			}
			if ci, ok := s.c.ph.Call(id); ok {
				l.call = ci
			}
			s.reconcileHold()
			s.publish()
		}:
		case <-s.done:
		}
	}()
}

// hangupLeg ends a leg with a Reason header unless it ended already.
func (s *session) hangupLeg(l *leg, reason, note string) {
	if l == nil || l.ended || l.call.State == phone.CallEnding {
		return
	}
	if note != "" && l.note == "" {
		l.note = note
	}
	if err := s.c.ph.HangupWithReason(l.id, reason); err != nil {
		s.c.log.Info("hangup leg", "session", s.id, "call_id", l.id, "err", err)
	}
}

// hangupAll ends every leg (the user hung up, or shutdown).
func (s *session) hangupAll(reason string) {
	s.ending = true
	s.pending = 0
	for _, t := range s.timers {
		t.Stop()
	}
	for _, l := range s.legs {
		if l.role == "remote" && s.kind == KindFollowMe && l.call.State == phone.CallIncoming {
			_ = s.c.ph.Reject(l.id, 480, "Temporarily Unavailable")
			continue
		}
		s.hangupLeg(l, reason, "")
	}
	s.setEnd("hangup")
}

// endCause names how a leg ended for SessionInfo.End.
func endCause(l *leg) string {
	e := l.call.End
	if e == nil {
		return l.role + "-ended"
	}
	if e.Code != 0 && e.Cause == phone.EndRejected {
		return fmt.Sprintf("%s-%d", l.role, e.Code)
	}
	return l.role + "-" + e.Cause.String()
}

// reasonFor turns a leg's end into a Reason header for the other leg
// (RFC 3326): its SIP code, or its Q.850 cause, or normal clearing.
func reasonFor(l *leg) string {
	e := l.call.End
	if e == nil {
		return reasonNormal
	}
	if e.Q850 != 0 {
		return fmt.Sprintf("Q.850;cause=%d", e.Q850)
	}
	if e.Code >= 300 {
		return fmt.Sprintf("SIP;cause=%d;text=%q", e.Code, e.Reason)
	}
	return reasonNormal
}
