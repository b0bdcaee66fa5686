package audio

import (
	"math"
	"sync"
)

// DefaultToneAmplitude is the amplitude of a tone when none is given: 0.3 of
// full scale leaves headroom for G.711 and mixing.
const DefaultToneAmplitude = 0.3

// Tone is a Source producing a sine wave. The phase continues across frames,
// so consecutive frames join without clicks. ReadFrame does not allocate. A
// Tone is safe for concurrent use, though one reader is the normal case.
type Tone struct {
	mu     sync.Mutex
	freq   float64
	amp    float64 // peak, in int16 units
	step   float64 // phase increment per sample frame, radians
	phase  float64 // radians in [0, 2π)
	chans  int
	closed bool
}

// NewTone returns a Tone of freq hertz at amplitude amp (fraction of full
// scale, 0 < amp <= 1) in format f. Multi-channel formats get the same
// sample on every channel.
func NewTone(f Format, freq, amp float64) *Tone {
	return &Tone{
		freq:  freq,
		amp:   amp * math.MaxInt16,
		step:  2 * math.Pi * freq / float64(f.SampleRate),
		chans: max(f.Channels, 1),
	}
}

// Frequency returns the tone frequency in hertz.
func (t *Tone) Frequency() float64 { return t.freq }

// ReadFrame fills dst with the next samples of the sine wave.
func (t *Tone) ReadFrame(dst []int16) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	ph := t.phase
	for i := 0; i+t.chans <= len(dst); i += t.chans {
		v := int16(math.Round(t.amp * math.Sin(ph)))
		for c := range t.chans {
			dst[i+c] = v
		}
		ph += t.step
		if ph >= 2*math.Pi {
			ph -= 2 * math.Pi
		}
	}
	// A trailing partial sample frame (len not a multiple of channels) is silence.
	clear(dst[len(dst)-len(dst)%t.chans:])
	t.phase = ph
	return nil
}

// Close makes later reads return ErrClosed. It always returns nil.
func (t *Tone) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

var _ Source = (*Tone)(nil)
