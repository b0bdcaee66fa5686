// Package pulse is the PulseAudio backend (PipeWire's pulse server too):
// it speaks the native protocol in pure Go through
// github.com/jfreymuth/pulse/proto, so it needs no cgo and no build tag,
// and it sets the stream buffers itself for a phone call: the speaker
// holds about a frame and a half, the microphone delivers one frame at a
// time. Through portaudio the same server sits behind ALSA's pulse plugin,
// whose buffers cost some 50 ms of round trip (see docs/audio.md).
//
// The package registers the backend "pulse" with package audio:
//
//	pulse                      the server's default source and sink
//	pulse:NAME                 the source or sink (or both) named NAME
//	pulse:in=SOURCE;out=SINK   either part optional
//
// The server is $PULSE_SERVER, else $XDG_RUNTIME_DIR/pulse/native.
// The connection is ours (dialled with a timeout, every read and write
// watched): the library's client stays silent about a reset connection and
// a failed write (LIBRARIES §3), so the stream fails itself, and a lost
// server surfaces as an error from ReadFrame or WriteFrame within a frame
// or two, which the audio.Guard turns into a device loss and a reopen.
package pulse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jfreymuth/pulse/proto"

	"github.com/anyphone/anyphone/audio"
)

// Name is the name the backend registers under.
const Name = "pulse"

func init() {
	audio.RegisterBackend(Name, audio.Backend{Open: openBackend, Devices: Devices})
}

// Sentinel errors. Test them with errors.Is.
var (
	// ErrNoServer is wrapped when no sound server answers.
	ErrNoServer = errors.New("pulse: no sound server")
	// ErrNoDevice is wrapped when the server has no source or sink of the
	// name asked for.
	ErrNoDevice = errors.New("pulse: no such device")
	// ErrBadArg is wrapped when a spec argument cannot be parsed.
	ErrBadArg = errors.New("pulse: bad device argument")
	// ErrServerGone is wrapped when the server closed the connection or
	// stopped answering during a call.
	ErrServerGone = errors.New("pulse: sound server gone")
)

// Buffer sizes, in frames of the call's format.
const (
	// playTarget is the speaker buffer the server keeps filled: a frame
	// and a half rides out the scheduling jitter of a frame-paced writer.
	playTarget = 1.5
	// playAhead is how far beyond what the server asked for the speaker
	// may be written before a frame is dropped (counted as an overflow):
	// a burst, or a writer whose clock runs fast, cannot add latency for
	// good. The server's own bound (maxlength) is left at its default: a
	// null sink with rewinds keeps more than tlength queued and would
	// drop nearly every write under a tight bound.
	playAhead = 2
	// inKeep is how many captured frames wait for ReadFrame before the
	// oldest are dropped (counted as overflows).
	inKeep = 4
)

// Timeouts.
var (
	dialTimeout    = 2 * time.Second
	requestTimeout = 2 * time.Second
	// writeTimeout bounds one write to the server: a server that stops
	// reading fails the stream instead of blocking the speaker.
	writeTimeout = 500 * time.Millisecond
	// readTimeout is how long ReadFrame waits for audio before it reports
	// the server gone.
	readTimeout = 2 * time.Second
	// firstReadTimeout replaces it until the stream's first audio: a
	// PulseAudio server that has just started sends its sources' first
	// audio about 2.3 s after it starts, to every stream alike (measured:
	// streams opened 0.34 and 0.65 s after the start both got their first
	// packet at 2.34 s). With readTimeout the stream opened when the
	// server came back failed 0.3 s before its audio, and the user saw a
	// second "audio device lost" right after "audio device back". The
	// device guard's own start-up grace (audio.Guard) still bounds it.
	firstReadTimeout = 5 * time.Second
)

