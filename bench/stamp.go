//go:build linux

package bench

import (
	"encoding/binary"
	"net"
	"syscall"
	"time"
)

// enableRxStamps asks the kernel to timestamp every datagram on conn as it
// arrives (SO_TIMESTAMPNS), so measurements do not include the time the Go
// scheduler took to run the reader.
func enableRxStamps(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		if serr == nil {
			// Room for bursts: 200 calls of RTP or a burst of SIP.
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
		}
	}); err != nil {
		return err
	}
	return serr
}

// oobSize holds one SCM_TIMESTAMPNS control message.
var oobSize = syscall.CmsgSpace(16)

// readStamped reads one datagram and its kernel receive time; without a
// timestamp in the control data it falls back to time.Now().
func readStamped(conn *net.UDPConn, buf, oob []byte) (int, *net.UDPAddr, time.Time, error) {
	n, oobn, _, addr, err := conn.ReadMsgUDP(buf, oob)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	return n, addr, stampFrom(oob[:oobn]), nil
}

// stampFrom extracts SCM_TIMESTAMPNS (a struct timespec) from control data.
func stampFrom(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}
