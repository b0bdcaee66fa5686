//go:build speexdsp

package speex

/*
#cgo pkg-config: speexdsp
#include <stdlib.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/anyphone/anyphone/audio"
)

// EchoTail is how much echo the canceller models: the speaker-to-mic path
// of a laptop or a room, including the sound server's buffering.
const EchoTail = 200 * time.Millisecond

func init() {
	audio.RegisterEchoCanceller(func(f audio.Format) audio.EchoCanceller { return NewEchoCanceller(f) })
}

// EchoCanceller is SpeexDSP's acoustic echo canceller (an MDF adaptive
// filter over EchoTail) followed by its preprocessor, which suppresses the
// residual echo. It is safe for concurrent use.
type EchoCanceller struct {
	mu       sync.Mutex
	st       *C.SpeexEchoState
	pp       *C.SpeexPreprocessState
	n        int
	play     unsafe.Pointer // C buffers of one frame each
	mic, out unsafe.Pointer
	refs     [][]int16 // played frames waiting for their capture, oldest first
	free     [][]int16 // spare frames for refs
	keep     int       // refs kept at most: the echo's delay in frames
}

// NewEchoCanceller returns an echo canceller for frames of f.
func NewEchoCanceller(f audio.Format) *EchoCanceller {
	n := f.Samples()
	tail := int(int64(f.SampleRate) * int64(EchoTail) / int64(time.Second))
	e := &EchoCanceller{n: n, keep: refKeep}
	e.st = C.speex_echo_state_init(C.int(n), C.int(tail))
	rate := C.int(f.SampleRate)
	C.speex_echo_ctl(e.st, C.SPEEX_ECHO_SET_SAMPLING_RATE, unsafe.Pointer(&rate))
	e.pp = C.speex_preprocess_state_init(C.int(n), rate)
	C.speex_preprocess_ctl(e.pp, C.SPEEX_PREPROCESS_SET_ECHO_STATE, unsafe.Pointer(e.st))
	// Echo only: noise suppression would take a steady sound (a hum, a
	// test tone) for noise and remove it from the call.
	off := C.int(0)
	C.speex_preprocess_ctl(e.pp, C.SPEEX_PREPROCESS_SET_DENOISE, unsafe.Pointer(&off))
	e.play = C.malloc(C.size_t(2 * n))
	e.mic = C.malloc(C.size_t(2 * n))
	e.out = C.malloc(C.size_t(2 * n))
	return e
}

func (e *EchoCanceller) slice(p unsafe.Pointer) []int16 { return unsafe.Slice((*int16)(p), e.n) }

// refKeep is how many played frames may wait for their capture before
// the oldest are dropped, unless the device tells its echo delay
// (AlignEcho). The queue settles at that depth (the speaker's frames come
// ahead of the microphone's at the start), so it is the lag between the
// reference and the microphone: it must match the device's echo path, as
// the canceller's filter is causal and lines up frame by frame. Each
// capture takes exactly one reference frame, so the reference stream
// stays unbroken and its lag steady. speex_echo_playback keeps only two
// frames and drops the bursts a writer that plays queued frames back to
// back makes; this queue absorbs them. Measured through PulseAudio with
// speech-like sound: portaudio (ALSA's pulse plugin, some 100 ms of
// buffers) 16-17 dB with 6, 3-41 dB unsteady with 1-2; the pulse backend
// (45 ms) 47-51 dB with 2-3, 1.5 dB with 6.
const refKeep = 6

// AlignEcho sets the reference lag to frames, the device's echo delay
// (audio.EchoPath) in frames: 1 at least.
func (e *EchoCanceller) AlignEcho(frames int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keep = min(max(frames, 1), refQueue-1)
}

// Playback tells the canceller a frame went to the speaker.
func (e *EchoCanceller) Playback(frame []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil || len(frame) < e.n {
		return
	}
	if len(e.refs) >= refQueue {
		e.refs = e.refs[1:]
	}
	var f []int16
	if n := len(e.free); n > 0 {
		f, e.free = e.free[n-1], e.free[:n-1]
	} else {
		f = make([]int16, e.n)
	}
	copy(f, frame)
	e.refs = append(e.refs, f)
}

// refQueue bounds the reference queue.
const refQueue = 16

// Capture writes to out the microphone frame mic without the echo.
func (e *EchoCanceller) Capture(mic, out []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil || len(mic) < e.n || len(out) < e.n {
		copy(out, mic)
		return
	}
	for len(e.refs) > e.keep {
		e.free = append(e.free, e.refs[0])
		e.refs = e.refs[1:]
	}
	play := e.slice(e.play)
	if len(e.refs) > 0 {
		copy(play, e.refs[0])
		e.free = append(e.free, e.refs[0])
		e.refs = e.refs[1:]
	} else {
		clear(play)
	}
	copy(e.slice(e.mic), mic)
	C.speex_echo_cancellation(e.st, (*C.spx_int16_t)(e.mic), (*C.spx_int16_t)(e.play), (*C.spx_int16_t)(e.out))
	C.speex_preprocess_run(e.pp, (*C.spx_int16_t)(e.out))
	copy(out, e.slice(e.out))
}

// Close releases the canceller. It is safe to call more than once.
func (e *EchoCanceller) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st != nil {
		C.speex_preprocess_state_destroy(e.pp)
		C.speex_echo_state_destroy(e.st)
		C.free(e.play)
		C.free(e.mic)
		C.free(e.out)
		e.st, e.pp = nil, nil
	}
	return nil
}

var _ audio.EchoCanceller = (*EchoCanceller)(nil)
