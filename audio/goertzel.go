package audio

import (
	"math"
	"sync"
	"time"
)

// Goertzel returns the normalised power of freq hertz in samples taken at
// sampleRate: for a sine of amplitude A (as a fraction of full scale) whose
// frequency is freq, it is about A²/2, the sine's mean square, so it compares
// directly with MeanSquare. It evaluates the DTFT at exactly freq (not the
// nearest bin) with a rectangular window; over one second of samples a
// neighbour 50 Hz away leaks less than 1e-4 of the power. It does not allocate.
func Goertzel(samples []int16, sampleRate int, freq float64) float64 {
	g := newGoertzel(sampleRate, freq)
	g.feed(samples)
	return g.power()
}

// MeanSquare returns the mean of the squared samples as fractions of full
// scale: the total power that Goertzel's result is a share of. It is 0 for
// no samples.
func MeanSquare(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		x := float64(s) / 32768
		sum += x * x
	}
	return sum / float64(len(samples))
}

// goertzel is the running state of the Goertzel recurrence, so a ring buffer
// can be fed in two pieces.
type goertzel struct {
	coeff, s1, s2 float64
	n             int
}

func newGoertzel(sampleRate int, freq float64) goertzel {
	return goertzel{coeff: 2 * math.Cos(2*math.Pi*freq/float64(sampleRate))}
}

func (g *goertzel) feed(samples []int16) {
	c, s1, s2 := g.coeff, g.s1, g.s2
	for _, s := range samples {
		s0 := float64(s)/32768 + c*s1 - s2
		s2, s1 = s1, s0
	}
	g.s1, g.s2 = s1, s2
	g.n += len(samples)
}

// power returns 2|X(f)|²/N², which is A²/2 for a matching sine of amplitude A.
func (g *goertzel) power() float64 {
	if g.n == 0 {
		return 0
	}
	mag2 := g.s1*g.s1 + g.s2*g.s2 - g.coeff*g.s1*g.s2
	return 2 * mag2 / (float64(g.n) * float64(g.n))
}

// DefaultDetectorWindow is the analysis window of a ToneDetector made with
// window <= 0.
const DefaultDetectorWindow = time.Second

// silenceFloor is the mean square below which a ToneDetector hears nothing
// (-60 dBFS).
const silenceFloor = 1e-6

// ToneDetector is a Sink that keeps the most recent window of audio and
// measures tones in it with Goertzel. Integration tests use it to prove that
// a tone crossed a call. Of multi-channel frames only the first channel is
// kept. WriteFrame does not allocate. It is safe for concurrent use.
type ToneDetector struct {
	mu     sync.Mutex
	rate   int
	chans  int
	ring   []int16
	head   int // next write position
	n      int // samples held, up to len(ring)
	total  int // samples ever written (first channel)
	closed bool
}

// NewToneDetector returns a ToneDetector for format f analysing the last
// window of audio (DefaultDetectorWindow when window <= 0).
func NewToneDetector(f Format, window time.Duration) *ToneDetector {
	if window <= 0 {
		window = DefaultDetectorWindow
	}
	size := max(int(int64(f.SampleRate)*int64(window)/int64(time.Second)), 1)
	return &ToneDetector{rate: f.SampleRate, chans: max(f.Channels, 1), ring: make([]int16, size)}
}

// WriteFrame adds src to the window, pushing out the oldest samples.
func (d *ToneDetector) WriteFrame(src []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	for i := 0; i < len(src); i += d.chans {
		d.ring[d.head] = src[i]
		d.head++
		if d.head == len(d.ring) {
			d.head = 0
		}
		d.n = min(d.n+1, len(d.ring))
		d.total++
	}
	return nil
}

// segmentsLocked returns the held samples, oldest first, as two slices.
// d.mu must be held.
func (d *ToneDetector) segmentsLocked() (a, b []int16) {
	start := d.head - d.n
	if start >= 0 {
		return d.ring[start:d.head], nil
	}
	return d.ring[len(d.ring)+start:], d.ring[:d.head]
}

// Power returns the Goertzel power of freq over the current window.
func (d *ToneDetector) Power(freq float64) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, b := d.segmentsLocked()
	g := newGoertzel(d.rate, freq)
	g.feed(a)
	g.feed(b)
	return g.power()
}

// MeanSquare returns the total power over the current window.
func (d *ToneDetector) MeanSquare() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, b := d.segmentsLocked()
	n := len(a) + len(b)
	if n == 0 {
		return 0
	}
	return (MeanSquare(a)*float64(len(a)) + MeanSquare(b)*float64(len(b))) / float64(n)
}

// Ratio returns the share of the window's power at freq: near 1 for a pure
// tone of freq, near 0 for silence or other sounds.
func (d *ToneDetector) Ratio(freq float64) float64 {
	ms := d.MeanSquare()
	if ms < silenceFloor {
		return 0
	}
	return d.Power(freq) / ms
}

// Detected reports whether the window holds at least a tenth of a second of
// audio louder than -60 dBFS of which at least minRatio of the power is at
// freq. A clean tone through G.711 gives a ratio above 0.9; 0.5 is a robust
// threshold that a tone of another frequency never reaches.
func (d *ToneDetector) Detected(freq, minRatio float64) bool {
	if d.Len() < d.rate/10 {
		return false
	}
	return d.Ratio(freq) >= minRatio
}

// Len returns the number of samples in the window.
func (d *ToneDetector) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// Total returns the number of samples written since creation or Reset.
func (d *ToneDetector) Total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// Reset empties the window.
func (d *ToneDetector) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.head, d.n, d.total = 0, 0, 0
}

// Close makes later writes return ErrClosed; measurements keep working.
// It always returns nil.
func (d *ToneDetector) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return nil
}

var _ Sink = (*ToneDetector)(nil)
