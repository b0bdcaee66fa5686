package sipguard

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
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
	conn, sh, g, peer := shedderOnSocket(t, limit)
	sh.probed = time.Now().Add(time.Hour) // no INVITE is timed: this test is about the socket queue
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
		time.Sleep(20 * time.Millisecond) // not a wait: the probe ages in the socket
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
	time.Sleep(3 * limit) // not a wait: the queue's age is what is shed on
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

// TestShedderInviteAge: with no socket queue at all, new INVITEs are
// refused while INVITEs arrive at busyRate or more and the last one timed
// from the kernel to the request handler took longer than the limit
// (sipgo's goroutine per datagram keeps the backlog out of the socket
// queue). The timed INVITE itself passes
// even then, so that the next one shows the backlog gone; in-dialog
// requests always pass.
func TestShedderInviteAge(t *testing.T) {
	conn, sh, g, peer := shedderOnSocket(t, 600*time.Millisecond)
	limit := sh.ageLimit // 100 ms
	// offer sends an INVITE and reports whether the guard let it through
	// (and else that it answered 503); the request is returned parsed.
	offer := func(branch, toTag string) (bool, *sip.Request) {
		t.Helper()
		data := shedRequest("INVITE", branch, toTag)
		if _, err := peer.WriteToUDP(data, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _, rerr := g.ReadFrom(buf)
		// The guard answers before it reads on: a 503 is there by now.
		_ = peer.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, aerr := peer.Read(buf)
		refused := aerr == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 503 ")
		if (rerr == nil) == refused {
			t.Fatalf("INVITE %s: passed %v, refused %v", branch, rerr == nil, refused)
		}
		msg, err := sip.ParseMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		return rerr == nil, msg.(*sip.Request)
	}

	// The first new INVITE is timed; it reaches the handler late.
	passed, first := offer("z9hG4bK-age1", "")
	if !passed {
		t.Fatal("the first INVITE was refused")
	}
	if pr := sh.probe.Load(); pr == nil || pr.branch != "z9hG4bK-age1" {
		t.Fatalf("probe %+v, want the first INVITE timed", pr)
	}
	time.Sleep(2 * limit) // not a wait: the INVITE reaches the handler late
	sh.Arrived(first)
	sh.probed = time.Now().Add(time.Hour) // no new probe until the test says

	// Now a backlog is known. A few INVITEs a second are not a load that
	// could have made it: a new INVITE passes.
	sh.window = time.Now().Add(time.Hour) // the test sets busy
	if passed, _ := offer("z9hG4bK-age2a", ""); !passed {
		t.Error("a new INVITE was refused although INVITEs arrive below busyRate")
	}
	// Busy: a new INVITE is refused, a re-INVITE is not.
	sh.busy = true
	if passed, _ := offer("z9hG4bK-age2", ""); passed {
		t.Error("a new INVITE passed behind a backlog of 2× the limit")
	}
	if passed, _ := offer("z9hG4bK-age3", "t1"); !passed {
		t.Error("a re-INVITE was refused")
	}
	// When a probe is due, the next new INVITE is timed and passes
	// although the last measure is still over the limit; it arrives at once.
	sh.probed = time.Time{}
	passed, next := offer("z9hG4bK-age4", "")
	if !passed {
		t.Fatal("the next timed INVITE was refused")
	}
	sh.Arrived(next)
	if passed, _ := offer("z9hG4bK-age5", ""); !passed {
		t.Error("a new INVITE was refused after the backlog was gone")
	}
	if n := sh.count.Load(); n != 1 {
		t.Errorf("refused %d INVITEs, want 1", n)
	}
}

// shedderOnSocket is a UDP guard with a Shedder for limit on a loopback
// socket, and a peer socket to send from; both close with the test.
func shedderOnSocket(t *testing.T, limit time.Duration) (conn *net.UDPConn, sh *Shedder, g *Conn, peer *net.UDPConn) {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	conn, peer = listen(), listen()
	sh, err := NewShedder(conn, limit, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g = &Conn{PacketConn: conn, log: slog.New(slog.DiscardHandler), parser: sip.NewParser(), shed: sh}
	return conn, sh, g, peer
}

// hasShedTag reports whether the To header of res carries the Shedder's tag.
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
