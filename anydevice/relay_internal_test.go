package anydevice

import (
	"testing"

	"github.com/anyphone/anyphone/phone"
)

// packetPort is a port with a writer on codec, as if its leg's media had
// started.
func packetPort(codec string) *Port {
	p := NewPort()
	p.attachWriter(phone.NewPacketWriter(codec))
	return p
}

// relaying reports who sends packets: for each port, whether its writer
// is in packet mode and whose packets reach it.
func relaying(ports ...*Port) []bool {
	out := make([]bool, len(ports))
	for i, p := range ports {
		out[i] = p.pk.out.Load() != nil && p.pk.out.Load().Relaying()
	}
	return out
}

func TestPortRouting(t *testing.T) {
	for _, tc := range []struct {
		name string
		// set up ports a, b, c and route them
		run func(a, b, c *Port)
		// want: a, b, c in packet mode; fwd: who each one's packets go to
		want []bool
		fwd  [3]int // index of the port a's, b's, c's packets go to; -1 none
	}{
		{
			name: "same codec both ways",
			run:  func(a, b, c *Port) { Connect(a, b) },
			want: []bool{true, true, false}, fwd: [3]int{1, 0, -1},
		},
		{
			name: "different codecs stay on PCM",
			run:  func(a, b, c *Port) { Connect(a, c) },
			want: []bool{false, false, false}, fwd: [3]int{-1, -1, -1},
		},
		{
			name: "ringback fill keeps PCM until cleared",
			run: func(a, b, c *Port) {
				a.SetFill(NewRingback())
				a.Listen(b)
			},
			want: []bool{false, false, false}, fwd: [3]int{-1, -1, -1},
		},
		{
			name: "fill cleared at answer",
			run: func(a, b, c *Port) {
				a.SetFill(NewRingback())
				a.Listen(b)
				a.SetFill(nil)
				Connect(a, b)
			},
			want: []bool{true, true, false}, fwd: [3]int{1, 0, -1},
		},
		{
			name: "conference mixes PCM, unconference and reconnect relays again",
			run: func(a, b, c *Port) {
				Connect(a, b)
				Conference(a, b, c)
			},
			want: []bool{false, false, false}, fwd: [3]int{-1, -1, -1},
		},
		{
			name: "back from conference",
			run: func(a, b, c *Port) {
				Connect(a, b)
				Conference(a, b, c)
				Unconference(a, b, c)
				Connect(a, b)
			},
			want: []bool{true, true, false}, fwd: [3]int{1, 0, -1},
		},
		{
			name: "disconnect",
			run: func(a, b, c *Port) {
				Connect(a, b)
				a.Listen(nil)
			},
			want: []bool{false, true, false}, fwd: [3]int{1, -1, -1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, c := packetPort("PCMU"), packetPort("PCMU"), packetPort("PCMA")
			tc.run(a, b, c)
			ports := []*Port{a, b, c}
			got := relaying(ports...)
			for i := range ports {
				if got[i] != tc.want[i] {
					t.Errorf("port %d relaying = %v, want %v", i, got[i], tc.want[i])
				}
				want := (*Port)(nil)
				if tc.fwd[i] >= 0 {
					want = ports[tc.fwd[i]]
				}
				if f := ports[i].pk.fwd.Load(); f != want {
					t.Errorf("port %d forwards to %p, want %p", i, f, want)
				}
			}
		})
	}
}

// TestPortMove: a new device leg takes over from the old one without
// the old one's packets reaching the remote leg any more.
func TestPortMove(t *testing.T) {
	old, rem, dev := packetPort("PCMU"), packetPort("PCMU"), packetPort("PCMU")
	Connect(old, rem)
	// commands.go onMoveLeg: Connect(new, rem); old.Listen(nil).
	Connect(dev, rem)
	old.Listen(nil)
	if f := old.pk.fwd.Load(); f != nil {
		t.Errorf("old device leg still forwards to %p", f)
	}
	if rem.pk.fwd.Load() != dev || dev.pk.fwd.Load() != rem {
		t.Errorf("remote and new device are not relayed to each other")
	}
	pk := phone.Packet{Kind: phone.PacketAudio, Payload: make([]byte, 160)}
	if old.ReceivePacket(pk) {
		t.Errorf("old device's packet taken, want it left to PCM")
	}
	if !dev.ReceivePacket(pk) || rem.PacketStats().Forwarded != 0 || dev.PacketStats().Forwarded != 1 {
		t.Errorf("new device's packet not forwarded: %+v", dev.PacketStats())
	}
	if got := relaying(old, rem, dev); got[0] || !got[1] || !got[2] {
		t.Errorf("relaying old, rem, dev = %v, want false, true, true", got)
	}
}

// TestPortPacketLateMedia: the legs are connected before the second leg's
// media starts; its writer attaching switches both to packets.
func TestPortPacketLateMedia(t *testing.T) {
	a, b := packetPort("PCMU"), NewPort()
	Connect(a, b)
	if relaying(a)[0] {
		t.Fatal("relaying before the peer has a writer")
	}
	b.attachWriter(phone.NewPacketWriter("PCMU"))
	if got := relaying(a, b); !got[0] || !got[1] {
		t.Errorf("relaying = %v after the peer's media started, want both", got)
	}
}

// TestPortReceivePacketAllocs: forwarding a packet allocates nothing.
func TestPortReceivePacketAllocs(t *testing.T) {
	a, b := packetPort("PCMU"), packetPort("PCMU")
	Connect(a, b)
	pk := phone.Packet{Kind: phone.PacketAudio, Payload: make([]byte, 160)}
	allocs := testing.AllocsPerRun(1000, func() { a.ReceivePacket(pk) })
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet, want 0", allocs)
	}
	if st := a.PacketStats(); st.Forwarded < 1000 {
		t.Errorf("forwarded %d, want ≥ 1000", st.Forwarded)
	}
}
