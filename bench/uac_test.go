//go:build linux

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeUAS answers INVITEs on 127.0.0.1 according to mode and records the
// methods it received.
type fakeUAS struct {
	conn *net.UDPConn
	mode string // ok, busy, drop-first, peer-bye

	mu      sync.Mutex
	methods []string
	invites int
	done    chan struct{}
}

func newFakeUAS(t *testing.T, mode string) *fakeUAS {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUAS{conn: conn, mode: mode, done: make(chan struct{})}
	go f.serve()
	t.Cleanup(func() { conn.Close(); <-f.done })
	return f
}

func (f *fakeUAS) addr() string { return f.conn.LocalAddr().String() }

func (f *fakeUAS) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.methods...)
}

func (f *fakeUAS) reply(m sipMsg, to *net.UDPAddr, status, extra, body string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %s\r\n", status)
	for _, h := range headerLines(m.raw) {
		switch canonicalHeader(h.name) {
		case "Via", "From", "Call-ID", "CSeq":
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		case "To":
			v := h.value
			if !strings.Contains(v, ";tag=") && !strings.HasPrefix(status, "100") {
				v += ";tag=uas1"
			}
			fmt.Fprintf(&b, "To: %s\r\n", v)
		}
	}
	b.WriteString(extra)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_, _ = f.conn.WriteToUDP(b.Bytes(), to)
}

func (f *fakeUAS) serve() {
	defer close(f.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		raw := append([]byte(nil), buf[:n]...)
		m, ok := parseSIP(raw)
		if !ok {
			continue
		}
		f.mu.Lock()
		if m.method != "" {
			f.methods = append(f.methods, m.method)
		} else {
			f.methods = append(f.methods, fmt.Sprintf("%d", m.code))
		}
		if m.method == "INVITE" {
			f.invites++
		}
		invites := f.invites
		f.mu.Unlock()
		switch m.method {
		case "INVITE":
			switch {
			case f.mode == "drop-first" && invites == 1:
			case f.mode == "busy":
				f.reply(m, from, "486 Busy Here", "", "")
			default:
				f.reply(m, from, "100 Trying", "", "")
				f.reply(m, from, "200 OK", "Contact: <sip:uas@"+f.addr()+">\r\nContent-Type: application/sdp\r\n", string(Offer(4000)))
			}
		case "ACK":
			if f.mode == "peer-bye" {
				bye := fmt.Sprintf("BYE sip:bench@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKpeer\r\nFrom: <sip:uas@%s>;tag=uas1\r\nTo: <sip:bench@%s>\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
					from, f.addr(), f.addr(), from, m.callID)
				_, _ = f.conn.WriteToUDP([]byte(bye), from)
			}
		case "BYE":
			f.reply(m, from, "200 OK", "", "")
		}
	}
}

func TestUACCall(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		wantCode   int // RejectedError code, 0 for success
		wantRetx   int64
		wantMethod []string // methods the UAS saw, in order
	}{
		{"answered and hung up", "ok", 0, 0, []string{"INVITE", "ACK", "BYE"}},
		{"busy is acknowledged", "busy", 486, 0, []string{"INVITE", "ACK"}},
		{"lost INVITE is retransmitted", "drop-first", 0, 1, []string{"INVITE", "INVITE", "ACK", "BYE"}},
		{"peer hangs up first", "peer-bye", 0, 0, []string{"INVITE", "ACK", "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uas := newFakeUAS(t, tt.mode)
			uac, err := NewUAC(uas.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer uac.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			leg, err := uac.Invite(ctx, "svc", 4002)
			var rej *RejectedError
			switch {
			case tt.wantCode != 0:
				if !errors.As(err, &rej) || rej.Code != tt.wantCode {
					t.Fatalf("%s: err = %v, want RejectedError %d", tt.name, err, tt.wantCode)
				}
			case err != nil:
				t.Fatalf("%s: %v", tt.name, err)
			default:
				if leg.Setup <= 0 || leg.Setup > 5*time.Second {
					t.Errorf("%s: setup %v", tt.name, leg.Setup)
				}
				if !bytes.Contains(leg.Answer, []byte("m=audio 4000 ")) {
					t.Errorf("%s: answer %q", tt.name, leg.Answer)
				}
				if tt.mode == "peer-bye" {
					time.Sleep(200 * time.Millisecond) // the UAS's BYE and our 200
				} else if err := leg.Bye(ctx); err != nil {
					t.Errorf("%s: bye: %v", tt.name, err)
				}
			}
			time.Sleep(50 * time.Millisecond) // kept (bench is compile-only here): the fake UAS has no event yet for what it recorded
			if got := uas.got(); strings.Join(got, " ") != strings.Join(tt.wantMethod, " ") {
				t.Errorf("%s: UAS saw %v, want %v", tt.name, got, tt.wantMethod)
			}
			if got := uac.Retransmissions.Load(); got != tt.wantRetx {
				t.Errorf("%s: retransmissions %d, want %d", tt.name, got, tt.wantRetx)
			}
		})
	}
}

func TestRTPSinkEchoAndRecord(t *testing.T) {
	tests := []struct {
		name     string
		echo     bool
		packets  [][]byte
		recorded int
		echoed   int
	}{
		{"echo RTP", true, [][]byte{rtpPacket(0), rtpPacket(0)}, 2, 2},
		{"no echo", false, [][]byte{rtpPacket(0)}, 1, 0},
		{"RTCP and junk ignored", true, [][]byte{{0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("hello")}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, err := NewRTPSink(tt.echo)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			sink.Record(true)
			c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sink.Port()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sent := time.Now()
			for _, p := range tt.packets {
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			echoed := 0
			buf := make([]byte, 2048)
			for {
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					break
				}
				echoed++
			}
			a := sink.Arrivals()
			if len(a) != tt.recorded || echoed != tt.echoed {
				t.Fatalf("%s: recorded %d echoed %d, want %d %d", tt.name, len(a), echoed, tt.recorded, tt.echoed)
			}
			for i, at := range a {
				if d := at.Sub(sent); d < -time.Second || d > time.Second {
					t.Errorf("%s: arrival %d is %v from the send: not a kernel timestamp of now", tt.name, i, d)
				}
			}
		})
	}
}

func rtpPacket(pt byte) []byte {
	p := make([]byte, 172)
	p[0], p[1] = 0x80, pt
	return p
}
