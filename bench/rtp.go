//go:build linux

package bench

import (
	"net"
	"sync"
	"time"
)

// RTPSink is one call's media socket on 127.0.0.1: it timestamps every
// packet in the kernel, keeps the arrival times while recording, and can
// echo each packet back to its sender (like sipp -rtp_echo) so the peer
// also has media to receive and decode.
type RTPSink struct {
	conn *net.UDPConn
	echo bool

	mu        sync.Mutex
	recording bool        // guarded by mu
	arrivals  []time.Time // guarded by mu
	total     int         // guarded by mu

	done chan struct{}
}

// NewRTPSink opens the socket and starts its reader goroutine, owned by the
// sink and ended by Close.
func NewRTPSink(echo bool) (*RTPSink, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := enableRxStamps(conn); err != nil {
		conn.Close()
		return nil, err
	}
	s := &RTPSink{conn: conn, echo: echo, done: make(chan struct{})}
	go s.read()
	return s, nil
}

// Port is where the peer must send.
func (s *RTPSink) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *RTPSink) read() {
	defer close(s.done)
	buf := make([]byte, 2048)
	oob := make([]byte, oobSize)
	for {
		n, addr, at, err := readStamped(s.conn, buf, oob)
		if err != nil {
			return
		}
		// RTP version 2, not RTCP (payload types 200-204 with the marker bit).
		if n < 12 || buf[0]>>6 != 2 || (buf[1] >= 200 && buf[1] <= 204) {
			continue
		}
		s.mu.Lock()
		s.total++
		if s.recording {
			s.arrivals = append(s.arrivals, at)
		}
		s.mu.Unlock()
		if s.echo {
			_, _ = s.conn.WriteToUDP(buf[:n], addr)
		}
	}
}

// Record starts (true) or stops (false) keeping arrival times.
func (s *RTPSink) Record(on bool) {
	s.mu.Lock()
	s.recording = on
	s.mu.Unlock()
}

// Arrivals returns the recorded arrival times.
func (s *RTPSink) Arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}

// Total is the number of RTP packets received so far.
func (s *RTPSink) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Close stops the reader.
func (s *RTPSink) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}
