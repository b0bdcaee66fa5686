package phone_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// sipPeer is a scripted SIP user agent on 127.0.0.1 for mid-call tests: it
// calls a phone or answers a phone's call, sends in-dialog INVITE and UPDATE
// offers, answers the phone's re-INVITEs by a policy, counts the RTP the
// phone sends it and sends its own (PCMU silence every 20 ms).
type sipPeer struct {
	t    *testing.T
	cli  *sipgo.Client
	addr *net.UDPAddr

	rtp     [2]*net.UDPConn // two sockets: an offer can move the media
	rtpIn   [2]atomic.Int64 // packets received on each
	sendRTP atomic.Bool

	mu sync.Mutex
	// reinvite answers the phone's n-th (from 0) in-dialog INVITE: a
	// status code and, for 2xx, the direction of our answer.
	reinvite func(n int) (int, string)
	// beforeAck, if set, runs between the 2xx to one of our INVITEs and
	// our ACK (request).
	beforeAck func()
	got       []peerRequest // in-dialog INVITEs and ACKs from the phone
	changed   chan struct{} // closed when got grows (waitRequests)
	// the dialog, as we send requests in it
	callID   string
	from     *sip.FromHeader
	to       *sip.ToHeader
	target   sip.Uri
	cseq     uint32
	phoneRTP *net.UDPAddr
}

type peerRequest struct {
	method sip.RequestMethod
	cseq   uint32
	at     time.Time
}

func newSIPPeer(t *testing.T) *sipPeer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("peer"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &sipPeer{t: t, addr: conn.LocalAddr().(*net.UDPAddr)}
	// The RTP sockets exist before the first SIP request can arrive.
	var wg sync.WaitGroup
	for i := range p.rtp {
		if p.rtp[i], err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			buf := make([]byte, 1500)
			for {
				if _, err := p.rtp[i].Read(buf); err != nil {
					return
				}
				p.rtpIn[i].Add(1)
			}
		})
	}

	p.reinvite = func(int) (int, string) { return 200, "sendrecv" }
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { p.record(req) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	wg.Go(func() { _ = srv.ServeUDP(conn) })
	for ua.TransportLayer().Pool("udp").Size() == 0 {
		time.Sleep(time.Millisecond)
	}
	p.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wg.Go(func() { p.sendLoop(stop) })
	t.Cleanup(func() {
		close(stop)
		_ = conn.Close()
		for _, r := range p.rtp {
			_ = r.Close()
		}
		_ = ua.Close()
		wg.Wait()
	})
	return p
}

// sendLoop sends PCMU silence to the phone every 20 ms while sendRTP is set.
func (p *sipPeer) sendLoop(stop chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xff
	}
	var seq uint16
	var ts uint32
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		dst := p.phoneRTP
		p.mu.Unlock()
		if dst == nil || !p.sendRTP.Load() {
			continue
		}
		seq++
		ts += 160
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		_, _ = p.rtp[0].WriteToUDP(pkt, dst)
	}
}

// sdp is our offer or answer with the media on socket i and direction dir.
func (p *sipPeer) sdp(i int, dir string) []byte {
	port := p.rtp[i].LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=peer 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n",
		time.Now().UnixNano()%1e6, port, dir))
}

var (
	sdpConn  = regexp.MustCompile(`(?m)^c=IN IP4 (\S+)`)
	sdpAudio = regexp.MustCompile(`(?m)^m=audio (\d+)`)
	sdpDir   = regexp.MustCompile(`(?m)^a=(sendrecv|sendonly|recvonly|inactive)\s*$`)
)

// direction is the media direction of an SDP body ("sendrecv" if none).
func direction(body []byte) string {
	if m := sdpDir.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return "sendrecv"
}

func (p *sipPeer) learnPhoneRTP(body []byte) {
	c, m := sdpConn.FindSubmatch(body), sdpAudio.FindSubmatch(body)
	if c == nil || m == nil {
		p.t.Errorf("phone SDP without c= or m=audio:\n%s", body)
		return
	}
	port, _ := strconv.Atoi(string(m[1]))
	p.mu.Lock()
	p.phoneRTP = &net.UDPAddr{IP: net.ParseIP(string(c[1])), Port: port}
	p.mu.Unlock()
}

