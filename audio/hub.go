package audio

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Hub shares one sound device (a Source, the microphone, and a Sink, the
// speaker) among many calls. Each call gets a Port, which is its Source
// (what the call sends) and its Sink (what it received). Only live ports
// hear the microphone and are played out; with two live ports (a local
// conference) each also hears the other, and the speaker plays both, mixed
// with saturation. Non-live ports (held calls, ringing calls) send silence
// and their audio is dropped.
//
// The hub also plays a Cue (ringtone or call-waiting tone) into the
// speaker, mixed over the calls.
//
// Frames move through small per-port queues, so the RTP side (which paces
// itself) and the device side (paced by the sound card, or by the hub's
// ticker for devices that do not block) never wait for each other. The
// per-frame paths do not allocate. All methods are safe for concurrent use.
type Hub struct {
	f   Format
	n   int                       // samples per frame
	dev atomic.Pointer[hubDevice] // the device in use; SetDevice swaps it

	mu    sync.Mutex
	ports map[string]*Port
	cue   *CueSource // nil: no cue playing
	cues  [3]*CueSource

	mic []int16 // capture goroutine only
	tmp []int16 // under mu
	out []int16 // playout goroutine only

	inPeak, outPeak atomic.Uint64 // math.Float64bits of the last frame's peak, 0..1

	needMu sync.Mutex  // orders calls to the device's SetNeeded
	needed atomic.Bool // a call or a cue needs the device

	ec         atomic.Pointer[ecBox] // echo canceller in use; nil: off
	ecInDevice atomic.Bool           // the device runs it (EchoDevice)
	aecOut     []int16               // capture goroutine only

	// paced is set while the device paces the capture (FramePacer): the
	// speaker then runs on the sound card's clock too, not on a ticker
	// that drifts from it. After each captured frame the capture hands
	// the playout a tick (captured); the playout plays one frame phase
	// after it, where phase is just after the latest the call's frames
	// have been arriving in the frame (arrivals): a frame is played as
	// soon as it is there, not up to a frame later.
	paced    atomic.Bool
	captured chan time.Time               // capture → playout, latest wins
	arrivals [arrivalWindow]time.Duration // received frames' offsets after the capture tick, under mu
	nArr     int                          // arrivals written, under mu
	capAt    atomic.Int64                 // unix nanos of the last paced capture
	playMu   sync.Mutex                   // one playFrame at a time (capture or ticker)

	stop     chan struct{}
	stopOnce sync.Once
	running  sync.WaitGroup
}

// hubDevice is the sound device a hub reads and plays: replaced whole by
// SetDevice, so the capture and playout goroutines each see one device per
// frame.
type hubDevice struct {
	src Source
	snk Sink
}

// hubQueue is how many frames a port buffers each way (60 ms): enough to
// ride out scheduling jitter, short enough to keep latency down.
const hubQueue = 3

// txQueue is how many captured frames a port holds for the call (160 ms).
// The hub captures at the device's pace, and a sound server may deliver
// the microphone in bursts for a while (PulseAudio re-rendering a source in
// larger blocks after it restarted, or as a client of it comes or goes):
// the queue absorbs a burst rather than dropping its oldest frames and
// then sending silence until the next. Its standing depth is trimmed
// (frameRing), so the room costs no delay while the delivery is smooth.
const txQueue = 8

// NewHub returns a hub over a device's source and sink in format f. Start
// it with Run.
func NewHub(src Source, sink Sink, f Format) *Hub {
	n := f.Samples()
	h := &Hub{
		f: f, n: n,
		ports: map[string]*Port{},
		mic:   make([]int16, n), tmp: make([]int16, n), out: make([]int16, n), aecOut: make([]int16, n),
		stop:     make(chan struct{}),
		captured: make(chan time.Time, capturedTicks),
	}
	h.dev.Store(&hubDevice{src: src, snk: sink})
	for c := CueRing; c <= CueWaiting; c++ {
		h.cues[c] = NewCueSource(f, c)
	}
	h.updateNeed()
	return h
}

// SetDevice makes src and sink the hub's device from the next frame on,
// while Run goes on: calls keep their ports, their queues and their live
// state, so they go on hearing and sending across the switch. It returns
// the previous source and sink, which the caller closes (the hub never
// closes a device): a capture still blocked in the old sound card's
// ReadFrame then returns, and that one frame is dropped as silence.
// Nil src or sink means Null. SetDevice is safe while Run is running and
// before it starts.
func (h *Hub) SetDevice(src Source, sink Sink) (oldSrc Source, oldSink Sink) {
	if src == nil || sink == nil {
		n := new(Null)
		if src == nil {
			src = n
		}
		if sink == nil {
			sink = n
		}
	}
	next := &hubDevice{src: src, snk: sink}
	old := h.dev.Swap(next)
	if d, ok := old.src.(EchoDevice); ok {
		d.UseEchoCanceller(nil)
	}
	h.applyEC(next)
	h.updateNeed()
	return old.src, old.snk
}

// Needer is a device that opens only while needed (a Guard with Lazy).
// The hub tells it whether any call (ringing, active or held) or a cue
// needs the device, so an idle phone holds no sound card stream.
type Needer interface {
	SetNeeded(bool)
}

// updateNeed tells the device whether the hub needs it. It must be
// called without h.mu held.
func (h *Hub) updateNeed() {
	h.needMu.Lock()
	defer h.needMu.Unlock()
	h.mu.Lock()
	need := len(h.ports) > 0 || h.cue != nil
	h.mu.Unlock()
	h.needed.Store(need)
	if n, ok := h.dev.Load().src.(Needer); ok {
		n.SetNeeded(need)
	}
}

// ecBox holds an EchoCanceller for an atomic pointer.
type ecBox struct{ ec EchoCanceller }

// SetEchoCanceller makes ec clean the microphone from the next frame on
// (nil: off) and returns the one it replaces, which the caller closes
// once no frame can be using it (after Close, or a frame later). While no
// call or cue needs the device, the canceller is not run.
func (h *Hub) SetEchoCanceller(ec EchoCanceller) (old EchoCanceller) {
	var b *ecBox
	if ec != nil {
		b = &ecBox{ec}
	}
	o := h.ec.Swap(b)
	h.applyEC(h.dev.Load())
	if o != nil {
		return o.ec
	}
	return nil
}

// EchoDevice is a device that runs an echo canceller next to its own I/O
// (a Guard: the reference is the frame as it is written to the sound
// card, the capture the frame as it is read), where the delay between
// them is the device's, steady, instead of the hub's queues'.
type EchoDevice interface {
	UseEchoCanceller(EchoCanceller)
}

// applyEC hands the echo canceller to dev when it runs one itself, else
// keeps it in the hub's frames.
func (h *Hub) applyEC(dev *hubDevice) {
	var ec EchoCanceller
	if b := h.ec.Load(); b != nil {
		ec = b.ec
	}
	d, ok := dev.src.(EchoDevice)
	if ok {
		d.UseEchoCanceller(ec)
	}
	h.ecInDevice.Store(ok)
}

// Port returns the port of call id, creating it (not live) on first use.
func (h *Hub) Port(id string) *Port {
	h.mu.Lock()
	if p, ok := h.ports[id]; ok {
		h.mu.Unlock()
		return p
	}
	p := &Port{h: h, id: id, tx: newTrimRing(txQueue, h.n, 0), rx: newTrimRing(hubQueue, h.n, 0), last: make([]int16, h.n), jb: NewJitterBuffer(h.f), ready: make(chan struct{}, 1)}
	h.ports[id] = p
	h.mu.Unlock()
	h.updateNeed()
	return p
}

// SetLive makes a call's port live (it hears the microphone and is played
// out) or not. Unknown ids are ignored.
func (h *Hub) SetLive(id string, live bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.ports[id]; ok && p.live != live {
		p.live = live
		p.tx.reset()
		p.rx.reset()
		if p.jb != nil {
			p.jb.Reset()
		}
		clear(p.last)
	}
}

// SetCue starts (or, with CueNone, stops) a cue in the speaker. Setting the
// cue already playing does not restart its cadence.
func (h *Hub) SetCue(c Cue) {
	h.mu.Lock()
	var next *CueSource
	if c == CueRing || c == CueWaiting {
		next = h.cues[c]
	}
	if next != h.cue && next != nil {
		next.Reset()
	}
	changed := (h.cue == nil) != (next == nil)
	h.cue = next
	h.mu.Unlock()
	if changed {
		h.updateNeed()
	}
}

// Levels returns the peak of the last microphone frame and of the last
// speaker frame, as fractions of full scale (for a level meter).
func (h *Hub) Levels() (mic, speaker float64) {
	return math.Float64frombits(h.inPeak.Load()), math.Float64frombits(h.outPeak.Load())
}

// Run moves audio until ctx ends or Close is called. It owns two
// goroutines, capture and playout, and returns when both have stopped. A
// capture blocked in a sound card's ReadFrame stops when the device is
// closed, so close the device after cancelling ctx.
func (h *Hub) Run(ctx context.Context) error {
	h.running.Add(1)
	defer h.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-h.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { h.captureLoop(ctx) })
	wg.Go(func() { h.playLoop(ctx) })
	wg.Wait()
	return nil
}

