package audio

import "sync/atomic"

// EchoCanceller removes from the microphone what the speaker played
// (acoustic echo: laptop speakers, a desk phone's hands-free). Playback
// is told every frame sent to the speaker, Capture cleans every frame read
// from the microphone; they may be called from different goroutines.
type EchoCanceller interface {
	Playback(frame []int16)
	Capture(mic, out []int16)
	Close() error
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