func (p *sipPeer) record(req *sip.Request) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.got {
		if r.method == req.Method {
			n++
		}
	}
	p.got = append(p.got, peerRequest{method: req.Method, cseq: req.CSeq().SeqNo, at: time.Now()})
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	return n
}

func (p *sipPeer) requests(m sip.RequestMethod) []peerRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requestsLocked(m)
}

func (p *sipPeer) requestsLocked(m sip.RequestMethod) []peerRequest {
	var out []peerRequest
	for _, r := range p.got {
		if r.method == m {
			out = append(out, r)
		}
	}
	return out
}

// waitRequests waits until the requests of method m received so far
// satisfy ok, or d passes, and returns them.
func (p *sipPeer) waitRequests(m sip.RequestMethod, d time.Duration, ok func([]peerRequest) bool) []peerRequest {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		reqs := p.requestsLocked(m)
		if ok(reqs) {
			p.mu.Unlock()
			return reqs
		}
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return p.requests(m)
		}
	}
}

func (p *sipPeer) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "peer", Host: "127.0.0.1", Port: p.addr.Port}}
}

func (p *sipPeer) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To().Params.Has("tag") {
		n := p.record(req)
		p.mu.Lock()
		code, dir := p.reinvite(n)
		p.mu.Unlock()
		if code != 200 {
			_ = tx.Respond(sip.NewResponseFromRequest(req, code, "Request Pending", nil))
			return
		}
		p.learnPhoneRTP(req.Body())
		res := sip.NewResponseFromRequest(req, 200, "OK", p.sdp(0, dir))
		res.AppendHeader(p.contact())
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		_ = tx.Respond(res)
		return
	}
	// The phone calls us: answer at once.
	p.learnPhoneRTP(req.Body())
	res := sip.NewResponseFromRequest(req, 200, "OK", p.sdp(0, "sendrecv"))
	res.To().Params.Add("tag", sip.GenerateTagN(10))
	res.AppendHeader(p.contact())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	p.mu.Lock()
	p.callID = req.CallID().Value()
	from := res.To().AsFrom()
	to := req.From().AsTo()
	p.from, p.to = &from, &to
	p.target = req.Contact().Address
	p.cseq = 1
	p.mu.Unlock()
	_ = tx.Respond(res)
}

// uri is where the phone reaches us.
func (p *sipPeer) uri() string { return fmt.Sprintf("sip:peer@127.0.0.1:%d", p.addr.Port) }

// call calls ph, has it answered and ACKs; it returns the phone's call.
func (p *sipPeer) call(ph *phonetest.Phone) phone.CallInfo {
	p.t.Helper()
	var target sip.Uri
	if err := sip.ParseUri(ph.URI(), &target); err != nil {
		p.t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "peer", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: target, Params: sip.NewParams()})
	req.AppendHeader(p.contact())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(p.sdp(0, "sendrecv"))
	req.SetDestination(ph.Addr())
	ctx, cancel := context.WithTimeout(p.t.Context(), 10*time.Second)
	defer cancel()
	tx, err := p.cli.TransactionRequest(ctx, req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer tx.Terminate()
	in := answerOn(p.t, ph)
	res := p.final(ctx, tx)
	if res.StatusCode != 200 {
		p.t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
	}
	p.mu.Lock()
	p.callID = req.CallID().Value()
	p.from, p.to = from, res.To()
	p.target = res.Contact().Address
	p.cseq = req.CSeq().SeqNo
	p.mu.Unlock()
	p.learnPhoneRTP(res.Body())
	p.ack(req, res)
	ph.Events.WaitState(p.t, in.ID, phone.CallActive)
	return in
}

func (p *sipPeer) final(ctx context.Context, tx sip.ClientTransaction) *sip.Response {
	p.t.Helper()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res
			}
		case <-tx.Done():
			p.t.Fatalf("transaction ended without a final response: %v", tx.Err())
		case <-ctx.Done():
			p.t.Fatal("no final response")
		}
	}
}

