//go:build linux

package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/audio/codec"
	"github.com/anyphone/anyphone/phone"
)

// BenchmarkTranscode measures what a transcoded call costs a relay: each
// caller sends real Opus (a 440 Hz tone, 20 ms frames) and the callee, a
// socket that echoes, answered PCMU, so the relay decodes Opus, encodes
// PCMU, and back. Three runs with the same callers and callees: direct
// (the baseline: callers send straight to the echo), the AnyDevice
// controller in this process (codecs opus, PCMU; its PCM path) and
// rtpengine (userspace, one thread; ng offer with codec mask opus,
// transcode PCMU). CPU per call is this process's CPU (plus rtpengine's)
// minus the direct run's, in % of a core. BENCH_TRANSCODE_CALLS (default
// 50) calls, BENCH_RELAY_SECONDS (default 8) window.
func BenchmarkTranscode(b *testing.B) {
	n := envInt("BENCH_TRANSCODE_CALLS", 50)
	window := time.Duration(envInt("BENCH_RELAY_SECONDS", 8)) * time.Second
	frames, err := opusFrames()
	if err != nil {
		b.Fatal(err)
	}
	direct := runTranscode(b, "direct", n, window, frames)
	ctl := runTranscode(b, "controller", n, window, frames)
	rtpe := runTranscode(b, "rtpengine", n, window, frames)
	perCall := func(r transcodeRun) float64 {
		return max(0, (r.cpu-direct.cpu).Seconds()/window.Seconds()/float64(n)*100)
	}
	for _, r := range []transcodeRun{direct, ctl, rtpe} {
		b.Logf("%-10s %d calls: CPU %.2f s in %v, %.1f %% of the Opus frames came back (as Opus), err %v",
			r.kind, n, r.cpu.Seconds(), window, r.backPct, r.err)
	}
	results.Set(fmt.Sprintf("transcode Opus↔PCMU, %d calls: CPU per call (%% core)", n), sutAnyphone, perCall(ctl))
	b.ReportMetric(perCall(ctl), "ctl-cpu%/call")
	if ctl.backPct < 90 {
		results.Note("transcode: only %.1f %% of the frames came back through the controller", ctl.backPct)
	}
	if rtpe.err != nil {
		results.Note("transcode, rtpengine: ERROR %v", rtpe.err)
		if !errors.Is(rtpe.err, ErrNoRtpengine) || rtpengineMissingFails() {
			b.Errorf("rtpengine: %v", rtpe.err)
		}
		return
	}
	results.Note("transcode Opus↔PCMU, %d calls, rtpengine (Debian's, libavcodec/libopus, one thread) in the same run: CPU per call %.3f %% core, %.1f %% of the frames back; controller %.3f %% core, %.1f %% back",
		n, perCall(rtpe), rtpe.backPct, perCall(ctl), ctl.backPct)
	b.ReportMetric(perCall(rtpe), "rtpengine-cpu%/call")
}

// opusFrames is one second of a 440 Hz tone as 50 Opus payloads.
func opusFrames() ([][]byte, error) {
	c, err := codec.New("opus")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	tone := audio.NewTone(audio.Format{SampleRate: 48000, Channels: 1}, 440, 0.3)
	pcm := make([]int16, 960)
	out := make([][]byte, 50)
	for i := range out {
		_ = tone.ReadFrame(pcm)
		buf := make([]byte, 1500)
		k, err := c.Encode(buf, pcm)
		if err != nil {
			return nil, err
		}
		out[i] = buf[:k]
	}
	return out, nil
}

type transcodeRun struct {
	kind    string
	cpu     time.Duration
	backPct float64 // Opus frames received back, % of those sent in the window
	err     error
}

// opusCaller is one call's caller: a socket that sends Opus RTP and counts
// the Opus packets that come back.
type opusCaller struct {
	conn   *net.UDPConn
	target *net.UDPAddr
	seq    uint16
	ts     uint32
	ssrc   uint32
	back   atomic.Int64
	done   chan struct{}
}

