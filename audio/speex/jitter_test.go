//go:build speexdsp

package speex

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// sim is the outcome of a simulated call through the buffer.
type sim struct {
	played, concealed, silence, lost int
	delay                            []time.Duration // playout time - send time, per frame played
	// dup counts frames played twice (the buffer added a frame).
	dup int
}

func (s sim) mean(from, to int) time.Duration {
	if to <= from {
		return 0
	}
	var sum time.Duration
	for _, d := range s.delay[from:to] {
		sum += d
	}
	return sum / time.Duration(to-from)
}

func (s sim) pct(p float64) time.Duration {
	d := slices.Clone(s.delay)
	slices.Sort(d)
	if len(d) == 0 {
		return 0
	}
	return d[int(p*float64(len(d)-1))]
}

// simulate sends frames 20 ms apart on the sender's clock (which runs
// drift faster than ours: 1e-4 is 100 ppm), each arriving after a uniform
// random delay in [0, jitter] unless lost with probability loss, and plays
// the buffer out every 20 ms of our clock. Delays include the 7 ms of
// transit every frame takes. Frame k carries k in its first
// samples so the test knows which frame was played.
func simulate(frames int, jitter time.Duration, loss, drift float64, seed uint64) sim {
	f := audio.Narrowband
	b := New(f)
	defer b.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	type pkt struct {
		k      int
		sent   time.Duration
		arrive time.Duration
	}
	var pkts []pkt
	var s sim
	for k := range frames {
		sent := time.Duration(float64(k) * float64(f.Frame) / (1 + drift))
		if rng.Float64() < loss {
			s.lost++
			continue
		}
		// 7 ms of transit, then the jitter: frames arrive between our
		// playout ticks, as they do.
		j := 7*time.Millisecond + time.Duration(rng.Float64()*float64(jitter))
		pkts = append(pkts, pkt{k: k, sent: sent, arrive: sent + j})
	}
	slices.SortStableFunc(pkts, func(a, b pkt) int { return int(a.arrive - b.arrive) })
	frame := make([]int16, f.Samples())
	out := make([]int16, f.Samples())
	next, last := 0, -1
	for tick := 0; next < len(pkts) || tick < frames+50; tick++ {
		now := time.Duration(tick) * f.Frame
		for next < len(pkts) && pkts[next].arrive <= now {
			p := pkts[next]
			for i := range frame {
				frame[i] = 1000
			}
			// The mark goes at the end: concealment smooths a frame's start.
			frame[len(frame)-2], frame[len(frame)-1] = int16(p.k&0x7fff), int16(p.k>>15)
			b.Put(frame, uint32(p.k*len(frame)), uint16(p.k))
			next++
		}
		switch b.Get(out) {
		case audio.JitterPlayed:
			k := int(out[len(out)-2]) | int(out[len(out)-1])<<15
			if k == last {
				s.dup++
			}
			last = k
			s.played++
			sent := time.Duration(float64(k) * float64(f.Frame) / (1 + drift))
			s.delay = append(s.delay, now-sent)
		case audio.JitterConcealed:
			s.concealed++
		default:
			s.silence++
		}
		if tick > 10*frames {
			break
		}
	}
	return s
}

// TestJitterBufferZeroJitter: with a perfect network the buffer adds at
// most two frames of delay and plays every frame once.
func TestJitterBufferZeroJitter(t *testing.T) {
	s := simulate(3000, 0, 0, 0, 1)
	d := s.mean(100, len(s.delay))
	t.Logf("zero jitter: %d played, %d concealed, mean added delay %v", s.played, s.concealed, d)
	if d > 47*time.Millisecond {
		t.Errorf("delay %v at zero jitter (7 ms of it transit), want <= 47 ms", d)
	}
	if s.played < 2990 || s.dup > 0 {
		t.Errorf("played %d of 3000 (%d twice)", s.played, s.dup)
	}
}

