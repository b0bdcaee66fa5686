package audio

import "math"

// resampleTaps is the length of the anti-aliasing low-pass filter. With a
// Hamming window its transition band is about 3.3/127 of the higher rate
// (1.25 kHz at 48 kHz), so with the cutoff at 90 % of the lower Nyquist
// frequency aliases fold back above 3.7 kHz when converting 48 kHz to 8 kHz.
const resampleTaps = 127

// Resampler converts a mono stream of samples from one rate to another:
// a windowed-sinc low-pass filter at the higher rate (before decimating,
// after interpolating) and linear interpolation in between. That is plenty
// for telephone audio and cheap enough to run per frame. State carries over
// between calls, so a stream can be fed frame by frame.
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	inRate, outRate int
	step            float64 // input samples per output sample
	t               float64 // position of the next output between last (0) and the next input (1)
	last            float64
	pre, post       *lowPass // at most one is set
}

// NewResampler returns a Resampler from inRate to outRate (hertz, both > 0).
func NewResampler(inRate, outRate int) *Resampler {
	r := &Resampler{inRate: inRate, outRate: outRate, step: float64(inRate) / float64(outRate)}
	switch {
	case inRate > outRate:
		r.pre = newLowPass(0.45*float64(outRate)/float64(inRate), resampleTaps)
	case inRate < outRate:
		r.post = newLowPass(0.45*float64(inRate)/float64(outRate), resampleTaps)
	}
	return r
}

// MaxOut returns the most samples Process can produce from n input samples.
func (r *Resampler) MaxOut(n int) int {
	return int(math.Ceil(float64(n)*float64(r.outRate)/float64(r.inRate))) + 1
}

// Process resamples src and appends the result to dst, returning the
// extended slice. It allocates only when dst lacks capacity (see MaxOut).
func (r *Resampler) Process(dst, src []int16) []int16 {
	if r.inRate == r.outRate {
		return append(dst, src...)
	}
	for _, s := range src {
		x := float64(s)
		if r.pre != nil {
			x = r.pre.push(x)
		}
		for r.t < 1 {
			y := r.last + (x-r.last)*r.t
			if r.post != nil {
				y = r.post.push(y)
			}
			dst = append(dst, clamp16(y))
			r.t += r.step
		}
		r.t--
		r.last = x
	}
	return dst
}

// clamp16 rounds y to the nearest int16, saturating.
func clamp16(y float64) int16 {
	switch {
	case y >= math.MaxInt16:
		return math.MaxInt16
	case y <= math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(y))
}

// lowPass is a symmetric FIR filter with a history stored twice so the
// window of the newest samples is always one contiguous slice.
type lowPass struct {
	taps []float64
	hist []float64 // 2*len(taps)
	pos  int
}

// newLowPass returns a Hamming-windowed sinc low-pass filter with cutoff fc
// (cycles per sample, 0 < fc < 0.5) and n taps (odd), with unity DC gain.
func newLowPass(fc float64, n int) *lowPass {
	taps := make([]float64, n)
	mid := float64(n-1) / 2
	var sum float64
	for i := range taps {
		x := float64(i) - mid
		h := 2 * fc
		if x != 0 {
			h = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		h *= 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		taps[i] = h
		sum += h
	}
	for i := range taps {
		taps[i] /= sum
	}
	return &lowPass{taps: taps, hist: make([]float64, 2*n)}
}

// push adds x to the history and returns the filtered value.
func (f *lowPass) push(x float64) float64 {
	n := len(f.taps)
	f.hist[f.pos] = x
	f.hist[f.pos+n] = x
	f.pos++
	if f.pos == n {
		f.pos = 0
	}
	w := f.hist[f.pos : f.pos+n]
	var y float64
	for i, h := range f.taps {
		y += h * w[i]
	}
	return y
}
