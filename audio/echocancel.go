package audio

import (
	"sync/atomic"
	"time"
)

// EchoCanceller removes from the microphone what the speaker played
// (acoustic echo: laptop speakers, a desk phone's hands-free). Playback
// is told every frame sent to the speaker, Capture cleans every frame read
// from the microphone; they may be called from different goroutines.
type EchoCanceller interface {
	Playback(frame []int16)
	Capture(mic, out []int16)
	Close() error
}

// EchoPath is a device that knows how long the speaker's sound takes to
// come back in its microphone frames: the buffers between the two (the
// pulse backend's). A guard lines its echo canceller up with it.
type EchoPath interface {
	EchoDelay() time.Duration
}

// EchoAligner is an EchoCanceller whose reference can be lined up with a
// device's echo delay, given in frames.
type EchoAligner interface {
	AlignEcho(frames int)
}

var newEC atomic.Pointer[func(Format) EchoCanceller]

// RegisterEchoCanceller makes fn the constructor NewEchoCanceller uses
// (audio/speex registers SpeexDSP's when built with the speexdsp tag).
func RegisterEchoCanceller(fn func(Format) EchoCanceller) { newEC.Store(&fn) }

// NewEchoCanceller returns an echo canceller for frames of f, or nil when
// none is built in.
func NewEchoCanceller(f Format) EchoCanceller {
	if fn := newEC.Load(); fn != nil {
		return (*fn)(f)
	}
	return nil
}
