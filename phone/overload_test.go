package phone

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// shedRequest is a datagram from 127.0.0.1 in the shape sipp sends.
func shedRequest(method, branch, toTag string) []byte {
	to := "To: <sip:endpoint@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	cseq := method
	if method == "ACK" {
		cseq = "ACK"
	}
	return []byte(fmt.Sprintf("%s sip:endpoint@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=%s\r\n"+
		"From: <sip:sipp@127.0.0.1>;tag=f1\r\n%s\r\nCall-ID: %s@127.0.0.1\r\nCSeq: 1 %s\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", method, branch, to, branch, cseq))
}

// TestShedder drives the UDP guard's load shedding on a real socket:
// datagrams left in the kernel queue for longer than the limit make the
// guard answer a new INVITE 503 itself; its retransmission gets the same
// 503 even once the queue is short again, its ACK is absorbed, and
// everything else (OPTIONS, a re-INVITE, a new INVITE without a queue)
// reaches sipgo.
func TestShedder(t *testing.T) {
	const limit = 40 * time.Millisecond
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sh, err := newShedder(conn, limit, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sh.probe = func() (time.Duration, uint64) { return 0, 0 } // this test is about the socket queue
	g := &guardConn{PacketConn: conn, p: &Phone{log: slog.New(slog.DiscardHandler)}, parser: sip.NewParser(), shed: sh}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	send := func(b []byte) {
		t.Helper()
		if _, err := peer.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	// passed reads what the guard lets through until the queue is empty.
	passed := func() []string {
		t.Helper()
		var got []string
		buf := make([]byte, 4096)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := g.ReadFrom(buf)
			if err != nil {
				return got
			}
			line, _, _ := strings.Cut(string(buf[:n]), " ")
			got = append(got, line)
		}
	}
	// answers reads the responses the guard sent the peer.
	answers := func() []string {
		t.Helper()
		var got []string
		buf := make([]byte, 4096)
		for {
			_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := peer.Read(buf)
			if err != nil {
				return got
			}
			res := string(buf[:n])
			if !strings.Contains(res, "\r\nRetry-After: 1\r\n") || !hasShedTag(res) {
				t.Errorf("503 without Retry-After or To tag:\n%s", res)
			}
			first, _, _ := strings.Cut(res, "\r\n")
			got = append(got, first)
		}
	}

	// The kernel turns receive timestamps on a moment after the first
	// socket asks (a deferred static key): until then it stamps a datagram
	// when it is read. Wait for real stamps.
	probe := shedRequest("OPTIONS", "z9hG4bK-probe", "")
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(5 * time.Second); ; {
		send(probe)
		time.Sleep(20 * time.Millisecond)
		if _, _, err := sh.read(buf); err != nil {
			t.Fatal(err)
		}
		if time.Since(sh.rx) >= 15*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel never stamped a datagram with its receive time")
		}
	}
	sh.avg = 0

	// A queue that waits: twenty OPTIONS, a re-INVITE and a new INVITE
	// sit in the socket for three times the limit.
	for i := range 20 {
		send(shedRequest("OPTIONS", fmt.Sprintf("z9hG4bK-opt%d", i), ""))
	}
	send(shedRequest("INVITE", "z9hG4bK-reinvite", "t1"))
	send(shedRequest("INVITE", "z9hG4bK-new1", ""))
	time.Sleep(3 * limit)
	got := passed()
	if len(got) != 21 || got[20] != "INVITE" {
		t.Fatalf("passed %q; want the 20 OPTIONS and the re-INVITE", got)
	}
	if a := answers(); len(a) != 1 || a[0] != "SIP/2.0 503 Service Unavailable" {
		t.Fatalf("answers %q; want one 503", a)
	}
	if n := sh.count.Load(); n != 1 {
		t.Errorf("refused %d INVITEs, want 1", n)
	}

	// No queue any more: the retransmission gets the same 503, its ACK
	// stops here, and a new INVITE goes through.
	send(shedRequest("INVITE", "z9hG4bK-new1", ""))
	send(shedRequest("ACK", "z9hG4bK-new1", "x"))
	for range 20 { // bring the average down
		send(shedRequest("OPTIONS", "z9hG4bK-later", ""))
		if p := passed(); len(p) > 0 && p[0] == "INVITE" {
			t.Fatal("the retransmission of a refused INVITE reached sipgo")
		}
	}
	if a := answers(); len(a) != 1 || !strings.Contains(a[0], "503") {
		t.Errorf("answers to the retransmission %q; want one 503", a)
	}
	send(shedRequest("INVITE", "z9hG4bK-new2", ""))
	if got := passed(); len(got) != 1 || got[0] != "INVITE" {
		t.Errorf("without a queue, a new INVITE: passed %q", got)
	}
	if a := answers(); len(a) != 0 {
		t.Errorf("without a queue: answers %q", a)
	}

	// Timer H later the refused INVITE is forgotten: a late copy of it
	// reaches sipgo, which answers it as a new request.
	sh.sweep(time.Now().Add(shedRemember + time.Second))
	if len(sh.refused) != 0 {
		t.Fatalf("after %v: %d refused INVITEs still remembered", shedRemember, len(sh.refused))
	}
	send(shedRequest("INVITE", "z9hG4bK-new1", ""))
	if got := passed(); len(got) != 1 || got[0] != "INVITE" {
		t.Errorf("a refused INVITE after Timer H: passed %q", got)
	}
}

