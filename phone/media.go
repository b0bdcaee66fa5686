package phone

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// mediaPump moves one call's audio: a reader goroutine (RTP → PCM → sink,
// DTMF events out, watchdog timestamps) and a writer goroutine (source →
// PCM → RTP, paced by diago's 20 ms ticker, DTMF digits in between frames).
// Both are started by startMedia and joined by stopMedia.
type mediaPump struct {
	c      *call
	m      *diago.DialogMedia
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dtmf    chan rune
	lastRTP atomic.Int64 // unix nanos of the last received audio packet
	// maySend is false while the remote's SDP forbids us to send
	// (a=inactive, a=sendonly, c=0.0.0.0): diago keeps sending otherwise
	// (LIBRARIES §3 row 4).
	maySend atomic.Bool

	src     audio.Source
	sink    audio.Sink
	closers []io.Closer

	// moh is Config.HoldMusic, opened when we first hold with sendonly
	// (writer goroutine only).
	moh      audio.Source
	mohTried bool
	// te decodes telephone-event on a payload type other than 101 (dtmf.go).
	te dtmfDecoder
	// pw and pp are the packet-level relay (Config.Packets, relay.go).
	pw *PacketWriter
	pp PacketPort
}

func (p *Phone) startMedia(c *call, m *diago.DialogMedia) {
	c.mu.Lock()
	if c.media != nil {
		c.mu.Unlock()
		return
	}
	info := cloneInfo(c.info)
	if ms := m.MediaSession(); info.Codec == "" && ms != nil {
		info.Codec = media.CodecAudioFromSession(ms).Name // the Media func picks its rate by it
	}
	mp := &mediaPump{c: c, m: m, dtmf: make(chan rune, 64)}
	mp.ctx, mp.cancel = context.WithCancel(p.ctx)
	mp.maySend.Store(!c.info.RemoteHold)
	mp.lastRTP.Store(time.Now().UnixNano())
	c.media = mp
	c.mu.Unlock()

	if p.cfg.Media != nil {
		src, sink, err := p.cfg.Media(info)
		if err != nil {
			p.log.Warn("call audio", "call_id", c.id, "err", err)
		}
		mp.src, mp.sink = src, sink
		for _, x := range []any{src, sink} {
			if cl, ok := x.(io.Closer); ok {
				mp.closers = append(mp.closers, cl)
			}
		}
	}
	p.startPackets(mp, info)
	mp.wg.Add(2)
	go func() { defer mp.wg.Done(); defer p.recoverMedia(c); mp.readLoop() }()
	go func() { defer mp.wg.Done(); defer p.recoverMedia(c); mp.writeLoop() }()
	if p.cfg.RTPTimeout > 0 {
		mp.wg.Add(1)
		go func() { defer mp.wg.Done(); mp.watchdog(p.cfg.RTPTimeout) }()
	}
}

func (p *Phone) recoverMedia(c *call) {
	if r := recover(); r != nil {
		p.log.Error("media goroutine panic", "call_id", c.id, "panic", r)
	}
}

// stopMedia ends the pumps and waits for them. Reads blocked in diago end
// when the dialog's media closes (BYE) or through the read deadline below.
func (p *Phone) stopMedia(c *call) {
	c.mu.Lock()
	mp := c.media
	c.mu.Unlock()
	if mp == nil {
		return
	}
	mp.cancel()
	// Unblock a read waiting for RTP that never comes. Through
	// MediaSession(), which takes diago's lock: DialogMedia.StopRTP reads
	// the session unlocked and raced a re-INVITE's session swap (-race).
	if ms := mp.m.MediaSession(); ms != nil {
		_ = ms.StopRTP(1, 0)
	}
	mp.wg.Wait()
	p.unlinkConference(c)
	for _, cl := range mp.closers {
		_ = cl.Close()
	}
}

func (mp *mediaPump) queueDTMF(digits string) error {
	for _, r := range digits {
		select {
		case mp.dtmf <- r:
		default:
			return errors.New("phone: DTMF queue full")
		}
	}
	return nil
}

