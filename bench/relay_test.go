//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// BenchmarkRelay measures the AnyDevice controller's RTP relay (issue 6):
// how many concurrent bridged calls it carries with clean audio, its CPU
// per bridged call, and the latency it adds, next to a minimal Go UDP
// relay (one socket per leg, ReadFromUDP/WriteToUDP) in the same run.
//
// Each call: a caller (bench's raw UAC for SIP, a paced socket for RTP)
// calls the user's number at the in-process controller, which rings the
// user's device (a minimal UAS in this file whose media is an RTPSink that
// echoes every packet) and bridges the two. Every 20 ms PCMU frame the
// caller sends carries its sequence number in the payload (µ-law codes
// that survive the controller's decode and re-encode), so the caller can
// tell relayed content from the silence a relay sends when it has none,
// and time each frame's round trip: caller → relay → echo → relay →
// caller. The same generator and echo run five ways: direct (no relay:
// the baseline), through the raw relay, through the controller (packet
// relay: both legs PCMU), through the controller kept on its PCM relay
// (Config.PCMRelay: decode, 20 ms frames, re-encode), and through
// rtpengine (userspace, one worker thread, pinned with taskset; an ng
// offer and answer per call). CPU is the test process's (/proc), plus
// rtpengine's in its run, minus the direct run's, per call; latency added
// is (round trip via the relay − direct round trip) / 2, one traversal.
// "Clean" means no gap over 40 ms between content frames at the caller in
// any call (or, on a loaded machine, no more of them than the direct and
// raw-relay runs show: the generator's own pacing), and under 1 % of the
// frames lost.
//
// BENCH_RELAY_CALLS (default 50,100,200,400) are the steps; the sweep stops
// at the first step the controller does not carry cleanly.
// BENCH_RELAY_SECONDS (default 8) is each measuring window.
func BenchmarkRelay(b *testing.B) {
	steps := []int{50, 100, 200, 400}
	if v := os.Getenv("BENCH_RELAY_CALLS"); v != "" {
		steps = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				steps = append(steps, n)
			}
		}
	}
	window := time.Duration(envInt("BENCH_RELAY_SECONDS", 8)) * time.Second
	best := 0
	for _, n := range steps {
		direct := runRelay(b, "direct", n, window)
		raw := runRelay(b, "udp-relay", n, window)
		ctl := runRelay(b, "controller", n, window)
		pcm := runRelay(b, "controller-pcm", n, window)
		rtpe := runRelay(b, "rtpengine", n, window)
		for _, r := range []relayRun{direct, raw, ctl, pcm, rtpe} {
			b.Logf("%d calls %-14s: %s", n, r.kind, r)
		}
		perCall := func(r relayRun) float64 {
			return max(0, (r.cpuShare()-direct.cpuShare())/float64(n)*100)
		}
		added := func(r relayRun) time.Duration { return max(0, (r.p50-direct.p50)/2) }
		added99 := func(r relayRun) time.Duration { return max(0, (r.p99-direct.p99)/2) }
		rtpeText := "rtpengine ERROR"
		if rtpe.err == nil {
			rtpeText = fmt.Sprintf("rtpengine: CPU per call %.3f, added latency p50 %v p99 %v", perCall(rtpe), added(rtpe), added99(rtpe))
		}
		b.Logf("%d calls: CPU per call (%% of a core) controller %.3f, controller PCM %.3f, udp relay %.3f; added latency p50 controller %v, PCM %v, udp relay %v; p99 %v / %v / %v; %s",
			n, perCall(ctl), perCall(pcm), perCall(raw), added(ctl), added(pcm), added(raw), added99(ctl), added99(pcm), added99(raw), rtpeText)
		row := func(name string) string { return fmt.Sprintf("relay %d calls: %s", n, name) }
		results.Set(row("CPU per bridged call, % core"), sutAnyphone, perCall(ctl))
		results.Set(row("added latency p50, ms"), sutAnyphone, float64(added(ctl).Microseconds())/1000)
		results.Set(row("added latency p99, ms"), sutAnyphone, float64(added99(ctl).Microseconds())/1000)
		results.Set(row("max content gap, ms"), sutAnyphone, float64(ctl.maxGap.Microseconds())/1000)
		results.Note("relay %d calls, controller on the PCM relay (Config.PCMRelay, the path before packet relay) in the same run: CPU per call %.3f %% core, added latency p50 %v p99 %v, max gap %v",
			n, perCall(pcm), added(pcm), added99(pcm), pcm.maxGap)
		b.ReportMetric(perCall(pcm), fmt.Sprintf("pcm-cpu%%/call@%d", n))
		b.ReportMetric(float64(added(pcm).Microseconds()), fmt.Sprintf("pcm-added-p50-us@%d", n))
		b.ReportMetric(float64(added99(pcm).Microseconds()), fmt.Sprintf("pcm-added-p99-us@%d", n))
		results.Note("relay %d calls, raw Go UDP relay in the same run: CPU per call %.3f %% core, added latency p50 %v p99 %v, max gap %v, loss %.2f %%",
			n, perCall(raw), added(raw), added99(raw), raw.maxGap, raw.lossPct())
		b.ReportMetric(perCall(ctl), fmt.Sprintf("ctl-cpu%%/call@%d", n))
		b.ReportMetric(float64(added(ctl).Microseconds()), fmt.Sprintf("ctl-added-p50-us@%d", n))
		b.ReportMetric(float64(added99(ctl).Microseconds()), fmt.Sprintf("ctl-added-p99-us@%d", n))
		b.ReportMetric(perCall(raw), fmt.Sprintf("udp-cpu%%/call@%d", n))
		b.ReportMetric(float64(added(raw).Microseconds()), fmt.Sprintf("udp-added-p50-us@%d", n))
		if rtpe.err != nil {
			results.Note("relay %d calls, rtpengine: ERROR %v", n, rtpe.err)
			if !errors.Is(rtpe.err, ErrNoRtpengine) || rtpengineMissingFails() {
				b.Errorf("%d calls: rtpengine: %v", n, rtpe.err)
			}
		} else {
			results.Note("relay %d calls, rtpengine userspace (one thread, %s) in the same run: CPU per call %.3f %% core, added latency p50 %v p99 %v, max gap %v, loss %.2f %%, %d calls failed",
				n, rtpe.pinned, perCall(rtpe), added(rtpe), added99(rtpe), rtpe.maxGap, rtpe.lossPct(), rtpe.failed)
			b.ReportMetric(perCall(rtpe), fmt.Sprintf("rtpe-cpu%%/call@%d", n))
			b.ReportMetric(float64(added(rtpe).Microseconds()), fmt.Sprintf("rtpe-added-p50-us@%d", n))
			b.ReportMetric(float64(added99(rtpe).Microseconds()), fmt.Sprintf("rtpe-added-p99-us@%d", n))
		}
		results.Set(row("gaps over 40 ms (controller / direct)"), sutAnyphone, float64(ctl.gaps40))
		results.Note("relay %d calls, gaps over 40 ms: controller %d, raw relay %d, rtpengine %s, direct (no relay) %d; max gap direct %v", n, ctl.gaps40, raw.gaps40, rtpe.gapsText(), direct.gaps40, direct.maxGap)
		if !ctl.clean(direct, raw) {
			b.Logf("%d calls: controller not clean (max gap %v, %d gaps over 40 ms, loss %.2f %%, %d calls failed): stop", n, ctl.maxGap, ctl.gaps40, ctl.lossPct(), ctl.failed)
			break
		}
		best = n
	}
	results.Set("relay: clean bridged calls (max step)", sutAnyphone, float64(best))
	b.ReportMetric(float64(best), "clean-bridged-calls")
}

