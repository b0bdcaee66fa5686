package audio

import (
	"context"
	"sync"
)

// Pipe is a test backend: test code pushes samples that the Source side
// yields (silence when nothing is queued), and reads back what the Sink side
// received. It is safe for concurrent use.
type Pipe struct {
	mu     sync.Mutex
	queue  []int16 // pushed, not yet read
	closed bool
	recv   *Capture
}

// NewPipe returns an open Pipe whose Sink side keeps up to limit samples
// (DefaultCaptureLimit when limit <= 0).
func NewPipe(limit int) *Pipe {
	return &Pipe{recv: NewCapture(limit)}
}

// Push queues samples for the Source side. It returns ErrClosed after Close.
func (p *Pipe) Push(samples []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.queue = append(p.queue, samples...)
	return nil
}

// Queued returns how many pushed samples are not yet read.
func (p *Pipe) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// ReadFrame fills dst with pushed samples, then silence.
func (p *Pipe) ReadFrame(dst []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	n := copy(dst, p.queue)
	clear(dst[n:])
	p.queue = p.queue[:copy(p.queue, p.queue[n:])]
	return nil
}

// WriteFrame records src for Received.
func (p *Pipe) WriteFrame(src []int16) error {
	return p.recv.WriteFrame(src)
}

// Received returns a copy of every sample the Sink side received.
func (p *Pipe) Received() []int16 { return p.recv.Samples() }

// WaitReceived waits until the Sink side has received at least n samples and
// returns a copy of all of them. It returns ctx's error if ctx ends first,
// and ErrClosed if the pipe is closed with fewer than n samples.
func (p *Pipe) WaitReceived(ctx context.Context, n int) ([]int16, error) {
	for {
		ch := p.recv.Changed()
		if p.recv.Len() >= n {
			return p.recv.Samples(), nil
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return p.recv.Samples(), ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return p.recv.Samples(), ctx.Err()
		}
	}
}

// Close makes both sides return ErrClosed; Received still works.
// It always returns nil.
func (p *Pipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.queue = nil
	p.mu.Unlock()
	return p.recv.Close()
}

var (
	_ Source = (*Pipe)(nil)
	_ Sink   = (*Pipe)(nil)
)
