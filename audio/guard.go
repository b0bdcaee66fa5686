package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DeviceState is the health of a guarded sound device.
type DeviceState int

const (
	DeviceIdle DeviceState = iota // closed: no call needs it
	DeviceOpen                    // open and moving frames
	DeviceLost                    // failed or stuck: null audio while it is reopened
)

func (s DeviceState) String() string {
	switch s {
	case DeviceIdle:
		return "idle"
	case DeviceOpen:
		return "open"
	case DeviceLost:
		return "lost"
	}
	return fmt.Sprintf("DeviceState(%d)", int(s))
}

// DeviceEvent reports a change of a guarded device's state. Err says why
// a device was lost or why reopening it failed last.
type DeviceEvent struct {
	State DeviceState
	Err   error
}

// ErrDeviceStalled is the Err of a DeviceEvent whose device stopped moving
// frames without returning an error (a read blocked in the sound server's
// client library).
var ErrDeviceStalled = errors.New("audio: device stalled")

// OpenFunc opens a sound device: its microphone, its speaker and what
// closes both.
type OpenFunc func() (Source, Sink, io.Closer, error)

// GuardOptions configure a Guard. The zero value of each field is its
// default.
type GuardOptions struct {
	Format Format // default Narrowband
	// Stall is how long the microphone may go without delivering a frame,
	// or the speaker may take over one write, before the device counts as
	// lost. Default 600 ms.
	Stall time.Duration
	// Retry is the first wait before reopening a lost device; it doubles up
	// to MaxRetry. Defaults 200 ms and 500 ms.
	Retry, MaxRetry time.Duration
	// Lazy opens the device only while SetNeeded(true) is in force (an idle
	// phone holds no stream). Without it the device is opened at once.
	Lazy bool
	// OnChange is called on every state change, from the guard's goroutine;
	// it must not block.
	OnChange func(DeviceEvent)
	Log      *slog.Logger // default slog.Default()
}

