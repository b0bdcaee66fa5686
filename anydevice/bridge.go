package anydevice

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/anyphone/anyphone/audio"
)

// frameSamples is one 20 ms frame at 8 kHz: every leg is narrowband PCM
// after the phone decoded its G.711.
const frameSamples = 160

// ringFrames bounds a port's queue: 8 frames (160 ms). A writer that runs
// ahead of the reader drops the oldest frames once maxQueued are waiting,
// so the relay adds at most ~60 ms of latency.
const (
	ringFrames = 8
	maxQueued  = 3
)

// frameRing is a bounded queue of 20 ms frames: a writer that runs ahead
// of its reader drops the oldest frames once maxQueued are waiting.
type frameRing struct {
	mu    sync.Mutex
	ring  [ringFrames][frameSamples]int16
	head  int // next frame to read
	count int // frames queued
	// backlog counts reads in a row that left a frame queued: the writer
	// runs a frame (or more) ahead for good, which only adds latency.
	backlog int
	shrunk  uint64 // frames dropped to shed a standing backlog
}

// shrinkAfter is how long a standing backlog may last before one frame is
// dropped to shed it: 25 reads, half a second.
const shrinkAfter = 25

// push stores a frame; it reports whether an old frame was dropped.
func (r *frameRing) push(src []int16) (dropped bool) {
	r.mu.Lock()
	if r.count >= maxQueued {
		r.head = (r.head + 1) % ringFrames
		r.count--
		dropped = true
	}
	slot := &r.ring[(r.head+r.count)%ringFrames]
	n := copy(slot[:], src)
	clear(slot[n:])
	r.count++
	r.mu.Unlock()
	return dropped
}

// take copies the oldest queued frame into dst; false when none is queued.
func (r *frameRing) take(dst []int16) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == 0 {
		return false
	}
	copy(dst, r.ring[r.head][:])
	r.head = (r.head + 1) % ringFrames
	r.count--
	if r.count == 0 {
		r.backlog = 0
	} else if r.backlog++; r.backlog >= shrinkAfter {
		// A frame has waited behind this one for half a second: drop it,
		// as a jitter buffer shrinks, so the relay adds under 20 ms.
		r.head = (r.head + 1) % ringFrames
		r.count--
		r.backlog = 0
		r.shrunk++
	}
	return true
}

func (r *frameRing) flush() {
	r.mu.Lock()
	r.head, r.count = 0, 0
	r.mu.Unlock()
}

// Port is one leg's side of the relay: the phone's media pump writes what
// the leg receives into it (Sink) and reads what the leg sends from it
// (Source). What a leg sends is its peer's received audio when a peer is
// connected, the sum of the others in a conference, otherwise its fill
// source (ringback, a prompt) or silence.
//
// Because both legs are decoded to PCM by the phone, PCMU on one leg and
// PCMA on the other relay without any codec negotiation between them. The
// per-frame paths do not allocate. Legs on the same codec skip all this:
// their packets are relayed as they are (relay.go).
type Port struct {
	frameRing

	peer atomic.Pointer[Port]
	fill atomic.Pointer[fillSource]

	// Conference: taps are extra queues every received frame is copied
	// to (one per other member, which reads it as one of its mix
	// sources); mix are the queues this port sums when it is read.
	taps   atomic.Pointer[[]*frameRing]
	mix    atomic.Pointer[[]*frameRing]
	mixBuf [frameSamples]int16 // ReadFrame's scratch (one reader per port)

	// counters for tests, status and the benchmark.
	received atomic.Uint64 // frames written (the leg received audio)
	relayed  atomic.Uint64 // frames read from the peer
	underrun atomic.Uint64 // reads from a connected peer that found nothing
	dropped  atomic.Uint64 // frames dropped to bound latency

	pk packetSide // the packet relay (relay.go)
}

type fillSource struct{ src audio.Source }

// NewPort returns an unconnected port that sends silence.
func NewPort() *Port { return &Port{} }

// WriteFrame stores a frame the leg received. It never blocks.
func (p *Port) WriteFrame(src []int16) error {
	p.received.Add(1)
	if p.push(src) {
		p.dropped.Add(1)
	}
	if taps := p.taps.Load(); taps != nil {
		for _, t := range *taps {
			t.push(src)
		}
	}
	return nil
}