// TestShedderRunQueue: with no socket queue at all, a new INVITE is
// refused while the process is busy and its run queue waits (the second
// signal, runqueue.go); not when it waits but is not busy, nor when it is
// busy without waiting. In-dialog requests are never refused.
func TestShedderRunQueue(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sh, err := newShedder(conn, time.Hour, slog.New(slog.DiscardHandler)) // the socket queue never counts
	if err != nil {
		t.Fatal(err)
	}
	g := &guardConn{PacketConn: conn, p: &Phone{log: slog.New(slog.DiscardHandler)}, parser: sip.NewParser(), shed: sh}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	busy := uint64(runQueueBusy)
	for i, tc := range []struct {
		name   string
		p90    time.Duration
		n      uint64
		toTag  string
		refuse bool
	}{
		{"busy and waiting", 2 * runQueueLimit, busy, "", true},
		{"busy and waiting, re-INVITE", 2 * runQueueLimit, busy, "t1", false},
		{"waiting but not busy", 2 * runQueueLimit, busy - 1, "", false},
		{"busy, short waits", runQueueLimit, 100 * busy, "", false},
		{"idle", 0, 0, "", false},
	} {
		sh.probe = func() (time.Duration, uint64) { return tc.p90, tc.n }
		sh.probed = time.Time{} // probe at the next datagram
		if _, err := peer.WriteToUDP(shedRequest("INVITE", fmt.Sprintf("z9hG4bK-rq%d", i), tc.toTag), conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, _, err := g.ReadFrom(buf)
		passed := err == nil
		_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, rerr := peer.Read(buf)
		refused := rerr == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 503 ")
		if refused != tc.refuse || passed == tc.refuse {
			t.Errorf("%s (p90 %v, %d schedulings): passed %v, refused with 503 %v; want refused %v",
				tc.name, tc.p90, tc.n, passed, refused, tc.refuse)
		}
	}
}

// TestRunQueueProbe reads the real run queue: idle, then with twice as many
// goroutines as there are CPUs taking turns in 200 µs slices.
func TestRunQueueProbe(t *testing.T) {
	rq := newRunQueue()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) * 8 {
		wg.Go(func() { // owned by this test; ends at stop
			for {
				select {
				case <-stop:
					return
				default:
				}
				for start := time.Now(); time.Since(start) < 200*time.Microsecond; {
				}
				runtime.Gosched()
			}
		})
	}
	rq.read(0.9) // start the window with the spinners running
	time.Sleep(300 * time.Millisecond)
	p90, n := rq.read(0.9)
	close(stop)
	wg.Wait()
	// 16 runnable goroutines per CPU, 200 µs each: a turn comes every
	// ~3 ms; the bucket's lower bound is read, so ask for less.
	if n == 0 || p90 < time.Millisecond {
		t.Errorf("run-queue wait p90 %v over %d sampled schedulings; want ≥ 1ms with 16 spinners per CPU", p90, n)
	}
}

// hasShedTag reports whether the To header of res carries the shedder's tag.
func hasShedTag(res string) bool {
	for _, l := range strings.Split(res, "\r\n") {
		if strings.HasPrefix(l, "To:") && strings.Contains(l, ";tag=shed") {
			return true
		}
	}
	return false
}

// TestInviteKeys reads the top Via branch and the To tag.
func TestInviteKeys(t *testing.T) {
	b, tag := inviteKeys(shedRequest("INVITE", "z9hG4bK-a", ""))
	if b != "z9hG4bK-a" || tag {
		t.Errorf("new INVITE: %q %v", b, tag)
	}
	two := bytes.Replace(shedRequest("INVITE", "z9hG4bK-top", "x"), []byte("\r\nFrom"),
		[]byte("\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-second\r\nFrom"), 1)
	if b, tag := inviteKeys(two); b != "z9hG4bK-top" || !tag {
		t.Errorf("two Vias, To tag: %q %v", b, tag)
	}
}
