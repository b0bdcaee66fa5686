package cti

import (
	"sync"
	"time"

	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/phone"
)

// This file wires the busy policy (cti/busy) into the phone: every incoming
// call is screened before it rings (phone.Config.Screen), from the calls
// that already exist and the call's secondary-call headers, and the
// Decision becomes a phone.Screening: 486/480/603 with a Q.850 Reason,
// a 302 to voicemail with Diversion and History-Info, call waiting, a
// silent ring, or a plain ring; plus the no-answer timeout.

// policyState is the Service's busy handling.
type policyState struct {
	engine *busy.Engine
	// aor is our account's AOR ("" without an account): the called party
	// for secondary-call classification and voicemail diversion.
	aor string
	// noAnswerOff is set while no policy was ever configured (Options.Policy
	// nil, no SetPolicy): calls then ring until the caller gives up.
	noAnswerOff bool
}

// initPolicy builds the engine and hooks the screening into pc. Called by
// New before the phone exists.
func (s *Service) initPolicy(pc *phone.Config) error {
	p := busy.Policy{}
	if s.opts.Policy != nil {
		p = *s.opts.Policy
	}
	s.policy.noAnswerOff = s.opts.Policy == nil
	if pc.Account != nil {
		s.policy.aor = pc.Account.AOR
	}
	eng, err := busy.NewEngine(p, s.onOverride)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.policy.engine = eng
	s.mu.Unlock()
	pc.Screen = s.screen
	return nil
}

// onOverride runs when the override changes (on the caller's goroutine or
// the engine's timer): it only publishes.
func (s *Service) onOverride(busy.Override) {
	s.mu.Lock()
	eng := s.policy.engine
	s.mu.Unlock()
	if eng == nil {
		return // NewEngine applying the initial override
	}
	s.publish(PolicyChanged{Policy: eng.Policy()})
}

// screen is phone.Config.Screen: it runs on the new call's goroutine before
// the call is published.
func (s *Service) screen(ci phone.CallInfo) phone.Screening {
	called := s.policy.aor
	if called == "" {
		called = ci.Local.URI
	}
	in := busy.Incoming{
		From:      ci.Remote.URI,
		Called:    called,
		Secondary: phone.ClassifySecondary(ci.Headers, called),
	}
	sc := screenScratchPool.Get().(*screenScratch)
	sc.calls = s.ph.CallStatuses(sc.calls[:0])
	sit := busy.SummarizeStatus(sc.ids, sc.calls, ci.ID, s.inConference)
	d := s.policy.engine.Decide(sit, in)
	sc.ids = sit.Calls
	screenScratchPool.Put(sc)
	scr := screeningFor(d)
	ev := PolicyDecision{CallID: ci.ID, Decision: d, Secondary: in.Secondary}
	s.mu.Lock()
	off := s.policy.noAnswerOff
	s.mu.Unlock()
	if !d.Action.Rejects() && !off {
		after, na := s.policy.engine.NoAnswer(in)
		then := screeningFor(na)
		scr.NoAnswer, scr.NoAnswerThen = after, &then
		if after == 0 {
			// RFC-less corner: a 0 s timeout means "at once", but phone
			// only arms positive timers.
			scr = then
		}
		ev.NoAnswerAfter, ev.NoAnswer = after, &na
	}
	s.log.Debug("busy policy", "call_id", ci.ID, "action", d.Action, "rule", d.Rule, "detail", d.Detail)
	s.publish(ev)
	return scr
}

// inConference reports whether the call is one leg of a local three-way
// conference, so the policy's in_conference action applies to a call that
// arrives meanwhile (issue 15; before, every conference leg counted as a
// plain active call).
func (s *Service) inConference(id phone.CallID) bool {
	c, ok := s.ph.Call(id)
	return ok && c.Conference != ""
}

// screenScratch holds screen's per-call lists, reused: they grow with the
// number of calls, and screen runs for every incoming one. Decide keeps
// nothing of the Situation.
type screenScratch struct {
	calls []phone.CallStatus
	ids   []phone.CallID
}

var screenScratchPool = sync.Pool{New: func() any { return new(screenScratch) }}

// screeningFor maps a busy Decision to what phone does with the call.
func screeningFor(d busy.Decision) phone.Screening {
	scr := phone.Screening{Rule: string(d.Rule), Code: d.Code, Phrase: d.Phrase, Reason: d.Reason}
	switch d.Action {
	case busy.Busy, busy.Unavailable, busy.Decline:
		scr.Action = phone.ScreenReject
	case busy.Voicemail:
		scr.Action = phone.ScreenRedirect
		scr.Target = d.Target
		if d.Diversion != "" {
			scr.Headers = append(scr.Headers, [2]string{"Diversion", d.Diversion})
		}
		if d.HistoryInfo != "" {
			scr.Headers = append(scr.Headers, [2]string{"History-Info", d.HistoryInfo})
		}
	case busy.Wait:
		scr.Action = phone.ScreenWait
	case busy.Silent:
		scr.Action = phone.ScreenSilent
	default: // Alert, and Unset which Decide never returns
		scr.Action = phone.ScreenRing
	}
	return scr
}

// SetPolicy replaces the busy policy, keeping any override. It returns a
// *busy.FieldError naming the bad field (errors.Is busy.ErrInvalidPolicy).
// From now on the policy's no-answer timeout applies to new calls.
func (s *Service) SetPolicy(p busy.Policy) error {
	if err := s.policy.engine.SetPolicy(p); err != nil {
		return err
	}
	s.mu.Lock()
	s.policy.noAnswerOff = false
	s.mu.Unlock()
	s.publish(PolicyChanged{Policy: s.policy.engine.Policy()})
	return nil
}

// Policy returns the current busy policy with its override.
func (s *Service) Policy() busy.Policy { return s.policy.engine.Policy() }

// LetThroughFor lets every call through (as if busy handling and DND were
// off) for d from now.
func (s *Service) LetThroughFor(d time.Duration) busy.Override {
	return s.policy.engine.LetThroughFor(d)
}

// LetThroughUntilCallEnds lets every call through until the call id ends.
func (s *Service) LetThroughUntilCallEnds(id CallID) busy.Override {
	return s.policy.engine.LetThroughUntilCallEnds(id)
}

// ClearOverride ends any override now.
func (s *Service) ClearOverride() { s.policy.engine.ClearOverride() }

// policyCallEnded ends an "until this call ends" override. It runs on the
// event path.
func (s *Service) policyCallEnded(ci phone.CallInfo) {
	s.policy.engine.CallEnded(ci.ID)
}
