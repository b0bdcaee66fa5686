package audio

import "sync/atomic"

// Null is the silent backend: as a Source it yields silence at once (the
// consumer paces), as a Sink it discards. The zero value is ready to use and
// it is safe for concurrent use. After Close both sides return ErrClosed.
type Null struct {
	closed atomic.Bool
}

// ReadFrame fills dst with silence.
func (n *Null) ReadFrame(dst []int16) error {
	if n.closed.Load() {
		return ErrClosed
	}
	clear(dst)
	return nil
}

// WriteFrame discards src.
func (n *Null) WriteFrame(src []int16) error {
	if n.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close makes later reads and writes return ErrClosed. It always returns nil.
func (n *Null) Close() error {
	n.closed.Store(true)
	return nil
}

var (
	_ Source = (*Null)(nil)
	_ Sink   = (*Null)(nil)
)
