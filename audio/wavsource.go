package audio

import (
	"io"
	"sync"
)

// WAVSource is a Source that plays samples loaded from a WAV file (see
// LoadWAV). When loop is set it starts over at the end, so a call can play a
// short file forever; otherwise the frame that runs past the end is padded
// with silence and the next ReadFrame returns io.EOF. ReadFrame does not
// allocate. It is safe for concurrent use.
type WAVSource struct {
	mu      sync.Mutex
	samples []int16
	pos     int
	loop    bool
	closed  bool
}

// NewWAVSource returns a WAVSource playing samples (already in the call's
// format). It returns ErrEmptyWAV when loop is set and samples is empty.
func NewWAVSource(samples []int16, loop bool) (*WAVSource, error) {
	if loop && len(samples) == 0 {
		return nil, ErrEmptyWAV
	}
	return &WAVSource{samples: samples, loop: loop}, nil
}

// OpenWAVSource loads the WAV file at path, converted to format f, and
// returns a WAVSource playing it.
func OpenWAVSource(path string, f Format, loop bool) (*WAVSource, error) {
	samples, err := LoadWAV(path, f)
	if err != nil {
		return nil, err
	}
	return NewWAVSource(samples, loop)
}

// ReadFrame fills dst with the next samples.
func (s *WAVSource) ReadFrame(dst []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.loop {
		if s.pos >= len(s.samples) {
			return io.EOF
		}
		n := copy(dst, s.samples[s.pos:])
		clear(dst[n:])
		s.pos += n
		return nil
	}
	for n := 0; n < len(dst); {
		k := copy(dst[n:], s.samples[s.pos:])
		n += k
		s.pos += k
		if s.pos == len(s.samples) {
			s.pos = 0
		}
	}
	return nil
}

// Rewind starts playback over from the beginning.
func (s *WAVSource) Rewind() {
	s.mu.Lock()
	s.pos = 0
	s.mu.Unlock()
}

// Close makes later reads return ErrClosed. It always returns nil.
func (s *WAVSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

var _ Source = (*WAVSource)(nil)