// relayRun is one measured run.
type relayRun struct {
	kind           string
	calls, failed  int
	window         time.Duration
	cpu            time.Duration
	sent, got      int64
	maxGap         time.Duration
	gaps40         int // gaps over 40 ms between content frames, all calls
	p50, p99, pmax time.Duration
	extPID         int    // another process whose CPU counts in the run (rtpengine)
	pinned         string // where that process runs: "pinned to CPU 1", "not pinned"
	err            error  // the run could not be set up (rtpengine missing or failing)
}

func (r relayRun) gapsText() string {
	if r.err != nil {
		return "ERROR"
	}
	return strconv.Itoa(r.gaps40)
}

func (r relayRun) cpuShare() float64 { return r.cpu.Seconds() / r.window.Seconds() }
func (r relayRun) lossPct() float64 {
	if r.sent == 0 {
		return 100
	}
	return 100 * float64(r.sent-r.got) / float64(r.sent)
}

// clean: every call up, under 1 % lost, and no gap over 40 ms, or on a
// loaded machine no more such gaps than the runs without our relay had
// (the generator's own pacing shows there too).
func (r relayRun) clean(baseline ...relayRun) bool {
	if r.failed > 0 || r.lossPct() >= 1 {
		return false
	}
	if r.maxGap <= 40*time.Millisecond {
		return true
	}
	allowed := 0
	for _, b := range baseline {
		allowed = max(allowed, b.gaps40)
	}
	return r.gaps40 <= allowed
}
func (r relayRun) String() string {
	if r.err != nil {
		return "ERROR: " + r.err.Error()
	}
	return fmt.Sprintf("%d/%d calls up, CPU %.1f %% of a core, sent %d got %d (loss %.2f %%), max content gap %v (%d over 40 ms), round trip p50 %v p99 %v max %v",
		r.calls-r.failed, r.calls, 100*r.cpuShare(), r.sent, r.got, r.lossPct(), r.maxGap, r.gaps40, r.p50, r.p99, r.pmax)
}