// Stream is an open source and sink on a PulseAudio server: an
// audio.Source (the microphone) and an audio.Sink (the speaker) in the
// call's format; the server converts rates and channels. ReadFrame blocks
// until a frame has been captured; WriteFrame hands a frame to the server
// and does not wait for it to play. One goroutine may read while another
// writes.
type Stream struct {
	format audio.Format
	n      int // samples per frame
	c      *proto.Client
	conn   *watchedConn
	log    *slog.Logger

	playIdx, recIdx atomic.Uint32 // stream indexes; proto.Undefined until created
	inName, outName string
	echoDelay       time.Duration // speaker buffer + microphone fragment, as the server set them

	mu      sync.Mutex
	in      []int16       // captured, not yet read; guarded by mu
	heard   atomic.Bool   // the microphone has sent audio
	t0      time.Time     // catchUp's anchor; guarded by mu
	recv    int           // samples received since t0 (less those dropped); guarded by mu
	inReady chan struct{} // a frame may be ready
	wbuf    []byte        // WriteFrame's encoding buffer (one writer)

	credit     atomic.Int64  // bytes the server asked for and was not yet sent
	overflows  atomic.Uint64 // captured frames dropped, and speaker frames dropped as too far ahead
	underflows atomic.Uint64 // times the speaker ran dry
	failed     atomic.Pointer[error]
	done       chan struct{} // closed by fail or Close
	doneOnce   sync.Once
	timer      *time.Timer // ReadFrame's wait (one reader)
}

// Open opens the source in and the sink out ("" for the server's
// defaults) for format f, which must be mono.
func Open(in, out string, f audio.Format) (*Stream, error) {
	return open(in, out, f, slog.Default())
}

// openBackend is the audio.Backend opener.
func openBackend(arg string, f audio.Format, log *slog.Logger) (audio.Source, audio.Sink, io.Closer, error) {
	in, out, ok := audio.SplitDevices(arg)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: %q: want NAME or in=SOURCE;out=SINK", ErrBadArg, arg)
	}
	s, err := open(in, out, f, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, s, s, nil
}

func open(in, out string, f audio.Format, log *slog.Logger) (*Stream, error) {
	if f.Channels > 1 {
		return nil, fmt.Errorf("%w: %d channels: calls are mono", ErrBadArg, f.Channels)
	}
	n := f.Samples()
	if n <= 0 {
		return nil, fmt.Errorf("%w: format %+v has no samples per frame", ErrBadArg, f)
	}
	if log == nil {
		log = slog.Default()
	}
	s := newStream(f, n, log)
	if err := s.connect(); err != nil {
		return nil, err
	}
	if err := s.create(in, out); err != nil {
		_ = s.conn.Close()
		return nil, err
	}
	return s, nil
}