// ack acknowledges a 2xx to INVITE req (RFC 3261 §13.2.2.4).
func (p *sipPeer) ack(req *sip.Request, res *sip.Response) {
	p.t.Helper()
	ack := sip.NewRequest(sip.ACK, res.Contact().Address)
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.SetDestination(req.Destination())
	if err := p.cli.WriteRequest(ack); err != nil {
		p.t.Fatalf("ack: %v", err)
	}
}

// request sends an in-dialog request with an optional SDP body and returns
// the final response; a 2xx to INVITE is ACKed.
func (p *sipPeer) request(m sip.RequestMethod, body []byte, hdrs ...sip.Header) *sip.Response {
	p.t.Helper()
	p.mu.Lock()
	p.cseq++
	req := sip.NewRequest(m, p.target)
	req.AppendHeader(sip.HeaderClone(p.from))
	req.AppendHeader(sip.HeaderClone(p.to))
	callID := sip.CallIDHeader(p.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq, MethodName: m})
	p.mu.Unlock()
	req.AppendHeader(p.contact())
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	if body != nil && req.ContentType() == nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(p.t.Context(), 10*time.Second)
	defer cancel()
	tx, err := p.cli.TransactionRequest(ctx, req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer tx.Terminate()
	res := p.final(ctx, tx)
	if m == sip.INVITE && res.StatusCode < 300 {
		if p.beforeAck != nil {
			p.beforeAck()
		}
		p.ack(req, res)
	}
	return res
}

// received counts packets the phone sent to socket i during d. The sleep
// is the measurement window, not a wait.
func (p *sipPeer) received(i int, d time.Duration) int64 {
	before := p.rtpIn[i].Load()
	time.Sleep(d)
	return p.rtpIn[i].Load() - before
}

// hangup ends call id of ph while the peer still answers the BYE.
func hangup(t *testing.T, ph *phonetest.Phone, id phone.CallID) {
	t.Helper()
	if err := ph.Hangup(id); err != nil {
		t.Errorf("hangup %s: %v", id, err)
		return
	}
	ph.Events.WaitState(t, id, phone.CallEnded)
}

// heard counts the samples call id of ph decoded during d. The sleep is
// the measurement window, not a wait.
func heard(ph *phonetest.Phone, id phone.CallID, d time.Duration) int {
	det := ph.Media.Detector(id)
	before := det.Total()
	time.Sleep(d)
	return det.Total() - before
}

