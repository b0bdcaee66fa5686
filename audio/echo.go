package audio

import "sync"

// DefaultEchoFrames is how many frames an Echo holds before it drops the
// oldest: enough to absorb jitter between the writer and the reader, small
// enough that the echo delay stays short (80 ms at 20 ms frames).
const DefaultEchoFrames = 4

// Echo is a loopback: what is written to it as a Sink is read back from it
// as a Source, so a call hears itself. It holds a few frames; on overflow the
// oldest samples are dropped, on underflow the reader gets silence. Reads and
// writes do not allocate. It is safe for one writer and one reader at once.
type Echo struct {
	mu      sync.Mutex
	buf     []int16 // ring of samples
	head    int     // index of the oldest sample
	n       int     // samples held
	dropped uint64
	closed  bool

	low, reads int // least samples held after a read in this window, reads in it
}

// NewEcho returns an Echo holding up to frames frames of format f
// (DefaultEchoFrames when frames <= 0).
func NewEcho(f Format, frames int) *Echo {
	if frames <= 0 {
		frames = DefaultEchoFrames
	}
	return &Echo{buf: make([]int16, max(f.Samples(), 1)*frames)}
}

// WriteFrame appends src to the ring, dropping the oldest samples if full.
func (e *Echo) WriteFrame(src []int16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	size := len(e.buf)
	if len(src) > size { // keep only the newest samples
		e.dropped += uint64(len(src) - size)
		src = src[len(src)-size:]
	}
	if over := e.n + len(src) - size; over > 0 {
		e.head = (e.head + over) % size
		e.n -= over
		e.dropped += uint64(over)
	}
	tail := (e.head + e.n) % size
	k := copy(e.buf[tail:], src)
	copy(e.buf, src[k:])
	e.n += len(src)
	return nil
}

// ReadFrame fills dst with the oldest held samples and silence after them.
func (e *Echo) ReadFrame(dst []int16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	take := min(len(dst), e.n)
	k := copy(dst[:take], e.buf[e.head:])
	copy(dst[k:take], e.buf)
	clear(dst[take:])
	e.head = (e.head + take) % len(e.buf)
	e.n -= take
	e.trim()
	return nil
}

// trim holds the echo's standing delay down: when samples were left after
// every read of a window of trimWindow reads (the writer's and the
// reader's clocks run at the same rate, so a burst's depth would stay for
// good), the oldest of them go, as many as were always left, if they are
// quiet (a sound is not cut; the next window tries again).
func (e *Echo) trim() {
	if e.reads == 0 || e.n < e.low {
		e.low = e.n
	}
	e.reads++
	if e.reads < trimWindow {
		return
	}
	if over := e.low; over > 0 && e.quietHead(over) {
		e.head = (e.head + over) % len(e.buf)
		e.n -= over
		e.dropped += uint64(over)
	}
	e.reads = 0
}

// quietHead reports whether the oldest n samples held are under -40 dBFS.
func (e *Echo) quietHead(n int) bool {
	var sum float64
	for i := range n {
		v := float64(e.buf[(e.head+i)%len(e.buf)])
		sum += v * v
	}
	return sum < float64(n)*327.68*327.68
}

// Dropped returns how many samples were dropped because the ring was full.
func (e *Echo) Dropped() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Close makes later reads and writes return ErrClosed. It always returns nil.
func (e *Echo) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return nil
}

var (
	_ Source = (*Echo)(nil)
	_ Sink   = (*Echo)(nil)
)
