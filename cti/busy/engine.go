package busy

import (
	"sync"
	"time"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Engine holds the current Policy and its Override, and ends a timed
// override on its own timer so the UI can show "calls let through until
// 14:30" and see it go. All methods are safe for concurrent use.
type Engine struct {
	onChange func(Override)

	mu     sync.Mutex
	policy Policy
	timer  *time.Timer // arms the end of policy.Override.Until; guarded by mu
	closed bool
}

// NewEngine returns an Engine for p. onChange, if not nil, is called with
// the new override whenever it changes, including when it expires; it runs
// on the timer's goroutine (owned by the runtime timer, stopped by Close) or
// on the caller's, never with the Engine's lock held, and must not block.
func NewEngine(p Policy, onChange func(Override)) (*Engine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{policy: p, onChange: onChange}
	if !p.Override.IsZero() {
		e.setOverride(p.Override)
	}
	return e, nil
}

// Policy returns a copy of the current policy, override included.
func (e *Engine) Policy() Policy {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy
}

// SetPolicy replaces the policy and keeps the current override.
func (e *Engine) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p.Override = e.policy.Override
	e.policy = p
	return nil
}

// Override returns the current override (zero if none).
func (e *Engine) Override() Override {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy.Override
}

// LetThroughFor lets calls through for d from now ("for 30 minutes").
func (e *Engine) LetThroughFor(d time.Duration) Override {
	o := Override{Until: time.Now().Add(d)}
	e.setOverride(o)
	return o
}

// LetThroughUntilCallEnds lets calls through until the call id ends
// ("until this call ends"); report the end with CallEnded.
func (e *Engine) LetThroughUntilCallEnds(id vocab.CallID) Override {
	o := Override{UntilCallEnds: id}
	e.setOverride(o)
	return o
}

// ClearOverride ends any override now.
func (e *Engine) ClearOverride() { e.setOverride(Override{}) }

// CallEnded ends an "until this call ends" override for id. Decide also
// treats the override as over once id is missing from the Situation; this
// makes the end visible through onChange.
func (e *Engine) CallEnded(id vocab.CallID) {
	e.mu.Lock()
	match := id != "" && e.policy.Override.UntilCallEnds == id
	e.mu.Unlock()
	if match {
		e.setOverride(Override{})
	}
}

// Decide applies the current policy at time.Now(). See Policy.Decide.
func (e *Engine) Decide(sit Situation, in Incoming) Decision {
	p := e.Policy()
	return p.Decide(time.Now(), sit, in)
}

// NoAnswer is Policy.NoAnswer for the current policy, with its timeout.
func (e *Engine) NoAnswer(in Incoming) (after time.Duration, d Decision) {
	p := e.Policy()
	return p.NoAnswerTimeout(), p.NoAnswer(in)
}

// Close stops the expiry timer and the onChange calls. The Engine still
// answers Decide.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

func (e *Engine) setOverride(o Override) {
	e.mu.Lock()
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.policy.Override = o
	if !o.Until.IsZero() && !e.closed {
		e.timer = time.AfterFunc(time.Until(o.Until), func() { e.expire(o) })
	}
	closed := e.closed
	e.mu.Unlock()
	if e.onChange != nil && !closed {
		e.onChange(o)
	}
}

// expire runs on the timer goroutine: it clears o if it is still the
// current override.
func (e *Engine) expire(o Override) {
	e.mu.Lock()
	if e.closed || e.policy.Override != o {
		e.mu.Unlock()
		return
	}
	e.policy.Override = Override{}
	e.timer = nil
	e.mu.Unlock()
	if e.onChange != nil {
		e.onChange(Override{})
	}
}
