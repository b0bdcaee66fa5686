package api

import "sync"

// Bus fans events out to subscribers without ever blocking the sender: each
// subscriber has a bounded buffer; when it is full the event is dropped and
// the subscriber gets a Lagged event as soon as there is room. The zero
// value is ready to use; cti.Service owns one.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until Close.
type Subscription struct {
	C       <-chan Event
	ch      chan Event
	b       *Bus
	dropped int // guarded by b.mu
	closed  bool
}

// Subscribe adds a subscriber with a buffer of buf events (256 if buf <= 0).
func (b *Bus) Subscribe(buf int) *Subscription {
	if buf <= 0 {
		buf = 256
	}
	ch := make(chan Event, buf)
	s := &Subscription{C: ch, ch: ch, b: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*Subscription]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription and closes C. It is safe to call twice.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(s.b.subs, s)
	close(s.ch)
}

// Publish delivers ev to every subscriber without blocking.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.dropped > 0 {
			select {
			case s.ch <- Lagged{Dropped: s.dropped}:
				s.dropped = 0
			default:
				s.dropped++
				continue
			}
		}
		select {
		case s.ch <- ev:
		default:
			s.dropped++
		}
	}
}

// CloseAll ends every subscription and closes their channels.
func (b *Bus) CloseAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.closed = true
		close(s.ch)
	}
	b.subs = nil
}