// runRelay sets up n calls of kind, measures for window and tears down.
func runRelay(b *testing.B, kind string, n int, window time.Duration) relayRun {
	b.Helper()
	run := relayRun{kind: kind, calls: n, window: window}
	sinks := make([]*RTPSink, n)
	for i := range sinks {
		s, err := NewRTPSink(true)
		if err != nil {
			b.Fatal(err)
		}
		sinks[i] = s
		defer s.Close()
	}
	gens := make([]*relayGen, n)
	for i := range gens {
		g, err := newRelayGen(int(window/(20*time.Millisecond)) + 200)
		if err != nil {
			b.Fatal(err)
		}
		gens[i] = g
		defer g.Close()
	}
	var teardown func()
	switch kind {
	case "direct":
		for i, g := range gens {
			g.target = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sinks[i].Port()}
		}
	case "udp-relay":
		for i, g := range gens {
			r, err := newUDPRelay(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sinks[i].Port()})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			g.target = r.callerSide()
		}
	case "controller":
		teardown = setupControllerCalls(b, gens, sinks, &run, false)
	case "controller-pcm":
		teardown = setupControllerCalls(b, gens, sinks, &run, true)
	case "rtpengine":
		var err error
		if run.extPID, run.pinned, teardown, err = setupRtpengineCalls(b, gens, sinks); err != nil {
			run.err = err
			return run
		}
	}
	time.Sleep(500 * time.Millisecond) // settle: calls set up before the generators start
	for _, g := range gens {
		if g.target != nil {
			g.start()
		}
	}
	time.Sleep(1 * time.Second) // settle: queues fill, early frames pass
	for _, g := range gens {
		g.record(true)
	}
	before, _ := ReadProc(os.Getpid())
	var extBefore, extAfter ProcSample
	if run.extPID != 0 {
		extBefore, _ = ReadProc(run.extPID)
	}
	time.Sleep(window) // the measurement window
	after, _ := ReadProc(os.Getpid())
	if run.extPID != 0 {
		var err error
		if extAfter, err = ReadProc(run.extPID); err != nil {
			run.err = fmt.Errorf("%s exited during the run: %w", kind, err)
			extAfter = extBefore
		}
	}
	for _, g := range gens {
		g.sendWindow(false) // frames still in flight are not lost:
	}
	time.Sleep(300 * time.Millisecond) // let them arrive
	for _, g := range gens {
		g.record(false)
	}
	run.cpu = after.CPU - before.CPU + extAfter.CPU - extBefore.CPU
	var rtts []time.Duration
	for _, g := range gens {
		if g.target == nil {
			continue
		}
		sent, got, gap, g40, rt := g.results()
		run.sent += sent
		run.got += got
		run.maxGap = max(run.maxGap, gap)
		run.gaps40 += g40
		rtts = append(rtts, rt...)
	}
	for _, g := range gens {
		g.stop()
	}
	if len(rtts) > 0 {
		run.p50, run.p99 = Percentile(rtts, 50), Percentile(rtts, 99)
		run.pmax = slices.Max(rtts)
	}
	if teardown != nil {
		teardown()
	}
	return run
}