// TestJitterBufferJitterAndLoss: at 30 ms jitter and 5 % loss the buffer
// reorders, conceals the lost frames, and plays at least 97 % of what
// arrived.
func TestJitterBufferJitterAndLoss(t *testing.T) {
	s := simulate(3000, 30*time.Millisecond, 0.05, 0, 2)
	arrived := 3000 - s.lost
	t.Logf("30 ms jitter, 5 %% loss: %d lost on the network, %d played of %d arrived, %d concealed, %d silence; delay mean %v, p95 %v",
		s.lost, s.played, arrived, s.concealed, s.silence, s.mean(100, len(s.delay)), s.pct(0.95))
	if float64(s.played) < 0.97*float64(arrived) {
		t.Errorf("played %d of %d frames that arrived", s.played, arrived)
	}
	if s.concealed < s.lost/2 {
		t.Errorf("concealed %d frames for %d lost", s.concealed, s.lost)
	}
	if d := s.mean(100, len(s.delay)); d > 80*time.Millisecond {
		t.Errorf("mean delay %v at 30 ms jitter, want <= 80 ms", d)
	}
}

// TestJitterBufferDrift: over 10 minutes with the sender's clock 100 ppm
// fast or slow the delay does not grow: no frame is added for good.
func TestJitterBufferDrift(t *testing.T) {
	for _, drift := range []float64{1e-4, -1e-4} {
		const frames = 30000 // 10 min
		s := simulate(frames, 10*time.Millisecond, 0, drift, 3)
		n := len(s.delay)
		first, lastMin := s.mean(100, 3000), s.mean(n-3000, n)
		t.Logf("drift %+.0f ppm: delay first minute %v, last minute %v; %d played, %d concealed", drift*1e6, first, lastMin, s.played, s.concealed)
		if d := lastMin - first; d > 20*time.Millisecond || d < -20*time.Millisecond {
			t.Errorf("drift %+.0f ppm: delay moved by %v over 10 min", drift*1e6, d)
		}
	}
}

// TestJitterBufferConceals: a single lost frame is filled with sound, not
// silence.
func TestJitterBufferConceals(t *testing.T) {
	f := audio.Narrowband
	b := New(f)
	defer b.Close()
	tone := audio.NewTone(f, 440, 0.3)
	frame := make([]int16, f.Samples())
	out := make([]int16, f.Samples())
	var got []audio.JitterResult
	for k := range 20 {
		_ = tone.ReadFrame(frame)
		if k != 10 {
			b.Put(frame, uint32(k*len(frame)), uint16(k))
		}
		r := b.Get(out)
		got = append(got, r)
		if r == audio.JitterConcealed && audio.MeanSquare(out) < 0.01 {
			t.Errorf("frame %d concealed with near silence", k)
		}
	}
	if !slices.Contains(got, audio.JitterConcealed) {
		t.Errorf("no frame concealed: %v", got)
	}
}

// BenchmarkJitterBuffer reports the added delay and the frames played and
// concealed at 0 and 30 ms jitter, with 0 and 5 % loss.
func BenchmarkJitterBuffer(b *testing.B) {
	cases := []struct {
		name   string
		jitter time.Duration
		loss   float64
	}{
		{"jitter=0/loss=0", 0, 0},
		{"jitter=30ms/loss=0", 30 * time.Millisecond, 0},
		{"jitter=30ms/loss=5%", 30 * time.Millisecond, 0.05},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var s sim
			for i := range b.N {
				s = simulate(3000, c.jitter, c.loss, 0, uint64(i+1))
			}
			b.ReportMetric(float64(s.mean(100, len(s.delay)))/1e6, "delay-ms")
			b.ReportMetric(float64(s.pct(0.95))/1e6, "p95-delay-ms")
			b.ReportMetric(100*float64(s.played)/3000, "played-%")
			b.ReportMetric(100*float64(s.concealed)/3000, "concealed-%")
			b.ReportMetric(100*float64(s.silence)/3000, "silence-%")
		})
	}
}
