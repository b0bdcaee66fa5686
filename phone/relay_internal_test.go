package phone

import (
	"testing"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// rtpCapture is an RTPWriter that keeps the headers written.
type rtpCapture struct {
	hdrs     []rtp.Header
	payloads [][]byte
	keep     bool
}

func (c *rtpCapture) WriteRTP(p *rtp.Packet) error {
	if c.keep {
		c.hdrs = append(c.hdrs, p.Header)
		c.payloads = append(c.payloads, append([]byte(nil), p.Payload...))
	}
	return nil
}

func TestPacketWriterMapsTimestamps(t *testing.T) {
	type in struct {
		kind   PacketKind
		ssrc   uint32
		ts     uint32
		marker bool
		n      int
	}
	type out struct {
		pt     uint8
		tsDiff uint32 // from the first packet written
		marker bool
	}
	const audio, te = 8, 96 // PCMA, a telephone-event on 96
	for _, tc := range []struct {
		name string
		pre  int // PCM frames written through Write before the relay
		in   []in
		want []out
	}{
		{
			name: "steady audio keeps the source's spacing",
			in:   []in{{PacketAudio, 7, 1000, false, 160}, {PacketAudio, 7, 1160, false, 160}, {PacketAudio, 7, 1320, false, 160}},
			want: []out{{audio, 0, true}, {audio, 160, false}, {audio, 320, false}},
		},
		{
			name: "a lost packet and a 40 ms frame keep their timestamps",
			in:   []in{{PacketAudio, 7, 0, false, 160}, {PacketAudio, 7, 320, false, 320}, {PacketAudio, 7, 640, false, 160}, {PacketAudio, 7, 800, false, 160}},
			want: []out{{audio, 0, true}, {audio, 320, false}, {audio, 640, false}, {audio, 800, false}},
		},
		{
			name: "events keep their start timestamp and map to the leg's payload type",
			in: []in{
				{PacketAudio, 7, 0, false, 160},
				{PacketEvent, 7, 160, true, 4}, {PacketEvent, 7, 160, false, 4}, {PacketEvent, 7, 160, false, 4},
				{PacketAudio, 7, 800, false, 160},
			},
			want: []out{{audio, 0, true}, {te, 160, true}, {te, 160, false}, {te, 160, false}, {audio, 800, false}},
		},
		{
			name: "a new source restarts the mapping with a marker",
			in:   []in{{PacketAudio, 7, 0, false, 160}, {PacketAudio, 7, 160, false, 160}, {PacketAudio, 9, 50000, false, 160}, {PacketAudio, 9, 50160, false, 160}},
			want: []out{{audio, 0, true}, {audio, 160, false}, {audio, 320, true}, {audio, 480, false}},
		},
		{
			name: "after PCM frames the relay continues the writer's timeline",
			pre:  3,
			in:   []in{{PacketAudio, 7, 90000, false, 160}, {PacketAudio, 7, 90160, false, 160}},
			want: []out{{audio, 480, true}, {audio, 640, false}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			capt := &rtpCapture{keep: true}
			codec := media.CodecAudioAlaw
			rw := media.NewRTPPacketWriter(capt, codec)
			rw.ClockDisable() // no pacing in the test: Write is not called after pre
			for range tc.pre {
				_, _ = rw.WriteSamples(make([]byte, 160), 160, false, codec.PayloadType)
			}
			pw := newPacketWriter(codec)
			for i, p := range tc.in {
				s := &relaySlot{n: p.n, kind: p.kind, marker: p.marker, ssrc: p.ssrc, ts: p.ts}
				if err := pw.send(rw, s, te); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			got := capt.hdrs[tc.pre:]
			if len(got) != len(tc.want) {
				t.Fatalf("%d packets written, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.PayloadType != w.pt || g.Timestamp-capt.hdrs[0].Timestamp != w.tsDiff || g.Marker != w.marker {
					t.Errorf("packet %d: pt %d ts +%d marker %v; want pt %d ts +%d marker %v",
						i, g.PayloadType, g.Timestamp-capt.hdrs[0].Timestamp, g.Marker, w.pt, w.tsDiff, w.marker)
				}
				if i > 0 && g.SequenceNumber != got[i-1].SequenceNumber+1 {
					t.Errorf("packet %d: seq %d after %d", i, g.SequenceNumber, got[i-1].SequenceNumber)
				}
			}
		})
	}
}

func TestPacketWriterQueue(t *testing.T) {
	payload := make([]byte, 160)
	for _, tc := range []struct {
		name   string
		on     bool
		n      int // packets written without draining
		size   int
		kind   PacketKind
		queued int
	}{
		{name: "relay off drops", on: false, n: 3, size: 160, kind: PacketAudio, queued: 0},
		{name: "queue bounded", on: true, n: 20, size: 160, kind: PacketAudio, queued: relayQueue},
		{name: "oversized payload dropped", on: true, n: 1, size: maxRelayPayload + 1, kind: PacketAudio, queued: 0},
		{name: "unknown kind dropped", on: true, n: 1, size: 4, kind: PacketUnknown, queued: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := newPacketWriter(media.CodecAudioUlaw)
			pw.SetRelay(tc.on)
			big := make([]byte, tc.size)
			ok := 0
			for range tc.n {
				if pw.WritePacket(Packet{Kind: tc.kind, Payload: big}) {
					ok++
				}
			}
			if ok != tc.queued || len(pw.q) != tc.queued {
				t.Errorf("queued %d (chan %d), want %d", ok, len(pw.q), tc.queued)
			}
			if st := pw.Stats(); st.Dropped != uint64(tc.n-tc.queued) {
				t.Errorf("dropped %d, want %d", st.Dropped, tc.n-tc.queued)
			}
		})
	}
	// Slots are not overwritten while queued: the payloads come out in
	// order with their own bytes.
	pw := newPacketWriter(media.CodecAudioUlaw)
	pw.SetRelay(true)
	for round := range 5 {
		for i := range relayQueue {
			payload[0] = byte(round*16 + i)
			if !pw.WritePacket(Packet{Kind: PacketAudio, Payload: payload}) {
				t.Fatalf("round %d packet %d dropped", round, i)
			}
		}
		for i := range relayQueue {
			s := &pw.slots[<-pw.q]
			if s.buf[0] != byte(round*16+i) {
				t.Fatalf("round %d packet %d: payload %d", round, i, s.buf[0])
			}
		}
	}
}

// TestPacketPathAllocs: queueing and sending a packet allocate nothing.
func TestPacketPathAllocs(t *testing.T) {
	rw := media.NewRTPPacketWriter(&rtpCapture{}, media.CodecAudioUlaw)
	rw.ClockDisable()
	pw := newPacketWriter(media.CodecAudioUlaw)
	pw.SetRelay(true)
	payload := make([]byte, 160)
	ts := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		ts += 160
		if !pw.WritePacket(Packet{Kind: PacketAudio, SSRC: 1, Timestamp: ts, Payload: payload}) {
			t.Fatal("dropped")
		}
		if err := pw.send(rw, &pw.slots[<-pw.q], 101); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet, want 0", allocs)
	}
}