// loop calls step once per frame time until ctx ends. A step that blocks
// (a sound card) paces itself; the ticker drops the ticks it missed.
func (h *Hub) loop(ctx context.Context, step func() error) {
	t := time.NewTicker(h.f.Frame)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := step(); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// FramePacer is a Source whose ReadFrame, while Paced, waits for the
// device's next frame (a guarded sound card): the hub's capture then runs
// at the device's pace rather than its ticker's, so a captured frame is
// passed on as it arrives instead of waiting up to a frame for a tick.
type FramePacer interface {
	Paced() bool
	// ReadPaced fills dst with the next captured frame, waiting at most
	// about a frame and a half; without one it returns false and dst is
	// undefined. The hub then sends nothing rather than a silent frame
	// that would delay the frames about to come.
	ReadPaced(dst []int16) bool
}

// captureLoop is loop for the capture: paced by the device while it paces
// itself, else by the ticker. While the device paces it, it also plays a
// frame after each frame captured (or missed): the speaker then runs on
// the device's clock and gets each frame as soon as it is due.
func (h *Hub) captureLoop(ctx context.Context) {
	t := time.NewTicker(h.f.Frame)
	defer t.Stop()
	defer h.paced.Store(false)
	for {
		if p, ok := h.dev.Load().src.(FramePacer); ok && p.Paced() {
			h.paced.Store(true)
			if ctx.Err() != nil {
				return
			}
			got := p.ReadPaced(h.mic)
			now := time.Now()
			h.capAt.Store(now.UnixNano())
			if got {
				h.passMic(nil)
			}
			// One playout tick per frame, missed or not: a sound server
			// that hands over two frames at once (a null sink's monitor
			// every 40 ms) gets two frames played.
			for {
				select {
				case h.captured <- now:
				default:
					select {
					case <-h.captured: // the playout is stuck: keep the newest
					default:
					}
					continue
				}
				break
			}
			continue
		}
		h.paced.Store(false)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.captureFrame(); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// capturedTicks is how many capture ticks may wait for the playout.
const capturedTicks = 4

// arrivalWindow is how many received frames the playout phase is read
// over (1 s of 20 ms frames).
const arrivalWindow = 50

// playMargin is how long after the latest arrival the playout plays.
const playMargin = 2 * time.Millisecond

// playLoop plays a frame per frame time: on the ticker, or while the
// device paces the capture, one per captured frame at the playout phase.
func (h *Hub) playLoop(ctx context.Context) {
	t := time.NewTicker(h.f.Frame)
	defer t.Stop()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if h.paced.Load() {
				continue // the capture's ticks pace the playout
			}
		case at := <-h.captured:
			ph := h.playPhase()
			if d := time.Until(at.Add(ph)); d > 0 {
				wait.Reset(d)
				select {
				case <-ctx.Done():
					wait.Stop()
					return
				case <-wait.C:
				}
			}
		}
		if err := h.playFrame(); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// playPhase is how long after a capture tick the playout plays: just
// after the latest offset at which frames arrived over the last second,
// at most a frame less a margin; 0 with no frames received.
func (h *Hub) playPhase() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var late time.Duration
	for _, d := range h.arrivals[:min(h.nArr, arrivalWindow)] {
		late = max(late, d)
	}
	if h.nArr == 0 {
		return 0
	}
	return min(late+playMargin, h.f.Frame-playMargin)
}

// noteArrival records when a live port received a frame, as an offset
// after the last capture tick. Called with h.mu held.
func (h *Hub) noteArrival() {
	if !h.paced.Load() {
		return
	}
	d := time.Duration(time.Now().UnixNano()-h.capAt.Load()) % h.f.Frame
	if d < 0 {
		d += h.f.Frame
	}
	h.arrivals[h.nArr%arrivalWindow] = d
	h.nArr++
}

// Close stops Run and waits for it. It does not close the device. It
// always returns nil.
func (h *Hub) Close() error {
	h.stopOnce.Do(func() { close(h.stop) })
	h.running.Wait()
	return nil
}

// captureFrame reads one microphone frame and queues it for every live
// port, mixed with what the other live ports received (conference).
func (h *Hub) captureFrame() error {
	return h.passMic(h.dev.Load().src.ReadFrame(h.mic))
}

// passMic queues the microphone frame in h.mic, read with err, for every
// live port.
func (h *Hub) passMic(err error) error {
	if err != nil {
		clear(h.mic)
	} else if b := h.ec.Load(); b != nil && h.needed.Load() && !h.ecInDevice.Load() {
		b.ec.Capture(h.mic, h.aecOut)
		copy(h.mic, h.aecOut)
	}
	h.inPeak.Store(math.Float64bits(peak(h.mic)))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.ports {
		if !p.live {
			continue
		}
		copy(h.tmp, h.mic)
		for _, q := range h.ports {
			if q != p && q.live {
				mixInto(h.tmp, q.last)
			}
		}
		p.tx.push(h.tmp)
		select {
		case p.ready <- struct{}{}:
		default:
		}
	}
	return err
}

// playFrame mixes one frame of every live port and the cue and writes it to
// the speaker.
func (h *Hub) playFrame() error {
	h.playMu.Lock()
	defer h.playMu.Unlock()
	clear(h.out)
	h.mu.Lock()
	for _, p := range h.ports {
		switch {
		case p.jb != nil:
			p.jb.Get(p.last) // a frame, a concealed one, or silence
		case !p.rx.pop(p.last):
			clear(p.last)
		}
		if p.live {
			mixInto(h.out, p.last)
		}
	}
	if h.cue != nil {
		_ = h.cue.ReadFrame(h.tmp)
		mixInto(h.out, h.tmp)
	}
	h.mu.Unlock()
	if b := h.ec.Load(); b != nil && h.needed.Load() && !h.ecInDevice.Load() {
		b.ec.Playback(h.out)
	}
	h.outPeak.Store(math.Float64bits(peak(h.out)))
	return h.dev.Load().snk.WriteFrame(h.out)
}

// Port is one call's view of the hub: an audio.Source (what the call
// sends) and an audio.Sink (what it received). Close removes it.
type Port struct {
	h      *Hub
	id     string
	live   bool      // guarded by h.mu
	tx, rx frameRing // guarded by h.mu
	last   []int16   // rx frame being played, guarded by h.mu
	closed bool      // guarded by h.mu
	// jb, when a jitter buffer is built in, replaces rx for frames that
	// come with their RTP timestamp (WriteTimed). Guarded by h.mu.
	jb JitterBuffer
	// ready is signalled when the capture queues a frame for the port.
	ready chan struct{}
}

// PacedSource is a Source whose frames come at the sound card's pace (a
// hub's Port): a sender that waits on FrameReady sends each captured frame
// as it comes, not on a ticker of its own that would hold it up to a frame.
type PacedSource interface {
	Source
	// Paced reports whether frames now come at a device's pace; else
	// FrameReady may stay silent and the sender paces itself.
	Paced() bool
	// FrameReady is signalled (level-triggered, capacity one) when a
	// frame has been queued for ReadFrame.
	FrameReady() <-chan struct{}
}

// Paced reports whether the port's frames come at the device's pace: the
// hub's device paces the capture and the port is live (a port that is not
// gets no frames, and its sender keeps its own pace).
func (p *Port) Paced() bool {
	if !p.h.paced.Load() {
		return false
	}
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	return p.live && !p.closed
}

// FrameReady is signalled when the capture has queued a frame for the port.
func (p *Port) FrameReady() <-chan struct{} { return p.ready }

// ReadFrame fills dst with the next frame to send: the microphone (and the
// other live ports) when live, else silence.
func (p *Port) ReadFrame(dst []int16) error {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if !p.live || !p.tx.pop(dst) {
		clear(dst)
	}
	if p.tx.count > 0 { // FrameReady stays level-triggered
		select {
		case p.ready <- struct{}{}:
		default:
		}
	}
	return nil
}

// WriteFrame queues a received frame for the speaker.
func (p *Port) WriteFrame(src []int16) error {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.live {
		p.rx.push(src)
		p.h.noteArrival()
	}
	return nil
}

// WriteTimed queues a received frame with its RTP timestamp and sequence
// number: into the port's jitter buffer when one is built in, which orders
// frames, conceals lost ones and sets the playout delay; else as
// WriteFrame.
func (p *Port) WriteTimed(src []int16, ts uint32, seq uint16) error {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if !p.live {
		return nil
	}
	if p.jb != nil {
		p.jb.Put(src, ts, seq)
	} else {
		p.rx.push(src)
	}
	p.h.noteArrival()
	return nil
}

// Close removes the port from the hub. It always returns nil.
func (p *Port) Close() error {
	p.h.mu.Lock()
	if !p.closed && p.jb != nil {
		_ = p.jb.Close()
	}
	p.closed = true
	removed := p.h.ports[p.id] == p
	if removed {
		delete(p.h.ports, p.id)
	}
	p.h.mu.Unlock()
	if removed {
		p.h.updateNeed()
	}
	return nil
}

var (
	_ PacedSource = (*Port)(nil)
	_ Source      = (*Port)(nil)
	_ Sink        = (*Port)(nil)
	_ TimedSink   = (*Port)(nil)
)

// frameRing is a fixed queue of frames; pushing onto a full ring drops the
// oldest frame.
//
// With keep > 0 it also holds its standing depth bounded: two clocks that
// run at the same rate (a sound card and the RTP pacing, say) leave a queue
// at whatever depth a burst once filled it to, and every frame it holds is
// latency for the rest of the call. A ring watches the least depth it had
// after each pop over a window of trimWindow pops; when it never fell to
// keep, the quietest queued frame is dropped (a frame dropped in silence is
// not heard), so the depth settles at keep frames at most.
type frameRing struct {
	buf         []int16
	n           int // samples per frame
	head, count int

	trim    bool // hold the standing depth at keep
	keep    int  // standing depth allowed
	low     int  // least depth after a pop in this window
	pops    int  // pops in this window
	trimmed uint64
}

// trimWindow is how many pops a ring watches its depth over before it
// drops a frame it never needed (0.5 s of 20 ms frames).
const trimWindow = 25

func newFrameRing(frames, n int) frameRing {
	return frameRing{buf: make([]int16, frames*n), n: n, low: frames}
}

// newTrimRing is a frameRing that holds its standing depth at keep frames
// at most.
func newTrimRing(frames, n, keep int) frameRing {
	r := newFrameRing(frames, n)
	r.trim, r.keep = true, keep
	return r
}

func (r *frameRing) cap() int { return len(r.buf) / r.n }

func (r *frameRing) reset() { r.head, r.count, r.low, r.pops = 0, 0, r.cap(), 0 }

func (r *frameRing) push(src []int16) {
	if r.count == r.cap() {
		r.head = (r.head + 1) % r.cap()
		r.count--
	}
	i := (r.head + r.count) % r.cap()
	f := r.buf[i*r.n : (i+1)*r.n]
	clear(f[copy(f, src):])
	r.count++
}

func (r *frameRing) pop(dst []int16) bool {
	if r.count == 0 {
		r.low = 0
		r.tick()
		return false
	}
	f := r.buf[r.head*r.n : (r.head+1)*r.n]
	clear(dst[copy(dst, f):])
	r.head = (r.head + 1) % r.cap()
	r.count--
	r.low = min(r.low, r.count)
	r.tick()
	return true
}

// tick ends a pop: at the end of a window whose least depth stayed over
// keep, the quietest queued frame goes.
func (r *frameRing) tick() {
	if !r.trim {
		return
	}
	r.pops++
	if r.pops < trimWindow {
		return
	}
	if r.low > r.keep && r.count > 0 {
		r.dropQuietest()
		r.trimmed++
	}
	r.low, r.pops = r.count, 0
}

// dropQuietest removes the queued frame with the least energy, keeping the
// others in order.
func (r *frameRing) dropQuietest() {
	c := r.cap()
	best, bestE := 0, int64(math.MaxInt64)
	for k := range r.count {
		i := (r.head + k) % c
		var e int64
		for _, v := range r.buf[i*r.n : (i+1)*r.n] {
			e += int64(v) * int64(v)
		}
		if e < bestE {
			best, bestE = k, e
		}
	}
	// Shift the frames before it one slot later, then advance head.
	for k := best; k > 0; k-- {
		dst := (r.head + k) % c
		src := (r.head + k - 1) % c
		copy(r.buf[dst*r.n:(dst+1)*r.n], r.buf[src*r.n:(src+1)*r.n])
	}
	r.head = (r.head + 1) % c
	r.count--
}

// mixInto adds src to dst sample by sample, saturating at the int16 range.
func mixInto(dst, src []int16) {
	for i := range min(len(dst), len(src)) {
		v := int32(dst[i]) + int32(src[i])
		dst[i] = int16(max(min(v, math.MaxInt16), math.MinInt16))
	}
}

// peak is the largest magnitude in s as a fraction of full scale.
func peak(s []int16) float64 {
	var m int32
	for _, v := range s {
		a := int32(v)
		if a < 0 {
			a = -a
		}
		m = max(m, a)
	}
	return float64(m) / 32768
}

// Cue is a call-progress sound played into the speaker.
type Cue int

const (
	CueNone    Cue = iota // silence
	CueRing               // ringtone: 425 Hz, 1 s on, 4 s off
	CueWaiting            // call-waiting tone: 425 Hz, two 200 ms beeps, then 4.4 s quiet
)

func (c Cue) String() string {
	switch c {
	case CueRing:
		return "ring"
	case CueWaiting:
		return "waiting"
	}
	return "none"
}

// CueFrequency is the tone of every cue (the European call-progress tone,
// ETSI TR 101 041).
const CueFrequency = 425

// cueAmplitude keeps cues well below full scale: they mix over a call.
const cueAmplitude = 0.2

// cadences are the on/off periods of each cue, starting with on.
var cadences = [...][]time.Duration{
	CueRing:    {time.Second, 4 * time.Second},
	CueWaiting: {200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 4400 * time.Millisecond},
}

// CueSource is a Source playing a cue's cadence forever. ReadFrame does not
// allocate. It is safe for concurrent use.
type CueSource struct {
	mu    sync.Mutex
	tone  *Tone
	marks []int // cumulative sample counts at the end of each period
	pos   int   // sample position in the cycle
}

// NewCueSource returns the cue c in format f (c must be CueRing or
// CueWaiting; anything else plays silence).
func NewCueSource(f Format, c Cue) *CueSource {
	s := &CueSource{tone: NewTone(f, CueFrequency, cueAmplitude)}
	if c == CueRing || c == CueWaiting {
		sum := 0
		for _, d := range cadences[c] {
			sum += int(int64(f.SampleRate) * int64(d) / int64(time.Second))
			s.marks = append(s.marks, sum)
		}
	}
	return s
}

// Reset starts the cadence over.
func (s *CueSource) Reset() {
	s.mu.Lock()
	s.pos = 0
	s.mu.Unlock()
}

// ReadFrame fills dst with the next samples of the cadence.
func (s *CueSource) ReadFrame(dst []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.marks) == 0 {
		clear(dst)
		return nil
	}
	_ = s.tone.ReadFrame(dst)
	cycle := s.marks[len(s.marks)-1]
	for i := range dst {
		period := 0
		for period < len(s.marks) && s.pos >= s.marks[period] {
			period++
		}
		if period%2 == 1 { // odd periods are the pauses
			dst[i] = 0
		}
		s.pos++
		if s.pos >= cycle {
			s.pos = 0
		}
	}
	return nil
}

var _ Source = (*CueSource)(nil)
