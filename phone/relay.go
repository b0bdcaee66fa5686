package phone

// Packet-level media: a call's received RTP payloads handed to a relay as
// they are, and payloads sent as soon as the relay gives them, without the
// PCM decode, the ring of 20 ms frames and diago's send ticker in between
// (LIBRARIES §2.9, §2.12, §10.2). The PCM path stays for everything else:
// local audio, conference, music on hold, mute, transcoding.

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago/media"
)

// PacketKind is what an RTP payload carries.
type PacketKind int

// Packet kinds.
const (
	PacketUnknown PacketKind = iota
	// PacketAudio is the call's negotiated audio codec.
	PacketAudio
	// PacketEvent is RFC 4733 telephone-event.
	PacketEvent
)

// String names the kind.
func (k PacketKind) String() string {
	switch k {
	case PacketUnknown:
		return "unknown"
	case PacketAudio:
		return "audio"
	case PacketEvent:
		return "telephone-event"
	}
	return "PacketKind(?)"
}

// Packet is one RTP media payload a call received, or one to send on a
// call. The sending call chooses its own payload type for the kind (its
// audio codec's, its negotiated telephone-event's), its own SSRC and
// sequence numbers, and maps the timestamps: out = in + offset, the offset
// fixed at the first packet of each source (SSRC), which is sent with the
// marker bit (RFC 3550 §5.1, RFC 4733 §2.3: an event's packets keep its
// start timestamp, so they map too).
type Packet struct {
	Kind PacketKind
	// PT is the payload type on the receiving call (informative).
	PT     uint8
	Marker bool
	// SSRC and Timestamp are the received stream's.
	SSRC      uint32
	Timestamp uint32
	// Payload is only valid during PacketPort.ReceivePacket.
	Payload []byte
}

// PacketPort receives a call's media at packet level.
type PacketPort interface {
	// ReceivePacket is called on the call's reader goroutine with every
	// audio and telephone-event payload the call receives (comfort noise
	// and unknown payload types are dropped before). It returns true when
	// it took the packet; false lets the PCM path decode it for the call's
	// Sink. It must not block or keep p.Payload.
	ReceivePacket(p Packet) bool
}

// PacketFunc attaches a PacketPort to a call when its media starts; w sends
// packets on that call (once SetRelay(true)). Returning nil keeps the call
// on PCM only. It is called once per call, after Config.Media.
type PacketFunc func(ci CallInfo, w *PacketWriter) PacketPort

// Queue sizes of a PacketWriter: relayQueue packets wait at most (120 ms
// of 20 ms audio; a writer that far behind drops rather than delays), in
// relaySlots buffers so that a producer never overwrites the one being
// sent (see WritePacket).
const (
	relaySlots      = 8
	relayQueue      = relaySlots - 2
	maxRelayPayload = 512 // G.711 at 60 ms is 480 bytes
)

// gateEvery is how often a writer in packet mode that receives nothing
// looks whether it must go back to PCM (we hold with music, mute).
const gateEvery = 100 * time.Millisecond

type relaySlot struct {
	n        int
	kind     PacketKind
	marker   bool
	ssrc, ts uint32
	buf      [maxRelayPayload]byte
}

// PacketWriter sends packets on one call. Its queue is filled by any
// goroutine (WritePacket) and drained by the call's writer goroutine, the
// only one that writes the call's RTP (diago's RTPPacketWriter is not safe
// for concurrent use).
type PacketWriter struct {
	codec   string
	audioPT uint8
	g711    bool // one byte per sample: the timestamp advances by len(payload)

	on   atomic.Bool
	wake chan struct{} // SetRelay pokes the writer goroutine

	mu    sync.Mutex // producers: next and the slot being filled
	next  uint8
	slots [relaySlots]relaySlot
	q     chan uint8

	sent, dropped atomic.Uint64

	// writer goroutine only: the timestamp mapping.
	anchored bool
	ssrc     uint32
	off, nx  uint32
	lastSeq  uint16
}