// FuzzPacketWriter feeds a writer packets built from the input (kind,
// SSRC, timestamp, payload length per 8 bytes) through its queue and the
// send path: nothing panics, every queued payload is written unchanged,
// sequence numbers stay consecutive and the spacing of one source's
// timestamps is kept after its first packet.
func FuzzPacketWriter(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 160, 160, 1, 0, 0, 0, 0, 1, 64, 160})
	f.Add([]byte{1, 7, 0, 0, 0, 0, 0, 160, 2, 7, 0, 0, 0, 0, 160, 4, 2, 7, 0, 0, 0, 0, 160, 4, 1, 9, 255, 255, 255, 255, 0, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		capt := &rtpCapture{keep: true}
		rw := media.NewRTPPacketWriter(capt, media.CodecAudioUlaw)
		rw.ClockDisable()
		pw := newPacketWriter(media.CodecAudioUlaw)
		pw.SetRelay(true)
		payload := make([]byte, 600)
		type sent struct {
			ssrc, ts uint32
			n        int
		}
		var queued []sent
		for len(data) >= 8 {
			rec := data[:8]
			data = data[8:]
			p := Packet{
				Kind:      PacketKind(rec[0] % 3),
				SSRC:      uint32(rec[1]),
				Timestamp: uint32(rec[2])<<24 | uint32(rec[3])<<16 | uint32(rec[4])<<8 | uint32(rec[5]),
				Marker:    rec[6]&1 == 1,
				Payload:   payload[:int(rec[7])*2+int(rec[6]>>7)],
			}
			for i := range p.Payload {
				p.Payload[i] = byte(len(queued) + i)
			}
			if !pw.WritePacket(p) {
				continue
			}
			queued = append(queued, sent{p.SSRC, p.Timestamp, len(p.Payload)})
			if err := pw.send(rw, &pw.slots[<-pw.q], 101); err != nil {
				t.Fatal(err)
			}
		}
		if len(capt.hdrs) != len(queued) {
			t.Fatalf("%d written, %d queued", len(capt.hdrs), len(queued))
		}
		for i, h := range capt.hdrs {
			if len(capt.payloads[i]) != queued[i].n || (queued[i].n > 0 && capt.payloads[i][0] != byte(i)) {
				t.Fatalf("packet %d: payload changed", i)
			}
			if i == 0 {
				continue
			}
			if h.SequenceNumber != capt.hdrs[i-1].SequenceNumber+1 {
				t.Fatalf("packet %d: seq %d after %d", i, h.SequenceNumber, capt.hdrs[i-1].SequenceNumber)
			}
			if queued[i].ssrc == queued[i-1].ssrc {
				if got, want := h.Timestamp-capt.hdrs[i-1].Timestamp, queued[i].ts-queued[i-1].ts; got != want {
					t.Fatalf("packet %d: timestamp step %d, source's %d", i, got, want)
				}
			} else if !h.Marker {
				t.Fatalf("packet %d: new source without marker", i)
			}
		}
	})
}