// relayGen is one caller's media: it sends a 20 ms PCMU frame carrying its
// sequence number, and reads what comes back.
type relayGen struct {
	conn   *net.UDPConn
	target *net.UDPAddr

	sentAt []atomic.Int64 // unix ns by sequence number

	mu        sync.Mutex
	recording bool
	sending   bool   // sent frames count (the window); off a little before recording
	first     uint16 // first sequence number of the window
	gaps40    int    // gaps over 40 ms between content frames
	sent, got int64
	lastAt    time.Time
	maxGap    time.Duration
	rtts      []time.Duration
	seen      []bool

	stopCh chan struct{}
	wg     sync.WaitGroup
	seq    atomic.Uint32
}

func newRelayGen(frames int) (*relayGen, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := enableRxStamps(conn); err != nil {
		conn.Close()
		return nil, err
	}
	g := &relayGen{conn: conn, sentAt: make([]atomic.Int64, 65536), stopCh: make(chan struct{}),
		rtts: make([]time.Duration, 0, frames), seen: make([]bool, 65536)}
	g.wg.Add(1)
	go g.read() // owned by g; ends when Close closes the socket
	return g, nil
}

func (g *relayGen) port() int { return g.conn.LocalAddr().(*net.UDPAddr).Port }

// frame encodes seq in the first 4 payload bytes as µ-law codes 0x80|nibble
// (loud, and unchanged by a decode and re-encode); the rest is 0x80.
func frame(buf []byte, seq uint16, ts uint32) {
	buf[0], buf[1] = 0x80, 0 // V=2, PT 0
	binary.BigEndian.PutUint16(buf[2:], seq)
	binary.BigEndian.PutUint32(buf[4:], ts)
	binary.BigEndian.PutUint32(buf[8:], 0x0bec0bec)
	p := buf[12:]
	for i := range p {
		p[i] = 0x80
	}
	for i := range 4 {
		p[i] = 0x80 | byte(seq>>(12-4*i))&0x0f
	}
}

// contentSeq decodes the sequence number of a content frame.
func contentSeq(p []byte) (uint16, bool) {
	if len(p) < 172 {
		return 0, false
	}
	pl := p[12:]
	var seq uint16
	for i := range 4 {
		if pl[i]&0xf0 != 0x80 {
			return 0, false
		}
		seq = seq<<4 | uint16(pl[i]&0x0f)
	}
	if pl[4] != 0x80 || pl[100] != 0x80 {
		return 0, false
	}
	return seq, true
}

func (g *relayGen) start() {
	g.wg.Add(1)
	go func() { // the pacer, owned by g; ends at stop
		defer g.wg.Done()
		buf := make([]byte, 172)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-g.stopCh:
				return
			case <-t.C:
			}
			seq := uint16(g.seq.Add(1))
			frame(buf, seq, uint32(seq)*160)
			now := time.Now()
			g.sentAt[seq].Store(now.UnixNano())
			g.mu.Lock()
			if g.recording && g.sending {
				g.sent++
				if g.sent == 1 {
					g.first = seq
				}
			}
			g.mu.Unlock()
			_, _ = g.conn.WriteToUDP(buf, g.target)
		}
	}()
}

