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