// readBufs are the reader goroutine's buffers (1.5 KB) and writeBufs the
// writer's, pooled across calls: at 1,000 short calls a second (make bench)
// they were the largest allocation per call. Nothing keeps them after a
// loop iteration (PacketPort.ReceivePacket and Sink.WriteFrame must not).
type readBufs struct {
	buf []byte // media.RTPBufSize
}

type writeBufs struct {
	frame []int16 // one audio.Narrowband frame
	enc   []byte  // one payload: 160 bytes of G.711, up to 1275 of Opus
}

var (
	readBufPool = sync.Pool{New: func() any {
		return &readBufs{buf: make([]byte, media.RTPBufSize)}
	}}
	writeBufPool = sync.Pool{New: func() any {
		return &writeBufs{frame: make([]int16, audio.Narrowband.Samples()), enc: make([]byte, 1500)}
	}}
)

func (mp *mediaPump) readLoop() {
	c := mp.c
	var props diago.MediaProps
	dr := diago.DTMFReader{}
	r, err := mp.m.AudioReader(diago.WithAudioReaderMediaProps(&props), diago.WithAudioReaderDTMF(&dr))
	if err != nil {
		c.log.Warn("audio reader", "call_id", c.id, "err", err)
		return
	}
	dr.OnDTMF(func(d rune) error {
		c.p.emit(DTMFReceived{CallID: c.id, Digit: d})
		return nil
	})
	pt := props.Codec.PayloadType
	tc, err := newTranscoder(props.Codec.Name, c.p.pcmRate(props.Codec.Name))
	if err != nil {
		c.log.Warn("audio decoder", "call_id", c.id, "codec", props.Codec.Name, "err", err)
	} else {
		defer tc.close()
	}
	bufs := readBufPool.Get().(*readBufs)
	defer readBufPool.Put(bufs)
	buf := bufs.buf
	clock, rate := int(props.Codec.SampleRate), c.p.pcmRate(props.Codec.Name)
	deliver := func(frame []int16, at int) {
		if conf := c.confLinkOf(); conf != nil {
			conf.rx.push(frame)
		}
		if ts, ok := mp.sink.(audio.TimedSink); ok {
			// The hub's jitter buffer orders frames by RTP timestamp,
			// counted in samples at the Media rate.
			hdr := mp.m.RTPPacketReader.PacketHeader
			_ = ts.WriteTimed(frame, mediaTimestamp(hdr.Timestamp, clock, rate, at), hdr.SequenceNumber)
		} else if mp.sink != nil {
			_ = mp.sink.WriteFrame(frame)
		}
	}
	for mp.ctx.Err() == nil {
		n, err := r.Read(buf)
		if err != nil {
			if mp.ctx.Err() == nil && !errors.Is(err, io.EOF) {
				c.log.Debug("audio read", "call_id", c.id, "err", err)
			}
			return
		}
		if n == 0 {
			continue // we hold (sendonly): diago drops incoming audio
		}
		if hdr := mp.m.RTPPacketReader.PacketHeader; hdr.PayloadType != pt {
			// telephone-event on 101 is handled by dr; on another
			// negotiated payload type by us (dtmf.go).
			te := c.telephoneEvent()
			if te != 101 && int(hdr.PayloadType) == te {
				if d, ok := mp.te.packet(hdr.Timestamp, buf[:n]); ok {
					c.p.emit(DTMFReceived{CallID: c.id, Digit: d})
				}
			}
			if int(hdr.PayloadType) == te {
				mp.offerPacket(PacketEvent, buf[:n])
			}
			continue // comfort noise, unknown
		}
		mp.lastRTP.Store(time.Now().UnixNano())
		if mp.offerPacket(PacketAudio, buf[:n]) {
			continue // relayed as it is (relay.go)
		}
		if tc == nil || (mp.sink == nil && c.confLinkOf() == nil) {
			continue
		}
		_ = tc.decode(buf[:n], deliver)
	}
}

