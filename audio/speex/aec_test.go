//go:build speexdsp

package speex

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyphone/anyphone/audio"
)

// erle runs 10 s of far-end speech-like noise through an echo path (a
// delay and two reflections at gain 0.5) into the microphone, with no
// near-end talker, and returns the echo return loss enhancement over the
// last 4 s (after convergence): 10·log10(mic power / output power).
func erle(t testing.TB, delayMs int) float64 {
	f := audio.Narrowband
	ec := NewEchoCanceller(f)
	defer ec.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	n := f.Samples()
	const seconds = 10
	total := seconds * f.SampleRate
	far := make([]float64, total)
	var lp float64
	for i := range far {
		// Low-passed noise with a slow syllable-like envelope.
		lp = 0.7*lp + 0.3*(rng.Float64()*2-1)
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*float64(i)/float64(f.SampleRate))
		far[i] = 0.3 * lp * env
	}
	d := delayMs * f.SampleRate / 1000
	echo := func(i int) float64 {
		v := 0.0
		for _, tap := range []struct {
			lag  int
			gain float64
		}{{d, 0.5}, {d + 40, 0.2}, {d + 97, -0.1}} {
			if j := i - tap.lag; j >= 0 {
				v += tap.gain * far[j]
			}
		}
		return v
	}
	play, mic, out := make([]int16, n), make([]int16, n), make([]int16, n)
	var pm, po float64
	for k := 0; k+n <= total; k += n {
		for i := range n {
			play[i] = int16(far[k+i] * 32767)
			mic[i] = int16(echo(k+i) * 32767)
		}
		ec.Playback(play)
		ec.Capture(mic, out)
		if k >= (seconds-4)*f.SampleRate {
			pm += audio.MeanSquare(mic)
			po += audio.MeanSquare(out)
		}
	}
	return 10 * math.Log10(pm/max(po, 1e-12))
}

// TestEchoCancellerERLE: the echo of the far end is removed by at least
// 15 dB once the filter has converged, for echo paths of 30 to 120 ms
// (a sound card's output and input buffers alone take 20 ms or more;
// speex_echo_playback holds the reference a frame, so a shorter path is
// not cancelled).
func TestEchoCancellerERLE(t *testing.T) {
	for _, ms := range []int{30, 60, 120} {
		e := erle(t, ms)
		t.Logf("echo path %d ms: ERLE %.1f dB", ms, e)
		if e < 15 {
			t.Errorf("echo path %d ms: ERLE %.1f dB, want >= 15", ms, e)
		}
	}
}

// BenchmarkEchoCanceller reports the ERLE and the cost per 20 ms frame.
func BenchmarkEchoCanceller(b *testing.B) {
	db := erle(b, 40)
	ec := NewEchoCanceller(audio.Narrowband)
	defer ec.Close()
	fr, out := make([]int16, 160), make([]int16, 160)
	for i := range fr {
		fr[i] = int16(i * 97)
	}
	b.ResetTimer()
	for range b.N {
		ec.Playback(fr)
		ec.Capture(fr, out)
	}
	b.ReportMetric(db, "ERLE-dB")
}
