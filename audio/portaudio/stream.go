package portaudio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/anyphone/anyphone/audio"
)

// port is one direction of an open device: Read fills, and Write plays, the
// buffer bound to it when it was opened (device rate, mono).
type port interface {
	Read() error
	Write() error
}

// Non-fatal conditions a port reports; the stream counts them and goes on.
var (
	errInputOverflowed   = errors.New("input overflowed")
	errOutputUnderflowed = errors.New("output underflowed")
)

// Stream is an open sound card: an audio.Source (the microphone) and an
// audio.Sink (the speaker) in the call's format. ReadFrame blocks until a
// frame has been captured; WriteFrame blocks at most about one frame while
// the device drains. One goroutine may read while another writes. Lost input
// (overflow) and late output (underflow) are counted, not returned.
type Stream struct {
	format  audio.Format
	inRate  int
	outRate int

	rmu    sync.Mutex // read side
	in     port
	inBuf  []int16 // bound to in
	inRes  *audio.Resampler
	inFIFO []int16 // captured, resampled, not yet read

	wmu     sync.Mutex // write side
	out     port
	outBuf  []int16 // bound to out
	outRes  *audio.Resampler
	outFIFO []int16 // resampled, not yet played

	inName, outName string // set by open

	overflows  atomic.Uint64
	underflows atomic.Uint64
	closed     atomic.Bool
	abort      func() // unblocks a pending Read or Write; may be nil
	release    func() error
	closeOnce  sync.Once
	closeErr   error
}

// newStream wires ports at device rates inRate and outRate to format f.
// abort is called first on Close to unblock I/O, release after both sides
// have stopped.
func newStream(f audio.Format, in port, inBuf []int16, inRate int, out port, outBuf []int16, outRate int, abort func(), release func() error) *Stream {
	n := f.Samples()
	inRes := audio.NewResampler(inRate, f.SampleRate)
	outRes := audio.NewResampler(f.SampleRate, outRate)
	return &Stream{
		format: f, inRate: inRate, outRate: outRate,
		in: in, inBuf: inBuf, inRes: inRes,
		inFIFO: make([]int16, 0, n+inRes.MaxOut(len(inBuf))),
		out:    out, outBuf: outBuf, outRes: outRes,
		outFIFO: make([]int16, 0, len(outBuf)+outRes.MaxOut(n)),
		abort:   abort, release: release,
	}
}

// DeviceName is the spec of the devices in use, as --audio takes it:
// "portaudio:NAME", or "portaudio:in=NAME;out=NAME" when they differ.
func (s *Stream) DeviceName() string {
	if s.inName == s.outName {
		return Name + ":" + s.inName
	}
	return Name + ":in=" + s.inName + ";out=" + s.outName
}

// Format returns the call-side format of the stream.
func (s *Stream) Format() audio.Format { return s.format }

// DeviceRates returns the sample rates the devices were opened at; they
// differ from Format().SampleRate when the stream resamples.
func (s *Stream) DeviceRates() (in, out int) { return s.inRate, s.outRate }

// InputOverflowed returns how many times captured audio was lost because
// ReadFrame was not called in time.
func (s *Stream) InputOverflowed() uint64 { return s.overflows.Load() }

// OutputUnderflowed returns how many times the speaker ran dry because
// WriteFrame was not called in time.
func (s *Stream) OutputUnderflowed() uint64 { return s.underflows.Load() }

// ReadFrame fills dst with captured audio, blocking until enough is there.
func (s *Stream) ReadFrame(dst []int16) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for len(s.inFIFO) < len(dst) {
		if s.closed.Load() {
			return audio.ErrClosed
		}
		if err := s.in.Read(); err != nil {
			if !errors.Is(err, errInputOverflowed) {
				if s.closed.Load() {
					return audio.ErrClosed
				}
				return fmt.Errorf("portaudio: read: %w", named(err))
			}
			s.overflows.Add(1) // the buffer still holds fresh samples
		}
		if cap(s.inFIFO)-len(s.inFIFO) < s.inRes.MaxOut(len(s.inBuf)) {
			// dst is larger than a frame: grow once.
			s.inFIFO = append(make([]int16, 0, 2*cap(s.inFIFO)+len(dst)), s.inFIFO...)
		}
		s.inFIFO = s.inRes.Process(s.inFIFO, s.inBuf)
	}
	copy(dst, s.inFIFO)
	s.inFIFO = s.inFIFO[:copy(s.inFIFO, s.inFIFO[len(dst):])]
	return nil
}

// WriteFrame queues src for the speaker, playing every full device buffer.
func (s *Stream) WriteFrame(src []int16) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return audio.ErrClosed
	}
	if cap(s.outFIFO)-len(s.outFIFO) < s.outRes.MaxOut(len(src)) {
		s.outFIFO = append(make([]int16, 0, len(s.outFIFO)+s.outRes.MaxOut(len(src))+len(s.outBuf)), s.outFIFO...)
	}
	s.outFIFO = s.outRes.Process(s.outFIFO, src)
	for len(s.outFIFO) >= len(s.outBuf) {
		copy(s.outBuf, s.outFIFO)
		s.outFIFO = s.outFIFO[:copy(s.outFIFO, s.outFIFO[len(s.outBuf):])]
		if err := s.out.Write(); err != nil {
			if !errors.Is(err, errOutputUnderflowed) {
				if s.closed.Load() {
					return audio.ErrClosed
				}
				return fmt.Errorf("portaudio: write: %w", named(err))
			}
			s.underflows.Add(1)
		}
	}
	return nil
}

// errNoText stands in for a PortAudio error whose text is empty (the ALSA
// host API's when the sound server behind it died).
var errNoText = errors.New("device stopped (sound server gone?)")

// named returns err, or errNoText wrapping it when its text is empty.
func named(err error) error {
	if err.Error() == "" {
		return fmt.Errorf("%w%w", errNoText, err)
	}
	return err
}

// Close stops and closes the devices. Pending and later reads and writes
// return audio.ErrClosed. It is safe to call more than once.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.abort != nil {
			s.abort()
		}
		// Wait for both sides to leave PortAudio before releasing it.
		s.rmu.Lock()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		defer s.rmu.Unlock()
		if s.release != nil {
			s.closeErr = s.release()
		}
	})
	return s.closeErr
}

var (
	_ audio.Source = (*Stream)(nil)
	_ audio.Sink   = (*Stream)(nil)
)