func (g *relayGen) read() {
	defer g.wg.Done()
	buf := make([]byte, 2048)
	oob := make([]byte, oobSize)
	for {
		n, _, at, err := readStamped(g.conn, buf, oob)
		if err != nil {
			return
		}
		seq, ok := contentSeq(buf[:n])
		if !ok {
			continue
		}
		sent := g.sentAt[seq].Load()
		g.mu.Lock()
		if g.recording && sent != 0 && !g.seen[seq] && g.sent > 0 && seq-g.first < 0x8000 {
			g.seen[seq] = true
			g.got++
			g.rtts = append(g.rtts, at.Sub(time.Unix(0, sent)))
			if !g.lastAt.IsZero() {
				gap := at.Sub(g.lastAt)
				g.maxGap = max(g.maxGap, gap)
				if gap > 40*time.Millisecond {
					g.gaps40++
				}
			}
			g.lastAt = at
		}
		g.mu.Unlock()
	}
}

func (g *relayGen) record(on bool) {
	g.mu.Lock()
	g.recording = on
	if on {
		g.sending = true
	}
	g.mu.Unlock()
}

func (g *relayGen) sendWindow(on bool) {
	g.mu.Lock()
	g.sending = on
	g.mu.Unlock()
}

func (g *relayGen) results() (sent, got int64, gap time.Duration, gaps40 int, rtts []time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent, min(g.got, g.sent), g.maxGap, g.gaps40, slices.Clone(g.rtts)
}

func (g *relayGen) stop() {
	select {
	case <-g.stopCh:
	default:
		close(g.stopCh)
	}
}

func (g *relayGen) Close() error {
	g.stop()
	err := g.conn.Close()
	g.wg.Wait()
	return err
}

// udpRelay is the raw baseline: one socket per leg, one goroutine per
// socket, ReadFromUDP and WriteToUDP, no parsing.
type udpRelay struct {
	a, b   *net.UDPConn // a faces the caller, b the echo
	echo   *net.UDPAddr
	caller atomic.Pointer[net.UDPAddr]
	wg     sync.WaitGroup
}

func newUDPRelay(echo *net.UDPAddr) (*udpRelay, error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	a, err := net.ListenUDP("udp", lo)
	if err != nil {
		return nil, err
	}
	b, err := net.ListenUDP("udp", lo)
	if err != nil {
		a.Close()
		return nil, err
	}
	r := &udpRelay{a: a, b: b, echo: echo}
	r.wg.Add(2)
	go func() { // caller → echo; owned by r, ends at Close
		defer r.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := a.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if r.caller.Load() == nil {
				r.caller.Store(from)
			}
			_, _ = b.WriteToUDP(buf[:n], r.echo)
		}
	}()
	go func() { // echo → caller; owned by r, ends at Close
		defer r.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, _, err := b.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if c := r.caller.Load(); c != nil {
				_, _ = a.WriteToUDP(buf[:n], c)
			}
		}
	}()
	return r, nil
}

func (r *udpRelay) callerSide() *net.UDPAddr { return r.a.LocalAddr().(*net.UDPAddr) }

func (r *udpRelay) Close() error {
	r.a.Close()
	r.b.Close()
	r.wg.Wait()
	return nil
}

