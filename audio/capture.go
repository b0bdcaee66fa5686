package audio

import "sync"

// DefaultCaptureLimit bounds a Capture made with limit <= 0: ten minutes of
// narrowband audio.
const DefaultCaptureLimit = 10 * 60 * 8000

// Capture is a Sink that keeps every sample written to it, up to a limit;
// samples beyond the limit are counted and dropped. It is meant for tests.
// It is safe for concurrent use.
type Capture struct {
	mu      sync.Mutex
	samples []int16
	limit   int
	dropped int
	notify  chan struct{} // made by Changed, closed at the next write; nil when nobody waits
	closed  bool
}

// NewCapture returns a Capture keeping at most limit samples
// (DefaultCaptureLimit when limit <= 0).
func NewCapture(limit int) *Capture {
	if limit <= 0 {
		limit = DefaultCaptureLimit
	}
	return &Capture{limit: limit}
}

// WriteFrame appends src, dropping what exceeds the limit.
func (c *Capture) WriteFrame(src []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	keep := min(len(src), c.limit-len(c.samples))
	c.samples = append(c.samples, src[:keep]...)
	c.dropped += len(src) - keep
	c.wakeLocked()
	return nil
}

// Samples returns a copy of the samples kept so far.
func (c *Capture) Samples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.samples...)
}

// Len returns the number of samples kept so far.
func (c *Capture) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// Dropped returns the number of samples dropped because of the limit.
func (c *Capture) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Changed returns a channel that is closed at the next write (or Close).
// Use it to wait for more samples without polling:
//
//	for c.Len() < n { select { case <-c.Changed(): case <-ctx.Done(): ... } }
func (c *Capture) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.notify == nil {
		c.notify = make(chan struct{})
		if c.closed {
			close(c.notify)
		}
	}
	return c.notify
}

// wakeLocked closes the channel handed out by Changed, if any.
// c.mu must be held.
func (c *Capture) wakeLocked() {
	if c.notify != nil {
		close(c.notify)
		c.notify = nil
	}
}

// Reset discards the kept samples and the dropped count.
func (c *Capture) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = c.samples[:0]
	c.dropped = 0
}

// Close makes later writes return ErrClosed and wakes waiters on Changed.
// The kept samples stay readable. It always returns nil.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.wakeLocked()
	return nil
}

var _ Sink = (*Capture)(nil)