// Guard is a sound device that cannot take the audio path down with it. It
// is a Source and a Sink for the hub that never block longer than about a
// frame: one goroutine per direction (a session's reader and writer) does
// the blocking device I/O and exchanges frames with the hub through small
// queues. A device that returns an error, or moves no frame for Stall, is
// declared lost: the hub gets null audio (silence in, discard out), OnChange
// hears of it, and the guard reopens the device with backoff until it
// works again. A reader stuck for good in a C call is abandoned, never
// aborted: its device is closed only once both its goroutines have come
// back, so neither a reopen nor Close waits on it.
//
// The supervisor goroutine is started by NewGuard and joined by Close.
type Guard struct {
	open OpenFunc
	o    GuardOptions
	n    int // samples per frame

	cur    atomic.Pointer[session] // nil: no device (idle or lost)
	needed chan bool               // SetNeeded → supervisor, latest wins
	state  atomic.Int32            // DeviceState, for State
	name   atomic.Pointer[string]  // the last device's DeviceName

	timer *time.Timer // ReadFrame's wait; ReadFrame is called from one goroutine

	ec atomic.Pointer[ecBox] // echo canceller the sessions run; nil: none

	xruns [2]atomic.Uint64 // overflows and underflows of every session so far

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// NewGuard starts guarding the device open opens. With first non-nil (a
// device the caller already opened, e.g. to report an error at start) it
// is used as the first session instead of opening again.
func NewGuard(open OpenFunc, first *Opened, o GuardOptions) *Guard {
	if o.Format.SampleRate == 0 {
		o.Format = Narrowband
	}
	if o.Stall <= 0 {
		o.Stall = 600 * time.Millisecond
	}
	if o.Retry <= 0 {
		o.Retry = 200 * time.Millisecond
	}
	if o.MaxRetry <= 0 {
		o.MaxRetry = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Guard{
		open: open, o: o, n: o.Format.Samples(),
		needed: make(chan bool, 1),
		timer:  time.NewTimer(time.Hour),
		cancel: cancel, done: make(chan struct{}),
	}
	g.timer.Stop()
	want := !o.Lazy
	if first != nil {
		if want {
			g.start(first.Src, first.Sink, first.Closer)
		} else {
			if n, ok := first.Src.(DeviceNamer); ok {
				name := n.DeviceName()
				g.name.Store(&name)
			}
			_ = first.Closer.Close()
		}
	}
	go g.run(ctx, want) // the supervisor: joined by Close
	return g
}

// Opened is a device already opened: what an OpenFunc returns.
type Opened struct {
	Src    Source
	Sink   Sink
	Closer io.Closer
}

// DeviceNamer is a device that can name itself as a spec (a portaudio
// Stream: "portaudio:default").
type DeviceNamer interface {
	DeviceName() string
}

// DeviceName is the name of the device last opened, "" if it has no name.
func (g *Guard) DeviceName() string {
	if p := g.name.Load(); p != nil {
		return *p
	}
	return ""
}

// Xruns returns the overflows (captured audio lost) and underflows (the
// speaker ran dry) of the devices this guard opened, counted by its
// supervisor every 50 ms; the settings pane shows them.
func (g *Guard) Xruns() (overflows, underflows uint64) {
	return g.xruns[0].Load(), g.xruns[1].Load()
}

// State returns the device's state now.
func (g *Guard) State() DeviceState { return DeviceState(g.state.Load()) }

// UseEchoCanceller makes the device's reader and writer run ec (nil:
// none): Playback with each frame as it is written to the sound card,
// Capture on each frame as it is read, so the echo delay the canceller
// models is the device's own.
func (g *Guard) UseEchoCanceller(ec EchoCanceller) {
	if ec == nil {
		g.ec.Store(nil)
		return
	}
	g.ec.Store(&ecBox{ec})
}

// SetNeeded tells a lazy guard whether a call (or a ringing tone) needs the
// device. It never blocks.
func (g *Guard) SetNeeded(need bool) {
	for {
		select {
		case g.needed <- need:
			return
		default:
		}
		select {
		case <-g.needed: // replace a stale value
		default:
		}
	}
}

// ReadFrame fills dst with the next captured frame, waiting at most a
// frame and a half for it; without a device, or when none came, dst is
// silence. It is called from one goroutine (the hub's capture).
func (g *Guard) ReadFrame(dst []int16) error {
	s := g.cur.Load()
	if s == nil || s.dead.Load() {
		clear(dst)
		return nil
	}
	if s.popIn(dst) {
		return nil
	}
	if !g.waitIn(s, dst) {
		clear(dst)
	}
	return nil
}

// ReadPaced is ReadFrame for a reader paced by the device (the hub): it
// returns false, not silence, when no frame came in a frame and a half.
func (g *Guard) ReadPaced(dst []int16) bool {
	s := g.cur.Load()
	if s == nil || s.dead.Load() {
		return false
	}
	return s.popIn(dst) || g.waitIn(s, dst)
}

// waitIn waits up to a frame and a half for a frame of s. A wake-up may be
// stale (its frame was taken by the last call without waiting): only a
// frame or the deadline ends the wait, else a silent frame would be
// slipped in before the frame about to come.
func (g *Guard) waitIn(s *session, dst []int16) bool {
	g.timer.Reset(g.o.Format.Frame * 3 / 2)
	defer g.timer.Stop()
	for {
		select {
		case <-s.inReady:
			if s.popIn(dst) {
				return true
			}
		case <-s.done:
			return false
		case <-g.timer.C:
			return s.popIn(dst)
		}
	}
}

// Paced reports whether ReadFrame waits for the device's frames: a device
// is open and alive (the hub then reads at the device's pace).
func (g *Guard) Paced() bool {
	s := g.cur.Load()
	return s != nil && !s.dead.Load()
}

// WriteFrame queues src for the speaker; without a device it is dropped.
// It never blocks.
func (g *Guard) WriteFrame(src []int16) error {
	s := g.cur.Load()
	if s == nil || s.dead.Load() {
		return nil
	}
	s.mu.Lock()
	s.out.push(src)
	s.mu.Unlock()
	select {
	case s.outReady <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the guard and closes the device when its goroutines come
// back within a short grace; a device stuck in a C call is abandoned. It
// returns within about half a second and always returns nil.
func (g *Guard) Close() error {
	g.once.Do(func() {
		g.cancel()
		<-g.done
	})
	return nil
}

// run is the supervisor: it alone starts and ends sessions.
func (g *Guard) run(ctx context.Context, want bool) {
	defer close(g.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var (
		retryAt time.Time
		backoff = g.o.Retry
		lastErr error

		lastDepths time.Time
		bursts     xrunBursts
	)
	for {
		s := g.cur.Load()
		switch {
		case want && s == nil && !time.Now().Before(retryAt):
			err := g.openCtx(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if lastErr == nil || lastErr.Error() != err.Error() {
					g.o.Log.Warn("audio device reopen failed", "err", err)
				}
				lastErr = err
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, g.o.MaxRetry)
				if g.State() != DeviceLost {
					g.setState(DeviceLost, err)
				}
			} else {
				lastErr, backoff = nil, g.o.Retry
			}
		case !want && s != nil:
			g.stop(s, DeviceIdle, nil)
		case s != nil:
			bursts.note(s, g.o.Log, time.Now(), &g.xruns)
			if t := time.Now(); t.Sub(lastDepths) >= 5*time.Second {
				lastDepths = t
				s.mu.Lock()
				args := []any{"in", s.in.count, "in_trimmed", s.in.trimmed, "in_dropped", s.dropped, "out", s.out.count, "out_trimmed", s.out.trimmed, "out_skipped", s.skipped.Load()}
				g.o.Log.Debug("audio device queues", args...)
				s.mu.Unlock()
			}
			if err := s.health(g.o.Stall); err != nil {
				g.stop(s, DeviceLost, err)
				retryAt = time.Now().Add(backoff)
			}
		}
		select {
		case <-ctx.Done():
			if s := g.cur.Load(); s != nil {
				g.stop(s, DeviceIdle, nil)
			}
			return
		case want = <-g.needed:
			if !want {
				backoff = g.o.Retry
			}
		case <-tick.C:
		}
	}
}

// openCtx opens the device in its own goroutine, so a hanging open cannot
// hold the supervisor past ctx: it is abandoned and closed if it ever
// returns.
func (g *Guard) openCtx(ctx context.Context) error {
	type result struct {
		src  Source
		sink Sink
		c    io.Closer
		err  error
	}
	ch := make(chan result, 1)
	go func() { // the opener: ends when open returns
		src, sink, c, err := g.open()
		ch <- result{src, sink, c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return r.err
		}
		g.start(r.src, r.sink, r.c)
		return nil
	case <-ctx.Done():
		go func() { // closes what the abandoned open returns, if ever
			if r := <-ch; r.err == nil {
				_ = r.c.Close()
			}
		}()
		return ctx.Err()
	}
}

// start makes an open device the current session.
func (g *Guard) start(src Source, sink Sink, c io.Closer) {
	if n, ok := src.(DeviceNamer); ok {
		name := n.DeviceName()
		g.name.Store(&name)
	}
	s := &session{
		src: src, sink: sink, c: c,
		in: newTrimRing(guardInQueue, g.n, 0), out: newTrimRing(hubQueue, g.n, 0),
		inReady: make(chan struct{}, 1), outReady: make(chan struct{}, 1),
		done: make(chan struct{}), log: g.o.Log, ec: &g.ec, frame: g.o.Format.Frame,
	}
	// A sound server may take a while to deliver the first frame (it
	// adapts its latency to the new stream): the stall clock starts later.
	s.started = time.Now().UnixNano()
	s.lastRead.Store(s.started + int64(firstFrameGrace))
	s.wg.Add(2)
	go s.reader(g.n) // the session's reader: counted in s.wg, waited for by the reaper
	go s.writer(g.n) // the session's writer: likewise
	g.cur.Store(s)
	g.setState(DeviceOpen, nil)
	g.o.Log.Info("audio device in use")
}

// stop ends session s. Its device is closed once its reader and writer
// have come back; on the way to idle (Close, or no call) the supervisor
// waits for that a short while, then leaves it to a reaper goroutine.
func (g *Guard) stop(s *session, to DeviceState, why error) {
	s.kill(why)
	g.cur.Store(nil)
	if to == DeviceLost {
		g.setState(to, why)
		g.o.Log.Warn("audio device lost: using null audio", "err", why)
	}
	closed := make(chan struct{})
	go func() { // the reaper: ends when the session's goroutines do
		s.wg.Wait()
		if err := s.c.Close(); err != nil {
			g.o.Log.Debug("close audio device", "err", err)
		}
		close(closed)
	}()
	if to == DeviceIdle {
		select {
		case <-closed:
		case <-time.After(500 * time.Millisecond):
			g.o.Log.Warn("audio device did not come back from a read or write: abandoned")
		}
		g.setState(to, why)
	}
}

func (g *Guard) setState(st DeviceState, err error) {
	g.state.Store(int32(st))
	if g.o.OnChange != nil {
		g.o.OnChange(DeviceEvent{State: st, Err: err})
	}
}

var (
	_ Source      = (*Guard)(nil)
	_ Sink        = (*Guard)(nil)
	_ io.Closer   = (*Guard)(nil)
	_ DeviceNamer = (*Guard)(nil)
	_ EchoDevice  = (*Guard)(nil)
	_ FramePacer  = (*Guard)(nil)
)

// firstFrameGrace is how much longer than Stall a new session may take
// to capture its first frame: PulseAudio's null sink, right after the
// server starts, renders its first block of up to 2 s before it adapts to
// a low-latency client.
const firstFrameGrace = 2500 * time.Millisecond

// startFrames is how many frames a new session captures before a stall
// counts at once (not after firstFrameGrace more).
const startFrames = 5

// session is one opening of the device, with its reader and writer.
type session struct {
	log  *slog.Logger
	ec   *atomic.Pointer[ecBox] // the guard's echo canceller
	src  Source
	sink Sink
	c    io.Closer

	mu      sync.Mutex
	in, out frameRing     // guarded by mu
	dropped uint64        // captured frames dropped for latency, guarded by mu
	skipped atomic.Uint64 // frames the speaker skipped for latency
	late    atomic.Uint64 // microphone frames that came over 3 frames after the last
	frame   time.Duration // one frame

	inReady, outReady chan struct{}
	done              chan struct{} // closed by kill
	dead              atomic.Bool
	failed            atomic.Pointer[error]
	killOnce          sync.Once

	lastRead  atomic.Int64 // unix nanos of the last frame captured
	frames    atomic.Int64 // frames captured
	writeBusy atomic.Int64 // unix nanos a write started, 0 when none is under way
	started   int64        // unix nanos the session started
	wg        sync.WaitGroup
}

func (s *session) kill(why error) {
	s.killOnce.Do(func() {
		s.dead.Store(true)
		close(s.done)
	})
}

// fail records the first I/O error.
func (s *session) fail(err error) {
	s.failed.CompareAndSwap(nil, &err)
}

// health returns why the session is unhealthy: an I/O error, or a
// direction that moved no frame for stall.
func (s *session) health(stall time.Duration) error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	now := time.Now().UnixNano()
	starting := time.Duration(now-s.started) < 2*firstFrameGrace
	micStall := stall
	if starting && s.frames.Load() < startFrames {
		// A stream's first frames may come in a hiccup: a sound server
		// hands over its first low-latency fragment, then finishes the
		// long block a source ran at before (a null sink's monitor in
		// PulseAudio: 0.7 s).
		micStall += firstFrameGrace
	}
	if d := time.Duration(now - s.lastRead.Load()); d > micStall {
		return fmt.Errorf("%w: no microphone frame for %v", ErrDeviceStalled, d.Round(time.Millisecond))
	}
	if starting {
		stall += firstFrameGrace // the first writes may wait for the stream to start
	}
	if b := s.writeBusy.Load(); b != 0 && time.Duration(now-b) > stall {
		return fmt.Errorf("%w: speaker stuck in a write for %v", ErrDeviceStalled, time.Duration(now-b).Round(time.Millisecond))
	}
	return nil
}

// popIn takes the oldest captured frame. Beyond guardInKeep frames the
// oldest are dropped: a microphone clock faster than the hub's must not
// add latency for good.
func (s *session) popIn(dst []int16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.in.count > guardInKeep {
		s.in.pop(dst)
		s.dropped++
	}
	return s.in.pop(dst)
}

func (s *session) queuedIn() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.in.count
}

// reader reads the microphone until the session dies or a read fails.
func (s *session) reader(n int) {
	defer s.wg.Done()
	buf, clean := make([]int16, n), make([]int16, n)
	first := true
	echoFrames := 0 // the device's echo delay in frames; 0: unknown
	if p, ok := s.src.(EchoPath); ok && s.frame > 0 {
		echoFrames = int((p.EchoDelay() + s.frame/2) / s.frame)
	}
	var aligned *ecBox
	for !s.dead.Load() {
		if err := s.src.ReadFrame(buf); err != nil {
			s.fail(fmt.Errorf("microphone: %w", err))
			return
		}
		if b := s.ec.Load(); b != nil {
			if a, ok := b.ec.(EchoAligner); ok && echoFrames > 0 && b != aligned {
				a.AlignEcho(echoFrames)
				aligned = b
			}
			b.ec.Capture(buf, clean)
			copy(buf, clean)
		}
		now := time.Now().UnixNano()
		if first {
			first = false
			s.log.Debug("first microphone frame", "after", time.Duration(now-s.started))
		} else if gap := time.Duration(now - s.lastRead.Load()); gap > 3*s.frame {
			s.late.Add(1)
			s.log.Debug("microphone frame late", "gap", gap.Round(time.Millisecond), "queued", s.queuedIn())
		}
		s.lastRead.Store(now)
		s.frames.Add(1)
		s.mu.Lock()
		s.in.push(buf)
		s.mu.Unlock()
		select {
		case s.inReady <- struct{}{}:
		default:
		}
	}
}

// writer plays queued frames until the session dies or a write fails.
// With nothing queued it waits; the hub writes every frame time.
func (s *session) writer(n int) {
	defer s.wg.Done()
	buf := make([]int16, n)
	lead := leadLimiter{frame: s.frame}
	for {
		select {
		case <-s.done:
			return
		case <-s.outReady:
		}
		for {
			s.mu.Lock()
			ok := s.out.pop(buf)
			s.mu.Unlock()
			if !ok || s.dead.Load() {
				break
			}
			if lead.skip(time.Now(), buf) {
				s.skipped.Add(1)
				continue
			}
			if b := s.ec.Load(); b != nil {
				b.ec.Playback(buf)
			}
			s.writeBusy.Store(time.Now().UnixNano())
			err := s.sink.WriteFrame(buf)
			s.writeBusy.Store(0)
			if err != nil {
				s.fail(fmt.Errorf("speaker: %w", err))
				return
			}
		}
	}
}

// leadLimiter holds the speaker's standing delay bounded. The sound
// server takes a blocking write as soon as it has room in its buffer (the
// PulseAudio ALSA plugin's is 40 ms deep), and the speaker plays at the
// rate the hub writes: whatever a burst of frames once put ahead of the
// speaker stays ahead for the whole call. The limiter counts how far the
// frames written run ahead of the wall clock since the first (the sound
// card's clock, to a few ppm); when the least lead over a window of
// leadWindow writes stayed over leadKeep, one frame is dropped: a quiet
// one (under -40 dBFS) at once, a loud one after 4 windows (a steady tone
// has no quiet frame). A lead below zero means the speaker ran dry: the
// count starts again from there.
type leadLimiter struct {
	frame   time.Duration
	t0      time.Time     // when the frames written so far started to play
	written time.Duration // audio written since t0
	low     time.Duration // least lead in this window
	writes  int           // writes in this window
}

// leadWindow is how many writes the lead is watched over (0.5 s).
const leadWindow = 25

// leadKeep is how far ahead of the speaker writes may stay: a frame and a
// half of scheduling slack.
const leadKeep = 3

func (l *leadLimiter) skip(now time.Time, buf []int16) bool {
	if l.t0.IsZero() {
		l.t0 = now
	}
	lead := l.written - now.Sub(l.t0)
	if lead < 0 { // ran dry: what is written now plays now
		l.t0, l.written, lead = now, 0, 0
	}
	if l.writes == 0 || lead < l.low {
		l.low = lead
	}
	l.writes++
	if l.writes >= leadWindow && l.low > l.frame*leadKeep/2 && (quietFrame(buf) || l.writes >= 4*leadWindow) {
		l.writes = 0
		return true
	}
	if l.writes >= leadWindow && l.low <= l.frame*leadKeep/2 {
		l.writes = 0
	}
	l.written += l.frame
	return false
}

// quietFrame reports whether a frame is under -40 dBFS (RMS).
func quietFrame(b []int16) bool {
	var e float64
	for _, v := range b {
		e += float64(v) * float64(v)
	}
	return e < float64(len(b))*327.68*327.68
}

// XrunCounter is a device that counts lost input (overflows) and late
// output (underflows): a portaudio Stream.
type XrunCounter interface {
	InputOverflowed() uint64
	OutputUnderflowed() uint64
}

// xrunBursts logs a device's overflows and underflows once per burst: the
// first new one starts a burst, and a second without a new one ends it
// with one line giving its counts.
type xrunBursts struct {
	over, under   uint64    // the counts last seen
	bOver, bUnder uint64    // in the burst under way
	last          time.Time // the last new one; zero: no burst
}

func (x *xrunBursts) note(s *session, log *slog.Logger, now time.Time, totals *[2]atomic.Uint64) {
	d, ok := s.src.(XrunCounter)
	if !ok {
		return
	}
	o, u := d.InputOverflowed(), d.OutputUnderflowed()
	if o < x.over || u < x.under { // a new device: its counts start again
		x.over, x.under = 0, 0
	}
	if o > x.over || u > x.under {
		x.bOver += o - x.over
		x.bUnder += u - x.under
		totals[0].Add(o - x.over)
		totals[1].Add(u - x.under)
		x.last = now
	} else if !x.last.IsZero() && now.Sub(x.last) >= time.Second {
		log.Warn("audio device overflow/underflow burst", "overflows", x.bOver, "underflows", x.bUnder, "overflows_total", o, "underflows_total", u)
		x.bOver, x.bUnder, x.last = 0, 0, time.Time{}
	}
	x.over, x.under = o, u
}

// IsDeviceSpec reports whether spec names a sound device (auto, or a
// registered backend such as pulse or portaudio[:DEVICE]) rather than a built-in
// source such as null or tone:HZ.
func IsDeviceSpec(spec string) bool {
	if strings.Contains(spec, "+record:") {
		return false
	}
	name, _, _ := strings.Cut(spec, ":")
	if name == "" || name == "auto" {
		return true
	}
	_, ok := lookupBackend(name)
	return ok
}

// OpenGuardedDevice is OpenDevice for a softphone that must survive its
// sound server: a device spec that opens is wrapped in a Guard that
// reopens it (through Open, so "auto" does not fall back to null once a
// device has worked) after a loss. Everything else is returned as
// OpenDevice returns it. o.Format is set to f.
func OpenGuardedDevice(spec string, f Format, log *slog.Logger, o GuardOptions) (src Source, sink Sink, closer io.Closer, notice string, err error) {
	if log == nil {
		log = slog.Default()
	}
	src, sink, closer, notice, err = OpenDevice(spec, f, log)
	if err != nil || notice != "" || !IsDeviceSpec(spec) {
		return src, sink, closer, notice, err
	}
	reopen := spec
	if reopen == "" {
		reopen = "auto"
	}
	o.Format = f
	if o.Log == nil {
		o.Log = log
	}
	g := NewGuard(func() (Source, Sink, io.Closer, error) { return openSpec(reopen, f, log) }, &Opened{Src: src, Sink: sink, Closer: closer}, o)
	return g, g, g, "", nil
}

// guardInQueue is how many captured frames a session holds for the hub
// (200 ms): a sound server may deliver the microphone in bursts of several
// frames, which a shorter queue would cut into.
const guardInQueue = 10

// guardInKeep is how many captured frames may wait for the hub (80 ms).
const guardInKeep = 4