func TestRemoteHoldDirections(t *testing.T) {
	const window = 600 * time.Millisecond
	for _, tc := range []struct {
		name       string
		offer      string // the peer's re-INVITE direction
		answer     string // ours, RFC 3264 §6.1
		peerSends  bool   // the offer lets the peer send
		weSend     bool   // our RTP keeps flowing
		remoteHold bool
	}{
		// RFC 3264 §8.4: a recvonly offer holds us the other way round:
		// we keep sending, the peer stops.
		{name: "recvonly", offer: "recvonly", answer: "sendonly", peerSends: false, weSend: true, remoteHold: true},
		{name: "sendonly", offer: "sendonly", answer: "recvonly", peerSends: true, weSend: false, remoteHold: true},
		{name: "inactive", offer: "inactive", answer: "inactive", peerSends: false, weSend: false, remoteHold: true},
		{name: "sendrecv", offer: "sendrecv", answer: "sendrecv", peerSends: true, weSend: true, remoteHold: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in phone.CallInfo
			b := phonetest.NewPhone(t, 440, &phone.Config{Name: "bob"})
			peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
			defer func() { hangup(t, b, in.ID) }()
			peer.sendRTP.Store(true)
			in = peer.call(b)
			if n := peer.received(0, window); n == 0 {
				t.Fatalf("%s: no RTP from the phone before the re-INVITE", tc.name)
			}

			res := peer.request(sip.INVITE, peer.sdp(0, tc.offer))
			if res.StatusCode != 200 {
				t.Fatalf("%s: re-INVITE answered %d %s", tc.name, res.StatusCode, res.Reason)
			}
			if got := direction(res.Body()); got != tc.answer {
				t.Errorf("%s: answer direction %s, want %s", tc.name, got, tc.answer)
			}
			peer.sendRTP.Store(tc.peerSends)
			ci := b.Events.WaitCall(t, 5*time.Second, "hold view", func(ci phone.CallInfo) bool {
				return ci.ID == in.ID && ci.RemoteHold == tc.remoteHold
			})
			if ci.LocalHold {
				t.Errorf("%s: LocalHold set by the peer's offer", tc.name)
			}
			// Not a wait: packets sent before the answer may still be in
			// flight, and no event marks the last one.
			time.Sleep(100 * time.Millisecond)
			if n := peer.received(0, window); (n > 0) != tc.weSend {
				t.Errorf("%s: peer received %d packets in %s, want RTP=%v", tc.name, n, window, tc.weSend)
			}
			if n := heard(b, in.ID, window); (n > 0) != tc.peerSends {
				t.Errorf("%s: phone decoded %d samples in %s, want audio=%v", tc.name, n, window, tc.peerSends)
			}

			res = peer.request(sip.INVITE, peer.sdp(0, "sendrecv"))
			if res.StatusCode != 200 || direction(res.Body()) != "sendrecv" {
				t.Fatalf("%s: resume answered %d %s", tc.name, res.StatusCode, direction(res.Body()))
			}
			peer.sendRTP.Store(true)
			b.Events.WaitCall(t, 5*time.Second, "resumed", func(ci phone.CallInfo) bool { return ci.ID == in.ID && !ci.RemoteHold })
			time.Sleep(100 * time.Millisecond) // drain, as above
			if n := peer.received(0, window); n == 0 {
				t.Errorf("%s: no RTP from the phone after resume", tc.name)
			}
			if n := heard(b, in.ID, window); n == 0 {
				t.Errorf("%s: phone decodes nothing after resume", tc.name)
			}
		})
	}
}

// TestUpdateOffer: an UPDATE with SDP (RFC 3311) is negotiated like a
// re-INVITE offer: held, resumed, and moved to a new RTP address.
func TestUpdateOffer(t *testing.T) {
	const window = 600 * time.Millisecond
	b := phonetest.NewPhone(t, 440, &phone.Config{Name: "bob"})
	peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
	peer.sendRTP.Store(true)
	in := peer.call(b)
	defer hangup(t, b, in.ID)
	if n := peer.received(0, window); n == 0 {
		t.Fatal("no RTP from the phone before the UPDATE")
	}
	for _, s := range []struct {
		name       string
		socket     int // where the offer wants our RTP
		offer      string
		answer     string
		remoteHold bool
		weSend     bool
	}{
		{name: "hold sendonly", socket: 0, offer: "sendonly", answer: "recvonly", remoteHold: true, weSend: false},
		{name: "resume", socket: 0, offer: "sendrecv", answer: "sendrecv", remoteHold: false, weSend: true},
		{name: "move media", socket: 1, offer: "sendrecv", answer: "sendrecv", remoteHold: false, weSend: true},
	} {
		res := peer.request(sip.UPDATE, peer.sdp(s.socket, s.offer))
		if res.StatusCode != 200 {
			t.Fatalf("%s: UPDATE answered %d %s", s.name, res.StatusCode, res.Reason)
		}
		if ct := res.ContentType(); ct == nil || !strings.Contains(ct.Value(), "application/sdp") {
			t.Errorf("%s: answer without Content-Type application/sdp", s.name)
		}
		if got := direction(res.Body()); got != s.answer {
			t.Errorf("%s: answer direction %s, want %s\n%s", s.name, got, s.answer, res.Body())
		}
		b.Events.WaitCall(t, 5*time.Second, s.name, func(ci phone.CallInfo) bool {
			return ci.ID == in.ID && ci.RemoteHold == s.remoteHold
		})
		// Not a wait: packets sent to the old address or direction
		// before the answer may still be in flight.
		time.Sleep(100 * time.Millisecond)
		if n := peer.received(s.socket, window); (n > 0) != s.weSend {
			t.Errorf("%s: socket %d received %d packets in %s, want RTP=%v", s.name, s.socket, n, window, s.weSend)
		}
		if n := heard(b, in.ID, window); n == 0 {
			t.Errorf("%s: the phone no longer decodes the peer's RTP", s.name)
		}
	}
	if n := peer.received(0, window); n != 0 {
		t.Errorf("after the move, the old socket still gets %d packets", n)
	}
}

func TestUpdateAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   sip.RequestMethod // UPDATE unless set
		body     func(p *sipPeer) []byte
		hdrs     []sip.Header
		code     int
		expires  string // Session-Expires in the answer, "" for none
		require  bool   // Require: timer in the answer
		hasMinSE bool
	}{
		{name: "session refresh", code: 200},
		{name: "session timer", hdrs: []sip.Header{sip.NewHeader("Session-Expires", "1800;refresher=uac"), sip.NewHeader("Supported", "timer")},
			code: 200, expires: "1800;refresher=uac", require: true},
		{name: "session timer, no refresher", hdrs: []sip.Header{sip.NewHeader("Session-Expires", "600")},
			code: 200, expires: "600;refresher=uac"},
		{name: "interval too small", hdrs: []sip.Header{sip.NewHeader("Session-Expires", "30")}, code: 422, hasMinSE: true},
		{name: "offer with timer", body: func(p *sipPeer) []byte { return p.sdp(0, "sendrecv") },
			hdrs: []sip.Header{sip.NewHeader("Session-Expires", "900"), sip.NewHeader("Supported", "timer")},
			code: 200, expires: "900;refresher=uac", require: true},
		{name: "not SDP", body: func(p *sipPeer) []byte { return []byte("hello") },
			hdrs: []sip.Header{sip.NewHeader("Content-Type", "text/plain")}, code: 415},
		// Require: timer itself is still refused with 420 by validate.go.
		{name: "re-INVITE with timer", method: sip.INVITE, body: func(p *sipPeer) []byte { return p.sdp(0, "sendrecv") },
			hdrs: []sip.Header{sip.NewHeader("Session-Expires", "1800;refresher=uac"), sip.NewHeader("Supported", "timer")},
			code: 200, expires: "1800;refresher=uac", require: true},
		{name: "broken SDP", body: func(p *sipPeer) []byte { return []byte("v=0\r\nm=audio x\r\n") }, code: 488},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := phonetest.NewPhone(t, 440, &phone.Config{Name: "bob"})
			peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
			in := peer.call(b)
			defer hangup(t, b, in.ID)
			var body []byte
			if tc.body != nil {
				body = tc.body(peer)
			}
			method := sip.UPDATE
			if tc.method != "" {
				method = tc.method
			}
			res := peer.request(method, body, tc.hdrs...)
			if int(res.StatusCode) != tc.code {
				t.Fatalf("%s: %s answered %d %s, want %d", tc.name, method, res.StatusCode, res.Reason, tc.code)
			}
			got := ""
			if h := res.GetHeader("Session-Expires"); h != nil {
				got = h.Value()
			}
			if got != tc.expires {
				t.Errorf("%s: Session-Expires %q, want %q", tc.name, got, tc.expires)
			}
			if h := res.GetHeader("Require"); (h != nil && strings.Contains(h.Value(), "timer")) != tc.require {
				t.Errorf("%s: Require: timer = %v, want %v", tc.name, h != nil, tc.require)
			}
			if (res.GetHeader("Min-SE") != nil) != tc.hasMinSE {
				t.Errorf("%s: Min-SE present = %v, want %v", tc.name, !tc.hasMinSE, tc.hasMinSE)
			}
			if ci, _ := b.Call(in.ID); ci.State != phone.CallActive {
				t.Errorf("%s: call %s after the UPDATE, want active", tc.name, ci.State)
			}
		})
	}
}
