package api

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// WritePcap writes a ladder as a pcap file that wireshark, tshark and sngrep
// open (raw IP link type, so IPv4 and IPv6 mix), each message stamped with
// its send/receive time. A message that went over UDP is one datagram
// between its addresses; one that went over TCP, TLS or WebSocket is a TCP
// segment of its connection, which starts with a handshake and carries
// valid sequence and acknowledgement numbers, so that the dissectors read
// SIP over TCP (TLS is written as the plain SIP we saw).
func WritePcap(w io.Writer, msgs []SIPMessage) error {
	bw := bufio.NewWriter(w)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond timestamps
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535) // snaplen
	binary.LittleEndian.PutUint32(hdr[20:], 101)   // LINKTYPE_RAW
	if _, err := bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	write := func(t time.Time, pkt []byte) error {
		var ph [16]byte
		ns := t.UnixNano()
		binary.LittleEndian.PutUint32(ph[0:], uint32(ns/1e9))
		binary.LittleEndian.PutUint32(ph[4:], uint32(ns%1e9))
		binary.LittleEndian.PutUint32(ph[8:], uint32(len(pkt)))
		binary.LittleEndian.PutUint32(ph[12:], uint32(len(pkt)))
		if _, err := bw.Write(ph[:]); err != nil {
			return fmt.Errorf("pcap: %w", err)
		}
		if _, err := bw.Write(pkt); err != nil {
			return fmt.Errorf("pcap: %w", err)
		}
		return nil
	}
	conns := map[[2]netip.AddrPort]*tcpConn{}
	for _, m := range msgs {
		src, dst := pcapAddr(m.Local, 5060), pcapAddr(m.Remote, 5060)
		if !m.Sent {
			src, dst = dst, src
		}
		if !streamProtocol(m.Protocol) {
			if err := write(m.Time, udpPacket(src, dst, []byte(m.Raw))); err != nil {
				return err
			}
			continue
		}
		c := conns[[2]netip.AddrPort{src, dst}]
		if c == nil {
			// A connection we have not seen: the sender of its first
			// message opens it (SYN, SYN-ACK, ACK at the same time).
			c = &tcpConn{a: src, b: dst, seq: [2]uint32{1000, 5000}}
			conns[[2]netip.AddrPort{src, dst}] = c
			conns[[2]netip.AddrPort{dst, src}] = c
			for _, seg := range c.handshake() {
				if err := write(m.Time, seg); err != nil {
					return err
				}
			}
		}
		payload := []byte(m.Raw)
		for len(payload) > 0 { // segments of at most 65000 bytes
			n := min(len(payload), 65000)
			if err := write(m.Time, c.segment(src, payload[:n])); err != nil {
				return err
			}
			payload = payload[n:]
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	return nil
}

// pcapAddr parses "host:port"; a name or a missing address is written as
// the loopback address.
func pcapAddr(s string, port uint16) netip.AddrPort {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

// streamProtocol reports whether SIP went over a connection (TCP, TLS,
// WebSocket) rather than datagrams.
func streamProtocol(p string) bool {
	switch strings.ToLower(p) {
	case "tcp", "tls", "ws", "wss":
		return true
	}
	return false
}

// tcpConn numbers the segments of one TCP connection between a (which
// opened it) and b: seq[0] is a's next sequence number, seq[1] b's.
type tcpConn struct {
	a, b netip.AddrPort
	seq  [2]uint32
}

const (
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// handshake is the SYN, SYN-ACK, ACK that opens the connection.
func (c *tcpConn) handshake() [][]byte {
	syn := ipPacket(c.a, c.b, 6, tcpHeader(c.a, c.b, c.seq[0], 0, tcpSYN, nil))
	c.seq[0]++
	synAck := ipPacket(c.b, c.a, 6, tcpHeader(c.b, c.a, c.seq[1], c.seq[0], tcpSYN|tcpACK, nil))
	c.seq[1]++
	ack := ipPacket(c.a, c.b, 6, tcpHeader(c.a, c.b, c.seq[0], c.seq[1], tcpACK, nil))
	return [][]byte{syn, synAck, ack}
}

// segment is payload sent by from, acknowledging all the other side sent.
func (c *tcpConn) segment(from netip.AddrPort, payload []byte) []byte {
	me, peer, to := 0, 1, c.b
	if from != c.a {
		me, peer, to = 1, 0, c.a
	}
	seg := ipPacket(from, to, 6, tcpHeader(from, to, c.seq[me], c.seq[peer], tcpPSH|tcpACK, payload))
	c.seq[me] += uint32(len(payload))
	return seg
}

// tcpHeader builds a TCP segment (20-byte header, window 65535) whose
// checksum ipPacket fills in.
func tcpHeader(src, dst netip.AddrPort, seq, ack uint32, flags byte, payload []byte) []byte {
	seg := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(seg[0:], src.Port())
	binary.BigEndian.PutUint16(seg[2:], dst.Port())
	binary.BigEndian.PutUint32(seg[4:], seq)
	binary.BigEndian.PutUint32(seg[8:], ack)
	seg[12] = 5 << 4 // data offset: 5 words
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], 65535)
	return append(seg, payload...)
}

// ipPacket wraps a transport segment (proto 6 TCP, 17 UDP) in an IPv4 or
// IPv6 header and fills in its checksum (TCP at offset 16, UDP at 6). An
// IPv4 address is mapped into IPv6 when the two are of different families.
func ipPacket(src, dst netip.AddrPort, proto byte, seg []byte) []byte {
	v4 := src.Addr().Is4() && dst.Addr().Is4()
	sa, da := src.Addr(), dst.Addr()
	if !v4 {
		sa, da = netip.AddrFrom16(sa.As16()), netip.AddrFrom16(da.As16())
	}
	n := len(seg)
	sb, db := sa.AsSlice(), da.AsSlice()
	var pseudo []byte
	pseudo = append(pseudo, sb...)
	pseudo = append(pseudo, db...)
	if v4 {
		pseudo = append(pseudo, 0, proto, byte(n>>8), byte(n))
	} else {
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(n))
		pseudo = append(pseudo, 0, 0, 0, proto)
	}
	off := 16
	if proto == 17 {
		off = 6
	}
	seg[off], seg[off+1] = 0, 0
	sum := checksum(append(pseudo, seg...))
	if sum == 0 && proto == 17 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(seg[off:], sum)
	if v4 {
		ip := make([]byte, 20, 20+n)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+n))
		ip[8] = 64 // TTL
		ip[9] = proto
		copy(ip[12:], sb)
		copy(ip[16:], db)
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
		return append(ip, seg...)
	}
	ip := make([]byte, 40, 40+n)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(n))
	ip[6] = proto
	ip[7] = 64 // hop limit
	copy(ip[8:], sb)
	copy(ip[24:], db)
	return append(ip, seg...)
}

// udpPacket builds an IP packet carrying one UDP datagram. The two
// addresses must be of one family: an IPv4 one is mapped into IPv6 when
// they differ.
func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	if len(payload) > 65000 {
		payload = payload[:65000]
	}
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	return ipPacket(src, dst, 17, append(udp, payload...))
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