// ReadFrame fills dst with what this leg sends next.
func (p *Port) ReadFrame(dst []int16) error {
	if mix := p.mix.Load(); mix != nil {
		clear(dst)
		got := false
		buf := p.mixBuf[:min(len(dst), frameSamples)]
		for _, r := range *mix {
			if !r.take(buf) {
				continue
			}
			got = true
			for i, v := range buf {
				dst[i] = sat16(int32(dst[i]) + int32(v))
			}
		}
		if got {
			p.relayed.Add(1)
		} else {
			p.underrun.Add(1)
		}
		return nil
	}
	if peer := p.peer.Load(); peer != nil {
		if peer.take(dst) {
			p.relayed.Add(1)
			return nil
		}
		p.underrun.Add(1)
		if f := p.fill.Load(); f != nil && peer.received.Load() == 0 {
			return f.src.ReadFrame(dst) // the peer sent nothing yet: keep the ringback
		}
		clear(dst)
		return nil
	}
	if f := p.fill.Load(); f != nil {
		return f.src.ReadFrame(dst)
	}
	clear(dst)
	return nil
}

func sat16(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// Conference mixes ports: each member hears the sum of the others (not
// itself). It replaces any peer connection; Unconference ends it.
func Conference(ports ...*Port) {
	for _, p := range ports {
		p.taps.Store(nil)
	}
	taps := make(map[*Port][]*frameRing, len(ports))
	for _, p := range ports {
		var mix []*frameRing
		for _, q := range ports {
			if q == p {
				continue
			}
			r := &frameRing{}
			taps[q] = append(taps[q], r)
			mix = append(mix, r)
		}
		p.peer.Store(nil)
		p.mix.Store(&mix)
	}
	for p, ts := range taps {
		p.taps.Store(&ts)
	}
	for _, p := range ports {
		p.reroute() // a conference mixes PCM
	}
}

// Unconference takes ports out of their conference; they send their fill
// or silence until connected again.
func Unconference(ports ...*Port) {
	for _, p := range ports {
		p.mix.Store(nil)
		p.taps.Store(nil)
	}
	for _, p := range ports {
		p.reroute()
	}
}

// SetFill makes the port send src while no peer audio is relayed; nil
// sends silence.
func (p *Port) SetFill(src audio.Source) {
	if src == nil {
		p.fill.Store(nil)
	} else {
		p.fill.Store(&fillSource{src: src})
	}
	p.reroute()
}

// Listen makes this port's leg hear (send) what peer's leg receives; nil
// disconnects. One direction only: Connect does both.
func (p *Port) Listen(peer *Port) {
	if peer != nil {
		peer.flush()
	}
	p.peer.Store(peer)
	p.reroute()
}

// Connect relays a and b both ways.
func Connect(a, b *Port) {
	a.Listen(b)
	b.Listen(a)
}

// PortStats are a port's counters.
type PortStats struct {
	Received, Relayed, Underruns, Dropped uint64
}

// Stats returns the port's counters.
func (p *Port) Stats() PortStats {
	return PortStats{Received: p.received.Load(), Relayed: p.relayed.Load(), Underruns: p.underrun.Load(), Dropped: p.dropped.Load()}
}

// Ringback is the German/CEPT ringing tone (ITU-T E.180: 425 Hz, 1 s on,
// 4 s off), generated; it plays to the device while the destination rings.
type Ringback struct {
	n     int // samples produced
	phase float64
}

// NewRingback returns a ringback source at 8 kHz.
func NewRingback() *Ringback { return &Ringback{} }

// ReadFrame fills dst with the next 20 ms of ringback.
func (r *Ringback) ReadFrame(dst []int16) error {
	const rate, on, period = 8000, 8000, 5 * 8000
	step := 2 * math.Pi * 425 / rate
	for i := range dst {
		if r.n%period < on {
			dst[i] = int16(8000 * math.Sin(r.phase))
		} else {
			dst[i] = 0
		}
		r.phase += step
		if r.phase > 2*math.Pi {
			r.phase -= 2 * math.Pi
		}
		r.n++
	}
	return nil
}

// prompt is the "press a key" cue for the fast-answer guard: 1400 Hz
// beeps, 200 ms every second.
type prompt struct{ Ringback }

func (p *prompt) ReadFrame(dst []int16) error {
	step := 2 * math.Pi * 1400 / 8000
	for i := range dst {
		if p.n%8000 < 1600 {
			dst[i] = int16(8000 * math.Sin(p.phase))
		} else {
			dst[i] = 0
		}
		p.phase += step
		if p.phase > 2*math.Pi {
			p.phase -= 2 * math.Pi
		}
		p.n++
	}
	return nil
}