// newStream is a Stream not yet connected: n samples a frame.
func newStream(f audio.Format, n int, log *slog.Logger) *Stream {
	s := &Stream{
		format: f, n: n, log: log,
		in:      make([]int16, 0, (inKeep+1)*n),
		inReady: make(chan struct{}, 1),
		wbuf:    make([]byte, 2*n),
		done:    make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	s.timer.Stop()
	s.playIdx.Store(proto.Undefined)
	s.recIdx.Store(proto.Undefined)
	return s
}

// connect dials the server and authenticates.
func (s *Stream) connect() error {
	c, conn, err := dial(s.fail)
	if err != nil {
		return err
	}
	s.c, s.conn = c, conn
	c.Callback = s.onMessage
	c.Open(conn)
	return handshake(c, conn)
}

// dial connects to the first server of $PULSE_SERVER (or the default
// socket) that answers. onErr hears of the connection's first I/O error.
func dial(onErr func(error)) (*proto.Client, *watchedConn, error) {
	var errs []error
	for _, a := range serverAddrs() {
		nc, err := net.DialTimeout(a.network, a.addr, dialTimeout)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := new(proto.Client)
		c.SetTimeout(requestTimeout)
		return c, &watchedConn{Conn: nc, onErr: onErr}, nil
	}
	if len(errs) == 0 {
		return nil, nil, fmt.Errorf("%w: $PULSE_SERVER names no usable address", ErrNoServer)
	}
	return nil, nil, fmt.Errorf("%w: %w", ErrNoServer, errors.Join(errs...))
}

// handshake authenticates on an opened client and names the application.
func handshake(c *proto.Client, conn net.Conn) error {
	var auth proto.AuthReply
	if err := c.Request(&proto.Auth{Version: c.Version(), Cookie: cookie()}, &auth); err != nil {
		_ = conn.Close()
		return fmt.Errorf("%w: authenticate: %w", ErrNoServer, err)
	}
	c.SetVersion(auth.Version)
	props := proto.PropList{
		"application.name":       proto.PropListString("anyphone"),
		"application.process.id": proto.PropListString(strconv.Itoa(os.Getpid())),
		"application.icon_name":  proto.PropListString("phone"),
		// pactl list clients shows the binary's name.
		"application.process.binary": proto.PropListString(filepath.Base(os.Args[0])),
	}
	if err := c.Request(&proto.SetClientName{Props: props}, &proto.SetClientNameReply{}); err != nil {
		_ = conn.Close()
		return fmt.Errorf("%w: set client name: %w", ErrNoServer, err)
	}
	return nil
}

// create opens the record and playback streams, corked until their
// indexes are known so that no data arrives for an unknown stream.
func (s *Stream) create(in, out string) error {
	frameBytes := uint32(2 * s.n)
	spec := proto.SampleSpec{Format: proto.FormatInt16LE, Channels: 1, Rate: uint32(s.format.SampleRate)}
	props := func() proto.PropList {
		return proto.PropList{
			"media.name": proto.PropListString("anyphone call"),
			"media.role": proto.PropListString("phone"), // desktops route and duck for it
		}
	}
	rec := proto.CreateRecordStream{
		SampleSpec:         spec,
		ChannelMap:         proto.ChannelMap{proto.ChannelMono},
		SourceIndex:        proto.Undefined,
		SourceName:         in,
		BufferMaxLength:    frameBytes * (inKeep + 1),
		Corked:             true,
		BufferFragSize:     frameBytes,
		AdjustLatency:      true,
		Properties:         props(),
		DirectOnInputIndex: proto.Undefined,
		ChannelVolumes:     proto.ChannelVolumes{0x10000},
	}
	var recReply proto.CreateRecordStreamReply
	if err := s.c.Request(&rec, &recReply); err != nil {
		return deviceErr("source", in, err)
	}
	s.recIdx.Store(recReply.StreamIndex)
	s.inName = recReply.SourceName
	play := proto.CreatePlaybackStream{
		SampleSpec:            spec,
		ChannelMap:            proto.ChannelMap{proto.ChannelMono},
		SinkIndex:             proto.Undefined,
		SinkName:              out,
		BufferMaxLength:       proto.Undefined,
		Corked:                true,
		BufferTargetLength:    uint32(float64(frameBytes) * playTarget),
		BufferPrebufferLength: frameBytes,
		BufferMinimumRequest:  frameBytes / 2,
		SyncID:                proto.Undefined,
		ChannelVolumes:        proto.ChannelVolumes{0x10000},
		AdjustLatency:         true,
		Properties:            props(),
	}
	var playReply proto.CreatePlaybackStreamReply
	if err := s.c.Request(&play, &playReply); err != nil {
		return deviceErr("sink", out, err)
	}
	s.credit.Store(int64(playReply.Missing))
	s.playIdx.Store(playReply.StreamIndex)
	s.outName = playReply.SinkName
	bytesPerSec := time.Duration(2 * s.format.SampleRate)
	s.echoDelay = time.Duration(playReply.BufferTargetLength+recReply.BufferFragSize) * time.Second / bytesPerSec
	s.log.Debug("pulse streams open",
		"source", s.inName, "frag_bytes", recReply.BufferFragSize, "source_latency_us", recReply.SourceLatency,
		"sink", s.outName, "tlength_bytes", playReply.BufferTargetLength, "prebuf_bytes", playReply.BufferPrebufferLength,
		"sink_latency_us", playReply.SinkLatency)
	if err := s.c.Request(&proto.CorkRecordStream{StreamIndex: recReply.StreamIndex, Corked: false}, nil); err != nil {
		return fmt.Errorf("%w: start the source: %w", ErrServerGone, err)
	}
	if err := s.c.Request(&proto.CorkPlaybackStream{StreamIndex: playReply.StreamIndex, Corked: false}, nil); err != nil {
		return fmt.Errorf("%w: start the sink: %w", ErrServerGone, err)
	}
	return nil
}

// deviceErr explains a refused stream: a missing device by name.
func deviceErr(kind, name string, err error) error {
	if errors.Is(err, proto.ErrNoSuchEntity) {
		if name == "" {
			return fmt.Errorf("%w: the server has no default %s", ErrNoDevice, kind)
		}
		return fmt.Errorf("%w: no %s named %q (anyphone devices lists them)", ErrNoDevice, kind, name)
	}
	return fmt.Errorf("%w: open the %s: %w", ErrServerGone, kind, err)
}

// onMessage is the client's callback, on its read goroutine: it must not
// block.
func (s *Stream) onMessage(m any) {
	switch m := m.(type) {
	case *proto.DataPacket:
		if m.StreamIndex == s.recIdx.Load() {
			s.heard.Store(true)
			s.captured(m.Data)
		}
	case *proto.Request:
		if m.StreamIndex == s.playIdx.Load() {
			s.credit.Add(int64(m.Length))
		}
	case *proto.Underflow:
		if m.StreamIndex == s.playIdx.Load() {
			s.underflows.Add(1)
		}
	case *proto.Overflow:
		if m.StreamIndex == s.playIdx.Load() {
			s.overflows.Add(1)
		}
	case *proto.PlaybackStreamKilled:
		s.fail(fmt.Errorf("%w: the server ended the speaker stream", ErrServerGone))
	case *proto.RecordStreamKilled:
		s.fail(fmt.Errorf("%w: the server ended the microphone stream", ErrServerGone))
	case *proto.ConnectionClosed:
		s.fail(fmt.Errorf("%w: connection closed", ErrServerGone))
	}
}

// captured appends data (little-endian samples, valid only during the
// call) to what ReadFrame takes, dropping the oldest beyond inKeep frames.
func (s *Stream) captured(data []byte) {
	now := time.Now()
	s.mu.Lock()
	for i := 0; i+1 < len(data); i += 2 {
		s.in = append(s.in, int16(binary.LittleEndian.Uint16(data[i:])))
	}
	s.catchUp(now, len(data)/2)
	if over := len(s.in) - inKeep*s.n; over > 0 {
		over = (over + s.n - 1) / s.n * s.n // whole frames
		over = min(over, len(s.in))
		s.in = s.in[:copy(s.in, s.in[over:])]
		s.overflows.Add(uint64(over / s.n))
	}
	ready := len(s.in) >= s.n
	s.mu.Unlock()
	if ready {
		select {
		case s.inReady <- struct{}{}:
		default:
		}
	}
}

// catchUp drops a backlog: audio that came faster than real time (the
// server handing over a block it rendered before the stream's latency
// took hold, or what it held while we were slow) would otherwise stay
// queued as delay for the whole call. It keeps the microphone within
// catchUpAhead frames of the wall clock since the stream's time anchor,
// which is set again after a gap. Called with s.mu held, after n samples
// were appended to s.in.
func (s *Stream) catchUp(now time.Time, n int) {
	sr := time.Duration(s.format.SampleRate)
	dur := func(samples int) time.Duration { return time.Duration(samples) * time.Second / sr }
	if s.t0.IsZero() || dur(s.recv)-now.Sub(s.t0) < -2*s.format.Frame {
		s.t0, s.recv = now.Add(-dur(n)), 0 // (re)anchor: this packet is on time
	}
	s.recv += n
	ahead := dur(s.recv) - now.Sub(s.t0)
	if ahead <= catchUpAhead*s.format.Frame {
		return
	}
	drop := int((ahead - s.format.Frame) * sr / time.Second)
	drop = min(drop/s.n*s.n, len(s.in)/s.n*s.n) // whole frames, oldest first
	if drop <= 0 {
		return
	}
	s.in = s.in[:copy(s.in, s.in[drop:])]
	s.recv -= drop
	s.overflows.Add(uint64(drop / s.n))
}

// catchUpAhead is how many frames ahead of the wall clock the microphone
// may run before its backlog is dropped.
const catchUpAhead = 2

// fail records the first error and ends the stream's waits.
func (s *Stream) fail(err error) {
	if s.failed.CompareAndSwap(nil, &err) {
		s.doneOnce.Do(func() { close(s.done) })
		if s.conn != nil {
			_ = s.conn.Close()
		}
	}
}

// err returns why the stream failed, or nil.
func (s *Stream) err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// ReadFrame fills dst with captured audio, blocking until enough is there.
func (s *Stream) ReadFrame(dst []int16) error {
	wait := readTimeout
	if !s.heard.Load() {
		wait = firstReadTimeout
	}
	s.timer.Reset(wait)
	defer s.timer.Stop()
	for {
		s.mu.Lock()
		if len(s.in) >= len(dst) {
			copy(dst, s.in)
			s.in = s.in[:copy(s.in, s.in[len(dst):])]
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		if err := s.err(); err != nil {
			return err
		}
		select {
		case <-s.inReady:
		case <-s.done:
		case <-s.timer.C:
			err := fmt.Errorf("%w: no microphone audio for %v", ErrServerGone, wait)
			s.fail(err)
			return err
		}
	}
}

// WriteFrame hands src to the server's speaker stream. It blocks only as
// long as the socket takes it (at most writeTimeout).
func (s *Stream) WriteFrame(src []int16) error {
	if err := s.err(); err != nil {
		return err
	}
	if cap(s.wbuf) < 2*len(src) {
		s.wbuf = make([]byte, 2*len(src))
	}
	b := s.wbuf[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	if s.credit.Load() < -int64(playAhead*len(b)) {
		s.overflows.Add(1) // over playAhead frames beyond what the server asked for: drop
		return nil
	}
	s.credit.Add(-int64(len(b)))
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.c.Send(s.playIdx.Load(), b); err != nil {
		s.fail(fmt.Errorf("%w: %w", ErrServerGone, err))
	}
	return s.err()
}

// DeviceName is the spec of the devices in use, as --audio takes it:
// "pulse:NAME" or "pulse:in=SOURCE;out=SINK".
func (s *Stream) DeviceName() string {
	if s.inName == s.outName {
		return Name + ":" + s.inName
	}
	return Name + ":in=" + s.inName + ";out=" + s.outName
}

// EchoDelay is how long the speaker's sound takes to come back in the
// microphone's frames when one is the other's monitor (or a laptop's
// speaker and mic): the speaker buffer plus a microphone fragment.
func (s *Stream) EchoDelay() time.Duration { return s.echoDelay }

// Format returns the call-side format of the stream.
func (s *Stream) Format() audio.Format { return s.format }

// InputOverflowed counts captured frames dropped because ReadFrame was
// late, and speaker writes the server dropped as too far ahead.
func (s *Stream) InputOverflowed() uint64 { return s.overflows.Load() }

// OutputUnderflowed counts the times the speaker ran dry.
func (s *Stream) OutputUnderflowed() uint64 { return s.underflows.Load() }

// Close ends the streams and the connection (the server frees the
// streams with it). Pending and later reads and writes return
// audio.ErrClosed. It never blocks on the server.
func (s *Stream) Close() error {
	s.fail(audio.ErrClosed)
	return nil
}

// watchedConn reports its first read or write error: the library's client
// ignores write errors and reports only a clean EOF.
type watchedConn struct {
	net.Conn
	onErr func(error)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.onErr != nil {
		c.onErr(fmt.Errorf("%w: %w", ErrServerGone, err))
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.onErr != nil {
		c.onErr(fmt.Errorf("%w: %w", ErrServerGone, err))
	}
	return n, err
}

type serverAddr struct{ network, addr string }

// serverAddrs parses $PULSE_SERVER (a space-separated list of
// [{HOST}]unix:PATH, /PATH, tcp[4|6]:HOST[:PORT]); without it the default
// socket $XDG_RUNTIME_DIR/pulse/native (or $PULSE_RUNTIME_PATH/native).
func serverAddrs() []serverAddr {
	env := strings.TrimSpace(os.Getenv("PULSE_SERVER"))
	if env == "" {
		dir := os.Getenv("PULSE_RUNTIME_PATH")
		if dir == "" {
			dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "pulse")
		}
		return []serverAddr{{"unix", filepath.Join(dir, "native")}}
	}
	host, _ := os.Hostname()
	var out []serverAddr
	for _, f := range strings.Fields(env) {
		if strings.HasPrefix(f, "{") {
			end := strings.IndexByte(f, '}')
			if end < 0 || f[1:end] != host {
				continue
			}
			f = f[end+1:]
		}
		switch {
		case strings.HasPrefix(f, "/"):
			out = append(out, serverAddr{"unix", f})
		case strings.HasPrefix(f, "unix:"):
			out = append(out, serverAddr{"unix", f[len("unix:"):]})
		case strings.HasPrefix(f, "tcp:"), strings.HasPrefix(f, "tcp4:"), strings.HasPrefix(f, "tcp6:"):
			network, addr, _ := strings.Cut(f, ":")
			if _, _, err := net.SplitHostPort(addr); err != nil {
				addr = net.JoinHostPort(strings.Trim(addr, "[]"), "4713")
			}
			out = append(out, serverAddr{network, addr})
		}
	}
	return out
}

// cookie is the authentication cookie: $PULSE_COOKIE, else the user's
// (~/.config/pulse/cookie); a server with auth-anonymous takes any.
func cookie() []byte {
	paths := []string{os.Getenv("PULSE_COOKIE")}
	if d, err := os.UserConfigDir(); err == nil {
		paths = append(paths, filepath.Join(d, "pulse", "cookie"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(h, ".pulse-cookie"))
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil && len(b) == 256 {
			return b
		}
	}
	return make([]byte, 256)
}

// Devices lists the server's sources (inputs, monitors included) and
// sinks (outputs), marking its defaults.
func Devices() ([]audio.Device, error) {
	c, conn, err := dial(nil)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c.Callback = func(any) {}
	c.Open(conn)
	if err := handshake(c, conn); err != nil {
		return nil, err
	}
	var info proto.GetServerInfoReply
	if err := c.Request(&proto.GetServerInfo{}, &info); err != nil {
		return nil, fmt.Errorf("%w: server info: %w", ErrServerGone, err)
	}
	var sinks proto.GetSinkInfoListReply
	if err := c.Request(&proto.GetSinkInfoList{}, &sinks); err != nil {
		return nil, fmt.Errorf("%w: list sinks: %w", ErrServerGone, err)
	}
	var sources proto.GetSourceInfoListReply
	if err := c.Request(&proto.GetSourceInfoList{}, &sources); err != nil {
		return nil, fmt.Errorf("%w: list sources: %w", ErrServerGone, err)
	}
	var out []audio.Device
	for _, src := range sources {
		out = append(out, audio.Device{
			Backend: Name, Index: int(src.SourceIndex), Name: src.SourceName, HostAPI: "PulseAudio",
			MaxInputChannels: int(src.Channels), DefaultSampleRate: float64(src.Rate),
			DefaultInput: src.SourceName == info.DefaultSourceName,
		})
	}
	for _, sink := range sinks {
		out = append(out, audio.Device{
			Backend: Name, Index: int(sink.SinkIndex), Name: sink.SinkName, HostAPI: "PulseAudio",
			MaxOutputChannels: int(sink.Channels), DefaultSampleRate: float64(sink.Rate),
			DefaultOutput: sink.SinkName == info.DefaultSinkName,
		})
	}
	return out, nil
}

var (
	_ audio.EchoPath = (*Stream)(nil)
	_ audio.Source   = (*Stream)(nil)
	_ audio.Sink     = (*Stream)(nil)
)
