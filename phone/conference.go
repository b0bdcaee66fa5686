package phone

// Local three-way conference: two calls mixed with the local audio. Each
// remote party hears the other plus our microphone; each call's sink still
// gets what its own peer says, so the local speaker (which plays every
// call's sink) hears both. The mixing is done by the calls' media pumps:
// the reader of one call queues the frames it decodes, the writer of the
// other adds them to what it sends.

import (
	"context"
	"fmt"
	"sync"
)

// frameQueue holds the last few 20 ms frames one call received, for the
// other call's writer. It drops the oldest frame when the reader runs
// ahead, so delay stays bounded.
type frameQueue struct {
	mu sync.Mutex
	q  [][]int16
}

const maxQueuedFrames = 6

func (f *frameQueue) push(fr []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) >= maxQueuedFrames {
		f.q = f.q[1:]
	}
	f.q = append(f.q, append([]int16(nil), fr...))
}

// mixInto adds the oldest queued frame to dst with saturation; false when
// nothing was queued.
func (f *frameQueue) mixInto(dst []int16) bool {
	f.mu.Lock()
	if len(f.q) == 0 {
		f.mu.Unlock()
		return false
	}
	fr := f.q[0]
	f.q = f.q[1:]
	f.mu.Unlock()
	for i := range min(len(dst), len(fr)) {
		dst[i] = addSat(dst[i], fr[i])
	}
	return true
}

func addSat(a, b int16) int16 {
	s := int32(a) + int32(b)
	switch {
	case s > 32767:
		return 32767
	case s < -32768:
		return -32768
	}
	return int16(s)
}

// confLink ties a call into a conference: rx receives what this call's
// peer says; mix is the other call's rx.
type confLink struct {
	other *call
	rx    *frameQueue
	mix   *frameQueue
}

// confLinkOf returns the call's link, nil outside a conference.
func (c *call) confLinkOf() *confLink {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mc.conf
}

// Conference mixes calls a and b with the local audio. Calls we hold are
// resumed first. It fails with ErrBadState if either call is not active or
// already in a conference.
func (p *Phone) Conference(a, b CallID) error { return p.ConferenceContext(p.ctx, a, b) }

// ConferenceContext is Conference for a caller whose ctx bounds the
// resuming re-INVITEs.
func (p *Phone) ConferenceContext(ctx context.Context, a, b CallID) error {
	ca, cb := p.lookup(a), p.lookup(b)
	if ca == nil || cb == nil {
		return ErrNoSuchCall
	}
	if ca == cb || ca.state() != CallActive || cb.state() != CallActive {
		return ErrBadState
	}
	if ca.confLinkOf() != nil || cb.confLinkOf() != nil {
		return ErrBadState
	}
	for _, id := range []CallID{a, b} {
		if err := p.ResumeContext(ctx, id); err != nil {
			return fmt.Errorf("conference: resume %s: %w", id, err)
		}
	}
	qa, qb := &frameQueue{}, &frameQueue{}
	ca.mu.Lock()
	ca.mc.conf = &confLink{other: cb, rx: qa, mix: qb}
	ca.mu.Unlock()
	cb.mu.Lock()
	cb.mc.conf = &confLink{other: ca, rx: qb, mix: qa}
	cb.mu.Unlock()
	ca.update(func(ci *CallInfo) { ci.Conference = b })
	cb.update(func(ci *CallInfo) { ci.Conference = a })
	return nil
}

// Split takes call id out of its conference: id stays active, the other
// call is held.
func (p *Phone) Split(id CallID) error { return p.SplitContext(p.ctx, id) }

// SplitContext is Split for a caller whose ctx bounds the holding
// re-INVITE.
func (p *Phone) SplitContext(ctx context.Context, id CallID) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	l := c.confLinkOf()
	if l == nil {
		return ErrBadState
	}
	p.unlinkConference(c)
	if l.other.state() == CallActive {
		// A peer that ignores the hold costs the user 500 ms, not Timer B
		// (transfer.go holdAwhile, issue 17).
		if err := p.holdAwhile(ctx, l.other); err != nil {
			return fmt.Errorf("split: hold %s: %w", l.other.id, err)
		}
	}
	return nil
}

// unlinkConference removes c and its partner from their conference; the
// partner keeps talking to us. Called by Split and when c's media stops.
func (p *Phone) unlinkConference(c *call) {
	c.mu.Lock()
	l := c.mc.conf
	c.mc.conf = nil
	c.mu.Unlock()
	if l == nil {
		return
	}
	c.update(func(ci *CallInfo) { ci.Conference = "" })
	o := l.other
	o.mu.Lock()
	if o.mc.conf != nil && o.mc.conf.other == c {
		o.mc.conf = nil
	}
	o.mu.Unlock()
	o.update(func(ci *CallInfo) { ci.Conference = "" })
}