func (mp *mediaPump) writeLoop() {
	c := mp.c
	var props diago.MediaProps
	dw := diago.DTMFWriter{}
	w, err := mp.m.AudioWriter(diago.WithAudioWriterMediaProps(&props), diago.WithAudioWriterDTMF(&dw))
	if err != nil {
		c.log.Warn("audio writer", "call_id", c.id, "err", err)
		return
	}
	rate := c.p.pcmRate(props.Codec.Name)
	tc, err := newTranscoder(props.Codec.Name, rate)
	if err != nil {
		// No audio of ours, but DTMF and the packet relay still run.
		c.log.Warn("audio encoder", "call_id", c.id, "codec", props.Codec.Name, "err", err)
	} else {
		defer tc.close()
	}
	f := audio.Format{SampleRate: rate, Channels: 1, Frame: audio.Narrowband.Frame}
	bufs := writeBufPool.Get().(*writeBufs)
	defer writeBufPool.Put(bufs)
	frame, enc := bufs.frame, bufs.enc
	if n := f.Samples(); n != len(frame) {
		frame = make([]int16, n)
	}
	tick := time.NewTicker(f.Frame)
	defer tick.Stop()
	gate := time.NewTicker(gateEvery)
	defer gate.Stop()
	waitFrame := time.NewTimer(time.Hour)
	waitFrame.Stop()
	first := true // the first packet carries the marker bit
	for mp.ctx.Err() == nil {
		if mp.relayStep(tick, gate) {
			continue // packet mode (relay.go)
		}
		select {
		case d := <-mp.dtmf:
			if mp.maySend.Load() {
				var err error
				if te := c.telephoneEvent(); te != 101 {
					err = writeDTMF(mp.m.RTPPacketWriter, uint8(te), d, func() bool {
						select {
						case <-mp.ctx.Done():
							return false
						case <-tick.C:
							return true
						}
					})
				} else {
					err = dw.WriteDTMF(d)
				}
				if err != nil {
					c.log.Debug("dtmf write", "call_id", c.id, "err", err)
				}
			}
			continue
		default:
		}
		if !mp.maySend.Load() || c.uplinkHeld() {
			// Remote hold (inactive / c=0.0.0.0 / sendonly) or our own
			// inactive / zero-ip hold: send nothing.
			select {
			case <-mp.ctx.Done():
				return
			case <-tick.C:
			}
			continue
		}
		clear(frame)
		src := mp.src
		if c.sendingMusic() {
			src = mp.holdMusic(f) // we hold with sendonly: music, not the mic
		}
		// A source paced by the sound card (the hub's port) is sent as
		// each frame is captured, not on diago's ticker, which would hold
		// a frame up to 20 ms; a frame and a half without one sends what
		// there is (silence), so the stream never stops.
		paced, _ := src.(audio.PacedSource)
		if paced != nil && !paced.Paced() {
			paced = nil
		}
		if paced != nil {
			waitFrame.Reset(f.Frame * 3 / 2)
			select {
			case <-mp.ctx.Done():
				return
			case <-paced.FrameReady():
			case <-waitFrame.C:
			}
			waitFrame.Stop()
		}
		if src != nil {
			if err := src.ReadFrame(frame); err != nil && !errors.Is(err, io.EOF) {
				c.log.Debug("audio source", "call_id", c.id, "err", err)
			}
		}
		c.mu.Lock()
		muted := c.info.Muted
		conf := c.mc.conf
		c.mu.Unlock()
		if muted {
			clear(frame)
		}
		if conf != nil {
			conf.mix.mixInto(frame) // the other party of the conference
		}
		var n int
		err := errNoEncoder
		if tc != nil {
			n, err = tc.encode(enc, frame)
		}
		if err != nil || n == 0 {
			// Nothing to send this frame: keep the pace ourselves (diago's
			// Write is what paces the loop otherwise).
			c.log.Debug("audio encode", "call_id", c.id, "err", err)
			select {
			case <-mp.ctx.Done():
				return
			case <-tick.C:
			}
			continue
		}
		if paced != nil {
			// Sent now; the RTP timestamp still advances a frame a frame.
			_, err = mp.m.RTPPacketWriter.WriteSamples(enc[:n], props.Codec.SampleTimestamp(), first, props.Codec.PayloadType)
		} else {
			_, err = w.Write(enc[:n]) // sends, then waits for diago's tick
		}
		first = false
		if err != nil {
			if mp.ctx.Err() == nil && !errors.Is(err, io.EOF) {
				c.log.Debug("audio write", "call_id", c.id, "err", err)
			}
			return
		}
	}
}

