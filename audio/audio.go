// Package audio owns PCM audio for anyphone: the frame format, the Source and
// Sink interfaces and the backends chosen by name (null, tone, wav, echo, pipe,
// record, portaudio). It must not import phone, cti, ui, anydevice or any SIP
// or RTP library, and it uses no cgo (deps_test.go checks both).
//
// Open turns a spec string such as "tone:440" or "echo+record:call.wav" into
// a Source, a Sink and a Closer; OpenDevice does the same for the softphone's
// own audio and falls back to null audio, with a notice, when no sound card
// opens. Sound cards live in the subpackage audio/portaudio, which registers
// itself with RegisterBackend when imported and needs the build tag
// "portaudio" for its cgo half.
//
// For tests: Pipe (push samples in, read what was received), Capture (keep
// everything), ToneDetector and Goertzel (prove a tone crossed a call).
//
// The per-frame paths of Null, Tone, Echo, ToneDetector, Tee, WAVWriter and
// Resampler do not allocate: they run 50 times a second per call.
package audio

import (
	"errors"
	"time"
)

// Format describes linear 16-bit PCM frames.
type Format struct {
	SampleRate int           // samples per second, e.g. 8000
	Channels   int           // 1 for every call leg
	Frame      time.Duration // duration of one frame, e.g. 20 ms
}

// Narrowband is the format of every G.711 call leg: 8 kHz mono, 20 ms frames.
var Narrowband = Format{SampleRate: 8000, Channels: 1, Frame: 20 * time.Millisecond}

// Samples returns the number of int16 samples in one frame (all channels).
func (f Format) Samples() int {
	return int(int64(f.SampleRate)*int64(f.Frame)/int64(time.Second)) * max(f.Channels, 1)
}

// Source produces PCM frames (a microphone, a tone, a WAV file).
// ReadFrame fills all of dst. A Source need not pace itself: the consumer
// (the RTP writer, ticking every frame) sets the pace; a sound card blocks.
// It returns io.EOF when a finite source ends.
type Source interface {
	ReadFrame(dst []int16) error
}

// Sink consumes PCM frames (a speaker, a recorder, a detector).
// WriteFrame must not block longer than one frame time.
type Sink interface {
	WriteFrame(src []int16) error
}

// ErrClosed is returned by sources and sinks used after Close.
var ErrClosed = errors.New("audio: closed")