func newOpusCaller(i int) (*opusCaller, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c := &opusCaller{conn: conn, ssrc: 0x0b0b0000 + uint32(i), done: make(chan struct{})}
	go func() { // the reader: owned by c, ends when Close closes conn
		defer close(c.done)
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[1]&0x7f == 96 {
				c.back.Add(1)
			}
		}
	}()
	return c, nil
}

func (c *opusCaller) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *opusCaller) send(pkt []byte, payload []byte) {
	if c.target == nil {
		return
	}
	pkt[0], pkt[1] = 0x80, 96
	binary.BigEndian.PutUint16(pkt[2:], c.seq)
	binary.BigEndian.PutUint32(pkt[4:], c.ts)
	binary.BigEndian.PutUint32(pkt[8:], c.ssrc)
	n := copy(pkt[12:], payload)
	_, _ = c.conn.WriteToUDP(pkt[:12+n], c.target)
	c.seq++
	c.ts += 960
}

func (c *opusCaller) Close() { c.conn.Close(); <-c.done }

// opusOffer is an Opus-only offer (with telephone-event) for port.
func opusOffer(port int) []byte { return OfferCodec(port, "opus") }

func runTranscode(b *testing.B, kind string, n int, window time.Duration, frames [][]byte) transcodeRun {
	b.Helper()
	run := transcodeRun{kind: kind}
	sinks := make([]*RTPSink, n)
	callers := make([]*opusCaller, n)
	for i := range n {
		s, err := NewRTPSink(true)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sinks[i] = s
		c, err := newOpusCaller(i)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		callers[i] = c
	}
	var extPID int
	switch kind {
	case "direct":
		for i, c := range callers {
			c.target = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sinks[i].Port()}
		}
	case "controller":
		teardown, err := setupTranscodingController(b, callers, sinks)
		if err != nil {
			b.Fatal(err)
		}
		defer teardown()
	case "rtpengine":
		pid, teardown, err := setupTranscodingRtpengine(callers, sinks)
		if err != nil {
			run.err = err
			return run
		}
		defer teardown()
		extPID = pid
	}
	stop := make(chan struct{})
	var sent atomic.Int64
	var counting atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // the sender: all callers every 20 ms; joined below
		pkt := make([]byte, 1500)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, c := range callers {
				c.send(pkt, frames[k%len(frames)])
			}
			if counting.Load() {
				sent.Add(int64(len(callers)))
			}
		}
	})
	time.Sleep(time.Second) // settle: decoders and queues warm up
	back0 := int64(0)
	for _, c := range callers {
		back0 += c.back.Load()
	}
	counting.Store(true)
	p0, _ := ReadProc(os.Getpid())
	var e0, e1 ProcSample
	if extPID != 0 {
		e0, _ = ReadProc(extPID)
	}
	time.Sleep(window) // the measurement window
	p1, _ := ReadProc(os.Getpid())
	if extPID != 0 {
		var err error
		if e1, err = ReadProc(extPID); err != nil {
			run.err = fmt.Errorf("%s exited during the run: %w", kind, err)
			e1 = e0
		}
	}
	counting.Store(false)
	back1 := int64(0)
	for _, c := range callers {
		back1 += c.back.Load()
	}
	close(stop)
	wg.Wait()
	run.cpu = p1.CPU - p0.CPU + e1.CPU - e0.CPU
	if s := sent.Load(); s > 0 {
		run.backPct = 100 * float64(back1-back0) / float64(s)
	}
	return run
}

