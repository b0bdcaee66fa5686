package phone

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// srtpPair is two SRTP sockets on loopback whose keys match: a's key is
// b's peer key and the other way round.
func srtpPair(t *testing.T, suite sdesSuite, isRTCP bool) (a, b *srtpConn) {
	t.Helper()
	ka, _ := newSDESKey(1, suite)
	kb, _ := newSDESKey(1, suite)
	mk := func(local, remote sdesCrypto) *srtpConn {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		k := &srtpKeys{}
		if err := k.set(local, remote); err != nil {
			t.Fatal(err)
		}
		return &srtpConn{PacketConn: u, k: k, rtcp: isRTCP}
	}
	return mk(ka, kb), mk(kb, ka)
}

func readWithin(t *testing.T, c *srtpConn, d time.Duration) ([]byte, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 1500)
	n, _, err := c.ReadFrom(buf)
	return buf[:n], err
}

// TestSRTPConn: both suites protect RTP and RTCP on the wire and restore
// them at the other end; clear or forged packets are dropped.
func TestSRTPConn(t *testing.T) {
	for _, suite := range sdesSuites {
		t.Run(suite.name, func(t *testing.T) {
			a, b := srtpPair(t, suite, false)
			payload := bytes.Repeat([]byte{0x55}, 160)
			pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: 42}, Payload: payload}).Marshal()

			// What goes on the wire is not the clear packet.
			raw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if n, err := a.WriteTo(pkt, raw.LocalAddr()); err != nil || n != len(pkt) {
				t.Fatalf("WriteTo = %d, %v; want %d", n, err, len(pkt))
			}
			wire := make([]byte, 1500)
			_ = raw.SetReadDeadline(time.Now().Add(time.Second))
			n, _, err := raw.ReadFrom(wire)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(wire[:n], payload[:32]) || n <= len(pkt) {
				t.Errorf("wire packet of %d bytes carries the clear payload or no tag", n)
			}

			// The peer decrypts it.
			if _, err := a.WriteTo(pkt, b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			got, err := readWithin(t, b, time.Second)
			if err != nil || !bytes.Equal(got, pkt) {
				t.Fatalf("decrypted %x, %v; want %x", got, err, pkt)
			}

			// Clear RTP and a replay are dropped.
			if _, err := raw.WriteTo(pkt, b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.WriteTo(wire[:n], b.LocalAddr()); err != nil { // a replay of seq 7, which b has had
				t.Fatal(err)
			}
			if got, err := readWithin(t, b, 300*time.Millisecond); err == nil {
				t.Errorf("clear or replayed packet passed: %x", got)
			}

			// SRTCP.
			ca, cb := srtpPair(t, suite, true)
			rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 42} // receiver report, SSRC 42, no blocks (RFC 3550 §6.4.2)
			if _, err := ca.WriteTo(rr, cb.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			got, err = readWithin(t, cb, time.Second)
			if err != nil || !bytes.Equal(got, rr) {
				t.Fatalf("SRTCP decrypted %x, %v; want %x", got, err, rr)
			}
		})
	}
}