func newPacketWriter(codec media.Codec) *PacketWriter {
	return &PacketWriter{
		codec:   codec.Name,
		audioPT: codec.PayloadType,
		// G.722 too: one byte is two 16 kHz samples, one tick of its 8 kHz RTP clock.
		g711: (codec.Name == "PCMU" || codec.Name == "PCMA" || codec.Name == "G722") && codec.SampleRate == 8000,
		wake: make(chan struct{}, 1),
		q:    make(chan uint8, relayQueue),
	}
}

// NewPacketWriter returns a writer for codec ("PCMU", "PCMA") that is
// attached to no call: what it is given queues up to its bound and is then
// dropped. It lets packet ports be tested without a call; the phone makes
// the writers of its calls itself (Config.Packets).
func NewPacketWriter(codec string) *PacketWriter {
	c := media.Codec{Name: codec, PayloadType: 96, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1}
	switch codec {
	case "PCMU":
		c = media.CodecAudioUlaw
	case "PCMA":
		c = media.CodecAudioAlaw
	}
	return newPacketWriter(c)
}

// Codec is the call's audio codec name (PCMU, PCMA, ...): payloads of
// PacketAudio must be in it.
func (w *PacketWriter) Codec() string { return w.codec }

// SetRelay switches the call's uplink between packet mode (it sends what
// WritePacket gives, at once) and PCM mode (its Source, paced at 20 ms).
// Safe from any goroutine.
func (w *PacketWriter) SetRelay(on bool) {
	if w.on.Swap(on) == on {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Relaying reports whether the writer is in packet mode.
func (w *PacketWriter) Relaying() bool { return w.on.Load() }

// WritePacket queues p to be sent on the call right away. It copies the
// payload, never blocks and does not allocate; it returns false (and
// counts a drop) when the writer is not in packet mode, the payload is too
// large or the queue is full. Safe from any goroutine.
func (w *PacketWriter) WritePacket(p Packet) bool {
	if !w.on.Load() || len(p.Payload) > maxRelayPayload || p.Kind == PacketUnknown {
		w.dropped.Add(1)
		return false
	}
	w.mu.Lock()
	// The queue holds at most relayQueue slots and the writer sends one
	// more: next is neither (relaySlots = relayQueue + 2).
	s := &w.slots[w.next%relaySlots]
	s.n = copy(s.buf[:], p.Payload)
	s.kind, s.marker, s.ssrc, s.ts = p.Kind, p.Marker, p.SSRC, p.Timestamp
	ok := false
	select {
	case w.q <- w.next % relaySlots:
		w.next++
		ok = true
	default:
	}
	w.mu.Unlock()
	if !ok {
		w.dropped.Add(1)
	}
	return ok
}

// PacketStats are a PacketWriter's counters.
type PacketStats struct {
	Sent, Dropped uint64
}

// Stats returns the writer's counters.
func (w *PacketWriter) Stats() PacketStats {
	return PacketStats{Sent: w.sent.Load(), Dropped: w.dropped.Load()}
}

// drain forgets queued packets (writer goroutine, leaving packet mode).
func (w *PacketWriter) drain() {
	for {
		select {
		case <-w.q:
		default:
			return
		}
	}
}

// send writes one queued packet through rw with payload type pt
// (the audio codec's or telephone-event's). Writer goroutine only.
func (w *PacketWriter) send(rw *media.RTPPacketWriter, s *relaySlot, tePT uint8) error {
	pt, inc := w.audioPT, uint32(0)
	switch {
	case s.kind == PacketEvent:
		pt = tePT
	case w.g711:
		inc = uint32(s.n)
	}
	payload := s.buf[:s.n]
	// A new source, or our stream was written by the PCM path or a DTMF
	// digit since our last packet: send this one at the writer's own next
	// timestamp and map the source's timestamps from there.
	if !w.anchored || s.ssrc != w.ssrc || rw.PacketHeader.SequenceNumber != w.lastSeq {
		if _, err := rw.WriteSamples(payload, inc, true, pt); err != nil {
			return err
		}
		w.anchored, w.ssrc = true, s.ssrc
		w.off = rw.PacketHeader.Timestamp - s.ts
		w.nx = rw.PacketHeader.Timestamp + inc
		w.lastSeq = rw.PacketHeader.SequenceNumber
		return nil
	}
	if want := s.ts + w.off; want != w.nx {
		rw.DelayTimestamp(want - w.nx) // a gap (loss, silence) or an event's timestamp
		w.nx = want
	}
	if _, err := rw.WriteSamples(payload, inc, s.marker, pt); err != nil {
		return err
	}
	w.nx += inc
	w.lastSeq = rw.PacketHeader.SequenceNumber
	return nil
}

// startPackets attaches Config.Packets to a call whose media starts.
func (p *Phone) startPackets(mp *mediaPump, info CallInfo) {
	if p.cfg.Packets == nil || mp.m.MediaSession() == nil {
		return
	}
	pw := newPacketWriter(media.CodecAudioFromSession(mp.m.MediaSession()))
	if pp := p.cfg.Packets(info, pw); pp != nil {
		mp.pw, mp.pp = pw, pp
	}
}

// offerPacket hands a received payload to the call's PacketPort; true when
// it took it. Reader goroutine only: the header is that of the packet the
// reader just read.
func (mp *mediaPump) offerPacket(kind PacketKind, payload []byte) bool {
	if mp.pp == nil {
		return false
	}
	hdr := &mp.m.RTPPacketReader.PacketHeader
	return mp.pp.ReceivePacket(Packet{
		Kind: kind, PT: hdr.PayloadType, Marker: hdr.Marker,
		SSRC: hdr.SSRC, Timestamp: hdr.Timestamp, Payload: payload,
	})
}

// packetGate reads, under one lock, whether the uplink needs the PCM path
// (we hold with music, we are muted, a local conference mixes) and whether
// our own hold forbids sending.
func (c *call) packetGate() (pcm, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	music := c.holding && (c.holdDialect == HoldSendonly || c.holdDialect == HoldDefault)
	held = c.holding && !music
	return music || c.info.Muted || c.mc.conf != nil, held
}

// relayStep runs the writer goroutine in packet mode: it sends one queued
// packet, or one DTMF digit, or notices a mode change, and returns true.
// It returns false at once when the call's uplink is on PCM, so that the
// caller writes one PCM frame.
func (mp *mediaPump) relayStep(tick *time.Ticker, gate *time.Ticker) bool {
	pw := mp.pw
	if pw == nil {
		return false
	}
	c := mp.c
	if !pw.on.Load() {
		pw.drain()
		return false
	}
	// The gate is read once per packet, before waiting for it: a change
	// (hold, mute) takes effect within a packet or gateEvery.
	pcm, held := c.packetGate()
	if pcm {
		pw.drain()
		return false
	}
	select {
	case <-mp.ctx.Done():
	case <-pw.wake:
	case <-gate.C:
	case d := <-mp.dtmf:
		if mp.maySend.Load() {
			err := writeDTMF(mp.m.RTPPacketWriter, uint8(c.telephoneEvent()), d, func() bool {
				select {
				case <-mp.ctx.Done():
					return false
				case <-tick.C:
					return true
				}
			})
			if err != nil {
				c.log.Debug("dtmf write", "call_id", c.id, "err", err)
			}
		}
	case i := <-pw.q:
		if held || !mp.maySend.Load() {
			pw.dropped.Add(1) // hold, mute: the packet is not sent
			return true
		}
		s := &pw.slots[i]
		var te uint8
		if s.kind == PacketEvent {
			te = uint8(c.telephoneEvent())
		}
		if err := pw.send(mp.m.RTPPacketWriter, s, te); err != nil {
			pw.dropped.Add(1)
			c.log.Debug("packet write", "call_id", c.id, "err", err)
			return true
		}
		pw.sent.Add(1)
	}
	return true
}
