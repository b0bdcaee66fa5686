package api

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
)

// WritePcap writes a ladder as a pcap file that wireshark, tshark and sngrep
// open: each message one UDP datagram between its addresses (raw IP link
// type, so IPv4 and IPv6 mix), stamped with its send/receive time. A
// message that went over TCP or TLS is written as UDP too: the capture
// shows the SIP, not the stream.
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
	for _, m := range msgs {
		src, dst := pcapAddr(m.Local, 5060), pcapAddr(m.Remote, 5060)
		if !m.Sent {
			src, dst = dst, src
		}
		pkt := udpPacket(src, dst, []byte(m.Raw))
		var ph [16]byte
		ns := m.Time.UnixNano()
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

// udpPacket builds an IP packet carrying one UDP datagram. The two
// addresses must be of one family: an IPv4 one is mapped into IPv6 when
// they differ.
func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	if len(payload) > 65000 {
		payload = payload[:65000]
	}
	v4 := src.Addr().Is4() && dst.Addr().Is4()
	sa, da := src.Addr(), dst.Addr()
	if !v4 {
		sa, da = netip.AddrFrom16(sa.As16()), netip.AddrFrom16(da.As16())
	}
	udpLen := 8 + len(payload)
	udp := make([]byte, udpLen)
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[8:], payload)
	// the UDP checksum over the pseudo-header
	var pseudo []byte
	sb, db := sa.AsSlice(), da.AsSlice()
	pseudo = append(pseudo, sb...)
	pseudo = append(pseudo, db...)
	if v4 {
		pseudo = append(pseudo, 0, 17, byte(udpLen>>8), byte(udpLen))
	} else {
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(udpLen))
		pseudo = append(pseudo, 0, 0, 0, 17)
	}
	sum := checksum(append(pseudo, udp...))
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], sum)
	if v4 {
		ip := make([]byte, 20, 20+udpLen)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+udpLen))
		ip[8] = 64 // TTL
		ip[9] = 17 // UDP
		copy(ip[12:], sb)
		copy(ip[16:], db)
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
		return append(ip, udp...)
	}
	ip := make([]byte, 40, 40+udpLen)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(udpLen))
	ip[6] = 17 // next header: UDP
	ip[7] = 64 // hop limit
	copy(ip[8:], sb)
	copy(ip[24:], db)
	return append(ip, udp...)
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
