package anydevice

import (
	"sync"
	"sync/atomic"

	"github.com/anyphone/anyphone/phone"
)

// The packet relay: when a port listens to a peer whose leg negotiated the
// same codec, and neither plays a fill (ringback, a prompt) nor mixes a
// conference, the peer's received RTP payloads go straight to this leg's
// PacketWriter, which sends them at once with its own payload types, SSRC
// and sequence numbers (phone/relay.go). No decode, no ring of frames, no
// 20 ms ticker: the relay adds what a UDP relay adds. telephone-event
// travels the same way, so DTMF crosses without being regenerated. Every
// other case keeps the PCM path of Port (PCMU on one leg and PCMA on the
// other, ringback, conference, hold music).

// routeMu serialises route changes across ports (Listen, SetFill,
// Conference, a leg's media starting). They are rare; the per-packet path
// only loads atomics.
var routeMu sync.Mutex

// packetSide is a port's packet relay state.
type packetSide struct {
	out atomic.Pointer[phone.PacketWriter] // this leg's sender, once its media started
	fwd atomic.Pointer[Port]               // the port this leg's received packets go to
	src *Port                              // the port whose fwd is us; routeMu

	packets atomic.Uint64 // packets received and forwarded
	drops   atomic.Uint64 // forwarded packets the far writer refused
}

// ReceivePacket implements phone.PacketPort: on the leg's reader
// goroutine, a received payload goes to the port listening in packet mode;
// false (PCM decode into WriteFrame) when none does. It does not allocate.
func (p *Port) ReceivePacket(pk phone.Packet) bool {
	dst := p.pk.fwd.Load()
	if dst == nil || p.taps.Load() != nil {
		return false
	}
	if pk.Kind == phone.PacketAudio {
		p.received.Add(1)
	}
	p.pk.packets.Add(1)
	if out := dst.pk.out.Load(); out == nil || !out.WritePacket(pk) {
		p.pk.drops.Add(1)
	}
	return true
}

// attachWriter gives the port its leg's sender when the leg's media starts
// (phone.Config.Packets) and routes packets if the port already listens.
func (p *Port) attachWriter(w *phone.PacketWriter) {
	routeMu.Lock()
	defer routeMu.Unlock()
	p.pk.out.Store(w)
	p.rerouteLocked()
	// The peer listening to us may now go to packets too.
	if q := p.peer.Load(); q != nil && q.peer.Load() == p {
		q.rerouteLocked()
	}
}

// packetsFor is the phone's PacketFunc: a leg of ours gets its port as
// packet port, other calls stay on PCM.
func (c *Controller) packetsFor(ci phone.CallInfo, w *phone.PacketWriter) phone.PacketPort {
	p := c.portFor(ci.ID, false)
	if p == nil {
		return nil
	}
	p.attachWriter(w)
	return p
}

// reroute recomputes how this port's leg gets what it sends.
func (p *Port) reroute() {
	routeMu.Lock()
	p.rerouteLocked()
	routeMu.Unlock()
}

// rerouteLocked puts the port's leg on packets from its peer when both
// legs have a packet writer on the same codec and nothing needs PCM, and
// on PCM otherwise. routeMu must be held.
func (p *Port) rerouteLocked() {
	var src *Port
	out := p.pk.out.Load()
	if peer := p.peer.Load(); peer != nil && out != nil && p.mix.Load() == nil && p.fill.Load() == nil {
		if po := peer.pk.out.Load(); po != nil && po.Codec() == out.Codec() && peer.mix.Load() == nil {
			src = peer
		}
	}
	if old := p.pk.src; old != nil && old != src {
		old.pk.fwd.CompareAndSwap(p, nil)
	}
	p.pk.src = src
	if src != nil {
		if prev := src.pk.fwd.Swap(p); prev != nil && prev != p {
			// Another port listened to src in packet mode: it falls back
			// to PCM (one listener per leg, as with frames).
			prev.pk.src = nil
			if w := prev.pk.out.Load(); w != nil {
				w.SetRelay(false)
			}
		}
	}
	if out != nil {
		out.SetRelay(src != nil)
	}
}

// relaysTo reports whether this port's received packets go to q: the
// packet relay then carries DTMF too.
func (p *Port) relaysTo(q *Port) bool {
	return q != nil && p.pk.fwd.Load() == q && q.pk.out.Load() != nil && q.pk.out.Load().Relaying()
}

// PacketStats are a port's packet relay counters.
type PacketStats struct {
	// Forwarded counts received packets handed to the peer's writer;
	// Refused those it did not take (queue full, hold).
	Forwarded, Refused uint64
	// Sent and Dropped are this leg's writer's counters.
	Sent, Dropped uint64
	// Relaying is true while this leg sends its peer's packets.
	Relaying bool
}

// PacketStats returns the port's packet relay counters.
func (p *Port) PacketStats() PacketStats {
	st := PacketStats{Forwarded: p.pk.packets.Load(), Refused: p.pk.drops.Load()}
	if w := p.pk.out.Load(); w != nil {
		ws := w.Stats()
		st.Sent, st.Dropped, st.Relaying = ws.Sent, ws.Dropped, w.Relaying()
	}
	return st
}

var _ phone.PacketPort = (*Port)(nil)

// LegPacketStats returns the packet relay counters of a live leg (a call
// id from SessionInfo.Legs); false when the call is no leg of ours.
func (c *Controller) LegPacketStats(id phone.CallID) (PacketStats, bool) {
	c.mu.Lock()
	p := c.ports[id]
	c.mu.Unlock()
	if p == nil {
		return PacketStats{}, false
	}
	return p.PacketStats(), true
}