// watchdog raises MediaTimeout when an active, unheld call receives no
// audio for limit (diago has no RTP timeout: LIBRARIES §3 row 19).
func (mp *mediaPump) watchdog(limit time.Duration) {
	c := mp.c
	t := time.NewTicker(min(limit/4, time.Second))
	defer t.Stop()
	fired := false
	for {
		select {
		case <-mp.ctx.Done():
			return
		case <-t.C:
		}
		info := c.snapshot()
		if info.State != CallActive || info.LocalHold || info.RemoteHold {
			mp.lastRTP.Store(time.Now().UnixNano())
			fired = false
			continue
		}
		silent := time.Since(time.Unix(0, mp.lastRTP.Load()))
		if silent < limit {
			fired = false
			continue
		}
		if fired {
			continue
		}
		fired = true
		c.p.emit(MediaTimeout{CallID: c.id, Silent: silent})
		if c.p.cfg.RTPTimeoutHangup {
			c.mu.Lock()
			if c.info.End == nil {
				c.info.End = &EndInfo{Cause: EndMediaTimeout, Text: "no RTP for " + silent.Round(time.Second).String()}
			}
			c.mu.Unlock()
			go func() { _ = c.hangup() }()
			return
		}
	}
}

// applyRemoteSDP updates the remote-hold view of a call from an SDP the peer
// sent (offer or answer) and gates our uplink accordingly (RFC 3264 §5.1,
// §8.4; RFC 2543 c=0.0.0.0).
func (p *Phone) applyRemoteSDP(c *call, body []byte) {
	if len(body) == 0 {
		return
	}
	_, info, err := sdpfence.Normalize(body)
	if err != nil {
		return
	}
	// An offer that is not sendrecv both ways puts us on hold: sendonly,
	// recvonly, inactive and RFC 2543's c=0.0.0.0 alike.
	held := !info.WeMaySend || !info.RemoteSendsToUs
	c.mu.Lock()
	mp := c.media
	changed := c.info.RemoteHold != held
	c.mu.Unlock()
	if mp != nil {
		mp.maySend.Store(info.WeMaySend)
	}
	if !changed {
		return
	}
	c.mu.Lock()
	idle := c.info.State == CallIdle
	if idle {
		c.info.RemoteHold = held // not published yet: the offer event carries it
	}
	c.mu.Unlock()
	if !idle {
		c.update(func(ci *CallInfo) { ci.RemoteHold = held })
	}
}

// onMediaUpdate runs when diago applied a re-INVITE from the peer. It must
// not block: it only refreshes the codec shown.
func (p *Phone) onMediaUpdate(c *call, m *diago.DialogMedia) {
	codec := media.CodecAudioFromSession(m.MediaSession()).Name
	sec := c.srtpState().suite() // srtp.go
	c.mu.Lock()
	same := c.info.Codec == codec && c.info.SRTP == sec
	c.mu.Unlock()
	if !same {
		c.update(func(ci *CallInfo) { ci.Codec, ci.SRTP = codec, sec })
	}
}

// holdMusic returns the music-on-hold source, opening Config.HoldMusic the
// first time; nil (silence) when none is configured or it fails to open.
// Writer goroutine only.
func (mp *mediaPump) holdMusic(f audio.Format) audio.Source {
	if !mp.mohTried {
		mp.mohTried = true
		if spec := mp.c.p.cfg.HoldMusic; spec != "" {
			src, _, cl, err := audio.Open(spec, f) // at the writer's rate
			if err != nil {
				mp.c.log.Warn("hold music", "call_id", mp.c.id, "err", err)
			} else {
				mp.moh = src
				mp.closers = append(mp.closers, cl)
			}
		}
	}
	return mp.moh
}

// telephoneEvent is the RTP payload type of telephone-event/8000 on this
// call: what the peer offered, 101 (diago's) when unknown.
func (c *call) telephoneEvent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mc.tePT != 0 {
		return c.mc.tePT
	}
	return 101
}