// setupControllerCalls starts an in-process controller whose user's device
// is a minimal UAS answering with one RTPSink per call, and has each
// generator's caller call the user's number. It returns the teardown.
// pcm keeps the controller on its PCM relay (anydevice.Config.PCMRelay).
func setupControllerCalls(b *testing.B, gens []*relayGen, sinks []*RTPSink, run *relayRun, pcm bool) func() {
	b.Helper()
	uas, err := newEchoUAS(sinks)
	if err != nil {
		b.Fatal(err)
	}
	ctl, err := anydevice.New(anydevice.Config{
		Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", NoTrace: true,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))},
		Users: []anydevice.User{{
			ID: "bench", Token: "t", Numbers: []string{"+4989100"},
			Devices:        []anydevice.Device{{Name: "desk", Target: "sip:desk@" + uas.addr()}},
			VoicemailAfter: time.Hour,
		}},
		PCMRelay: pcm,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ctl.Start(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	uac, err := NewUAC(ctl.Phone().Addr())
	if err != nil {
		b.Fatal(err)
	}
	legs := make([]*Leg, len(gens))
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 20)
	for i, g := range gens {
		wg.Add(1)
		sem <- struct{}{}
		go func() { // one call's setup; joined below
			defer wg.Done()
			defer func() { <-sem }()
			ictx, done := context.WithTimeout(ctx, 20*time.Second)
			defer done()
			l, err := uac.Invite(ictx, "+4989100", g.port())
			if err != nil {
				mu.Lock()
				run.failed++
				mu.Unlock()
				return
			}
			legs[i] = l
			g.target = sdpAddr(l.Answer)
		}()
		time.Sleep(10 * time.Millisecond) // ≈100 calls/s
	}
	wg.Wait()
	return func() {
		var wg sync.WaitGroup
		for _, l := range legs {
			if l == nil {
				continue
			}
			wg.Add(1)
			go func() { // one call's BYE; joined below
				defer wg.Done()
				bctx, done := context.WithTimeout(ctx, 5*time.Second)
				defer done()
				_ = l.Bye(bctx)
			}()
		}
		wg.Wait()
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = ctl.Shutdown(sctx)
		cancel()
		uac.Close()
		uas.Close()
	}
}

var sdpMedia = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// sdpAddr is the RTP address of an SDP body on 127.0.0.1.
func sdpAddr(sdp []byte) *net.UDPAddr {
	m := sdpMedia.FindSubmatch(sdp)
	if m == nil {
		return nil
	}
	p, _ := strconv.Atoi(string(m[1]))
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}
}

// echoUAS answers each new INVITE with 200 and an SDP pointing at the next
// free RTPSink (which echoes), and 200 to BYE; ACK gets nothing.
type echoUAS struct {
	conn  *net.UDPConn
	sinks []*RTPSink

	mu   sync.Mutex
	next int
	byID map[string]int

	done chan struct{}
}

func newEchoUAS(sinks []*RTPSink) (*echoUAS, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	u := &echoUAS{conn: conn, sinks: sinks, byID: map[string]int{}, done: make(chan struct{})}
	go u.read() // owned by u; ends at Close
	return u, nil
}

func (u *echoUAS) addr() string { return u.conn.LocalAddr().String() }

func (u *echoUAS) Close() error {
	err := u.conn.Close()
	<-u.done
	return err
}

func (u *echoUAS) read() {
	defer close(u.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, ok := parseSIP(buf[:n])
		if !ok || m.method == "" || m.method == "ACK" {
			continue
		}
		var body []byte
		toTag := ""
		if m.method == "INVITE" {
			u.mu.Lock()
			i, seen := u.byID[m.callID]
			if !seen {
				i = u.next % len(u.sinks)
				u.next++
				u.byID[m.callID] = i
			}
			u.mu.Unlock()
			body = Offer(u.sinks[i].Port())
			toTag = ";tag=uas" + strconv.Itoa(i)
		}
		var w bytes.Buffer
		w.WriteString("SIP/2.0 200 OK\r\n")
		for _, h := range headerLines(m.raw) {
			switch canonicalHeader(h.name) {
			case "Via", "From", "Call-ID", "CSeq":
				fmt.Fprintf(&w, "%s: %s\r\n", h.name, h.value)
			case "To":
				v := h.value
				if toTag != "" && !strings.Contains(v, "tag=") {
					v += toTag
				}
				fmt.Fprintf(&w, "To: %s\r\n", v)
			}
		}
		fmt.Fprintf(&w, "Contact: <sip:desk@%s>\r\n", u.addr())
		if body != nil {
			fmt.Fprintf(&w, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n", len(body))
			w.Write(body)
		} else {
			w.WriteString("Content-Length: 0\r\n\r\n")
		}
		_, _ = u.conn.WriteToUDP(w.Bytes(), from)
	}
}