// setupTranscodingController starts the AnyDevice controller in this
// process offering opus then PCMU, and calls the user's number from each
// caller with an Opus-only offer; the controller rings the echo UAS, which
// answers PCMU.
func setupTranscodingController(b *testing.B, callers []*opusCaller, sinks []*RTPSink) (func(), error) {
	b.Helper()
	uas, err := newEchoUAS(sinks)
	if err != nil {
		return nil, err
	}
	ctl, err := anydevice.New(anydevice.Config{
		Phone: phone.Config{Name: "anydevice", Listen: "127.0.0.1:0", NoTrace: true, Codecs: []string{"opus", "PCMU"},
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))},
		Users: []anydevice.User{{
			ID: "bench", Token: "t", Numbers: []string{"+4989100"},
			Devices:        []anydevice.Device{{Name: "desk", Target: "sip:desk@" + uas.addr()}},
			VoicemailAfter: time.Hour,
		}},
	})
	if err != nil {
		uas.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ctl.Start(ctx); err != nil {
		cancel()
		uas.Close()
		return nil, err
	}
	uac, err := NewUAC(ctl.Phone().Addr())
	if err != nil {
		cancel()
		return nil, err
	}
	legs := make([]*Leg, len(callers))
	for i, c := range callers {
		ictx, done := context.WithTimeout(ctx, 20*time.Second)
		l, err := uac.InviteSDP(ictx, "+4989100", opusOffer(c.port()))
		done()
		if err != nil {
			b.Logf("transcoding call %d: %v", i, err)
			continue
		}
		legs[i] = l
		c.target = sdpAddr(l.Answer)
	}
	return func() {
		var wg sync.WaitGroup
		for _, l := range legs {
			if l != nil {
				wg.Go(func() { // one call's BYE; joined below
					bctx, done := context.WithTimeout(context.Background(), 5*time.Second)
					defer done()
					_ = l.Bye(bctx)
				})
			}
		}
		wg.Wait()
		uac.Close()
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		_ = ctl.Shutdown(sctx)
		done()
		cancel()
		uas.Close()
	}, nil
}

// setupTranscodingRtpengine bridges each caller to its echo through
// rtpengine: the offer carries Opus only, masked towards the callee with
// PCMU added for transcoding; the callee answers PCMU.
func setupTranscodingRtpengine(callers []*opusCaller, sinks []*RTPSink) (int, func(), error) {
	ctx := context.Background()
	re, err := StartRtpengine(ctx, benchDir(), len(callers), rtpengineCPU())
	if err != nil {
		return 0, nil, err
	}
	c, err := DialNG(re.NG)
	if err != nil {
		re.Stop()
		return 0, nil, err
	}
	var ids []string
	teardown := func() {
		for _, id := range ids {
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_ = c.Delete(dctx, id)
			cancel()
		}
		c.Close()
		re.Stop()
	}
	for i, cl := range callers {
		id := fmt.Sprintf("transcode-%d-%d", rtpengineCallSeq.Add(1), i)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r, err := c.Do(cctx, map[string]any{
			"command": "offer", "call-id": id, "from-tag": ngFromTag, "sdp": opusOffer(cl.port()),
			"replace": []string{"origin", "session-connection"}, "ICE": "remove",
			"codec": map[string]any{"mask": []string{"opus"}, "transcode": []string{"PCMU"}},
		})
		if err == nil {
			var off string
			off, _ = r["sdp"].(string)
			if _, err = replyPort(r, "offer"); err == nil && !containsPCMU(off) {
				err = fmt.Errorf("rtpengine's offer to the callee has no PCMU: %s", off)
			}
		}
		if err == nil {
			r, err = c.Do(cctx, map[string]any{
				"command": "answer", "call-id": id, "from-tag": ngFromTag, "to-tag": ngToTag, "sdp": Offer(sinks[i].Port()),
				"replace": []string{"origin", "session-connection"}, "ICE": "remove",
			})
		}
		cancel()
		if err != nil {
			teardown()
			return 0, nil, fmt.Errorf("call %d: %w (see %s)", i, err, re.Log)
		}
		ids = append(ids, id)
		port, err := replyPort(r, "answer")
		if err != nil {
			teardown()
			return 0, nil, err
		}
		cl.target = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	}
	return re.Proc.PID(), teardown, nil
}

func containsPCMU(sdp string) bool {
	for i := 0; i+9 <= len(sdp); i++ {
		if sdp[i:i+9] == "PCMU/8000" {
			return true
		}
	}
	return false
}
