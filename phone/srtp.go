package phone

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"
)

// SDES-SRTP (RFC 4568) on pion/srtp, under diago v0.31.0 (docs/srtp.md).
//
// diago's own SDES loses its keys on the first re-INVITE (MediaSession.Fork
// copies no SRTP state: LIBRARIES §3 row 6). Instead, a call with SRTP gets
// a media session built on our own RTP and RTCP sockets (srtpConn): they
// encrypt on WriteTo and decrypt on ReadFrom, and Fork keeps them, so hold,
// resume and every other re-INVITE keep the keys. diago, the media pump and
// the relay see plain RTP.

// srtpKeys are one call's SRTP contexts: tx encrypts with our key, rx
// decrypts with the peer's. Shared by the call's RTP and RTCP sockets.
type srtpKeys struct {
	mu     sync.Mutex
	tx, rx *srtp.Context
	txKey  []byte
	rxKey  []byte
	// block drops what we would send in clear while no key is set
	// (mandatory SRTP before the answer).
	block bool
}

// set installs our key and the peer's. A key that did not change keeps its
// context (rollover counter and replay window, RFC 3711 §3.3.1).
func (k *srtpKeys) set(local, remote sdesCrypto) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tx == nil || !slices.Equal(k.txKey, local.key) {
		ctx, err := newSRTPContext(local)
		if err != nil {
			return err
		}
		k.tx, k.txKey = ctx, slices.Clone(local.key)
	}
	if k.rx == nil || !slices.Equal(k.rxKey, remote.key) {
		ctx, err := newSRTPContext(remote)
		if err != nil {
			return err
		}
		k.rx, k.rxKey = ctx, slices.Clone(remote.key)
	}
	return nil
}

// clear turns encryption off (optional SRTP the peer declined).
func (k *srtpKeys) clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tx, k.rx, k.txKey, k.rxKey, k.block = nil, nil, nil, nil, false
}

func newSRTPContext(c sdesCrypto) (*srtp.Context, error) {
	kl, err := c.suite.profile.KeyLen()
	if err != nil {
		return nil, err
	}
	return srtp.CreateContext(c.key[:kl], c.key[kl:], c.suite.profile, srtp.SRTPReplayProtection(256))
}

// srtpConn is an RTP or RTCP socket that speaks SRTP / SRTCP on the wire.
type srtpConn struct {
	net.PacketConn
	k    *srtpKeys
	rtcp bool
	wmu  sync.Mutex
	wbuf []byte
}

// ReadFrom returns the next packet that decrypts and authenticates; others
// (clear RTP in an SRTP call, forged or replayed packets) are dropped.
func (c *srtpConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		c.k.mu.Lock()
		rx := c.k.rx
		if rx == nil {
			c.k.mu.Unlock()
			return n, addr, nil
		}
		var out []byte
		if c.rtcp {
			out, err = rx.DecryptRTCP(p[:0], p[:n], nil)
		} else {
			out, err = rx.DecryptRTP(p[:0], p[:n], nil)
		}
		c.k.mu.Unlock()
		if err != nil {
			continue
		}
		return copy(p, out), addr, nil
	}
}

// WriteTo encrypts b with our key and sends it; it reports len(b) written
// (diago compares it with what it asked for).
func (c *srtpConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.k.mu.Lock()
	tx, block := c.k.tx, c.k.block
	if tx == nil {
		c.k.mu.Unlock()
		if block {
			return len(b), nil
		}
		return c.PacketConn.WriteTo(b, addr)
	}
	var out []byte
	var err error
	if c.rtcp {
		out, err = tx.EncryptRTCP(c.wbuf[:0], b, nil)
	} else {
		out, err = tx.EncryptRTP(c.wbuf[:0], b, nil)
	}
	c.k.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("srtp encrypt: %w", err)
	}
	c.wbuf = out[:0]
	if _, err := c.PacketConn.WriteTo(out, addr); err != nil {
		return 0, err
	}
	return len(b), nil
}

// callSRTP is one call's SDES state. Guarded by mu.
type callSRTP struct {
	mu      sync.Mutex
	mode    SRTPMode
	keys    *srtpKeys
	offered []sdesCrypto // our initial offer (outgoing calls)
	local   sdesCrypto   // our key in use
	remote  sdesCrypto   // the peer's key in use
	proto   string       // transport in our SDP: RTP/SAVP or RTP/AVP
	active  bool         // SRTP negotiated
	failed  bool         // mandatory SRTP and the answer had none
	// swallow drops the 183 ProgressMediaOptions sends (incoming calls).
	swallow bool
	// retry counts the 488s to our optional SDES offers (srtpFallback):
	// 0 the first offer (RTP/AVP with a=crypto, what clear peers ignore),
	// 1 the retry as RTP/SAVP (for peers that take SRTP only in its own
	// profile), 2 the last retry, in clear.
	retry int
}

// Suite is the negotiated crypto-suite, "" when media is in clear.
func (s *callSRTP) suite() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active {
		return ""
	}
	return s.local.suite.name
}

func newSDESKey(tag int, suite sdesSuite) (sdesCrypto, error) {
	key := make([]byte, sdesKeyLen(suite))
	if _, err := rand.Read(key); err != nil {
		return sdesCrypto{}, err
	}
	return sdesCrypto{tag: tag, suite: suite, key: key}, nil
}

// srtpMediaSession builds a media session on SRTP sockets for diago
// (DialogMedia.InitMediaSession: LIBRARIES §2.16d).
func (p *Phone) srtpMediaSession(k *srtpKeys) (*media.MediaSession, error) {
	ip := net.ParseIP(p.host)
	if ip == nil || ip.IsUnspecified() {
		var err error
		ip, _, err = sip.ResolveInterfacesIP("ip4", nil)
		if err != nil {
			return nil, err
		}
	}
	var rtpC, rtcpC *net.UDPConn
	var err error
	for range 10 {
		rtpC, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, err
		}
		port := rtpC.LocalAddr().(*net.UDPAddr).Port
		rtcpC, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err == nil {
			break
		}
		_ = rtpC.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("rtp ports: %w", err)
	}
	ms := &media.MediaSession{}
	ms.InitWithListeners(
		&srtpConn{PacketConn: rtpC, k: k, wbuf: make([]byte, 0, media.RTPBufSize)},
		&srtpConn{PacketConn: rtcpC, k: k, rtcp: true, wbuf: make([]byte, 0, media.RTPBufSize)},
		&net.UDPAddr{},
	)
	// InitWithListeners takes the RTCP socket's port as the local address.
	ms.Laddr = *rtpC.LocalAddr().(*net.UDPAddr)
	ms.Codecs = slices.Clone(p.codecs)
	ms.Mode = sdp.ModeSendrecv
	return ms, nil
}

// srtpDial prepares an outgoing call for SRTP: its media session on SRTP
// sockets and the keys of our offer.
func (p *Phone) srtpDial(c *call, d *diago.DialogClientSession) error {
	mode := p.cfg.SRTP
	if mode == SRTPOff {
		return nil
	}
	retry := 0
	if prev := c.srtpState(); prev != nil {
		retry = prev.retries()
	}
	if retry >= 2 {
		c.mu.Lock()
		c.srtp = nil // the last retry after 488s to our optional offers: in clear
		c.mu.Unlock()
		return nil
	}
	s := &callSRTP{mode: mode, keys: &srtpKeys{block: mode == SRTPMandatory}, proto: "RTP/AVP", retry: retry}
	if mode == SRTPMandatory || retry == 1 {
		s.proto = "RTP/SAVP"
	}
	for i, suite := range sdesSuites {
		cr, err := newSDESKey(i+1, suite)
		if err != nil {
			return err
		}
		s.offered = append(s.offered, cr)
	}
	ms, err := p.srtpMediaSession(s.keys)
	if err != nil {
		return err
	}
	d.InitMediaSession(ms, nil, nil)
	c.mu.Lock()
	c.srtp = s
	c.mu.Unlock()
	return nil
}

// srtpOffer adds our a=crypto lines to an INVITE we send (request hook).
func (p *Phone) srtpOffer(req *sip.Request) {
	if !req.IsInvite() || len(req.Body()) == 0 {
		return
	}
	c := p.callFor(req)
	s := c.srtpState()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !isReInvite(req) {
		req.SetBody(addSDES(req.Body(), s.proto, s.offered))
		return
	}
	if s.active {
		// RFC 4568 §6.1: a re-offer may keep the key; we do, with the
		// tag and suite in use.
		req.SetBody(addSDES(req.Body(), s.proto, []sdesCrypto{s.local}))
	}
}

// srtpAnswerReceived reads the peer's answer to our INVITE or re-INVITE:
// its key, then the SDP without crypto for diago.
func (p *Phone) srtpAnswerReceived(c *call, res *sip.Response) {
	s := c.srtpState()
	if s == nil || len(res.Body()) == 0 || res.StatusCode < 180 || res.StatusCode >= 300 {
		return
	}
	o := parseSDES(res.Body())
	res.SetBody(stripSDES(res.Body()))
	s.mu.Lock()
	defer s.mu.Unlock()
	offered := s.offered
	if s.active {
		offered = []sdesCrypto{s.local}
	}
	for _, rc := range o.cryptos {
		for _, lc := range offered {
			if rc.tag == lc.tag && rc.suite == lc.suite {
				if err := s.keys.set(lc, rc); err != nil {
					p.log.Warn("srtp keys", "call_id", c.id, "err", err)
					continue
				}
				s.local, s.remote, s.active = lc, rc, true
				return
			}
		}
	}
	if res.StatusCode < 200 {
		return // early media without crypto: wait for the answer
	}
	if s.mode == SRTPMandatory {
		s.failed = true
		return
	}
	s.active = false
	s.keys.clear()
}

// srtpFallback reports whether a 488 to our INVITE should be retried with
// the next optional offer: optional SRTP that was offered and never
// negotiated. The first offer is RTP/AVP with a=crypto (best effort, what
// clear peers ignore); some peers take SDES only as RTP/SAVP (baresip's
// srtp-mand, SRTP-only trunks), some refuse a=crypto in RTP/AVP (PBXs):
// the retries go as RTP/SAVP, then in clear, each on a new dialog.
func (c *call) srtpFallback() bool {
	s := c.srtpState()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != SRTPOptional || s.active || s.retry >= 2 {
		return false
	}
	s.retry++
	return true
}

func (s *callSRTP) retries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retry
}

// srtpFailedAnswer reports whether the answer lacked the SRTP we require.
func (c *call) srtpFailedAnswer() bool {
	s := c.srtpState()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// srtpState is the call's SDES state, nil for a call without SRTP.
func (c *call) srtpState() *callSRTP {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srtp
}

// pendingSDES is an incoming INVITE's usable crypto line, kept from the
// middleware until the call's goroutine answers.
type pendingSDES struct {
	remote sdesCrypto
	proto  string
}

// srtpIncoming reads the SDES of an offer we received and strips it for
// diago. ok false: refuse with 488 (RFC 4568 §7.1.2 / RFC 3264 §6).
func (p *Phone) srtpIncoming(req *sip.Request, initial bool) (ok bool, why string) {
	body := req.Body()
	if len(body) == 0 {
		return true, ""
	}
	o := parseSDES(body)
	if !initial {
		return p.srtpReOffer(req, o)
	}
	mode := p.cfg.SRTP
	if mode == SRTPOff {
		return true, "" // unchanged: diago ignores crypto in RTP/AVP and refuses RTP/SAVP
	}
	if len(o.cryptos) == 0 {
		if mode == SRTPMandatory {
			return false, "SRTP required, offer has no usable a=crypto"
		}
		if strings.Contains(o.proto, "SAVP") {
			return false, "RTP/SAVP offer without a usable a=crypto"
		}
		return true, ""
	}
	p.srtpPending.Store(callIDOf(req), pendingSDES{remote: o.cryptos[0], proto: o.proto})
	req.SetBody(stripSDES(body))
	return true, ""
}

// srtpReOffer handles a re-INVITE's SDES on a call that has SRTP.
func (p *Phone) srtpReOffer(req *sip.Request, o sdesOffer) (bool, string) {
	s := p.callFor(req).srtpState()
	if s == nil {
		return true, ""
	}
	if ok, why := s.reOffer(o); !ok {
		return false, why
	}
	req.SetBody(stripSDES(req.Body()))
	return true, ""
}

// srtpUpdate handles the SDES of an offer in an UPDATE (update.go): it
// returns the offer for diago and a function that puts our key into the
// answer; ok false: refuse with 488.
func (c *call) srtpUpdate(offer []byte) (clean []byte, answer func([]byte) []byte, ok bool, why string) {
	s := c.srtpState()
	same := func(b []byte) []byte { return b }
	if s == nil {
		return offer, same, true, ""
	}
	if ok, why := s.reOffer(parseSDES(offer)); !ok {
		return nil, nil, false, why
	}
	return stripSDES(offer), func(b []byte) []byte {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.active || len(b) == 0 {
			return b
		}
		return addSDES(b, s.proto, []sdesCrypto{s.local})
	}, true, ""
}

// reOffer applies the SDES of a new offer from the peer (re-INVITE,
// UPDATE) to a call that has SRTP: the peer's key (renewed or kept), the
// tag our answer must carry.
func (s *callSRTP) reOffer(o sdesOffer) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active {
		return true, ""
	}
	var pick *sdesCrypto
	for i, rc := range o.cryptos {
		if rc.suite == s.local.suite && (pick == nil || rc.tag == s.remote.tag) {
			pick = &o.cryptos[i]
		}
	}
	if pick == nil {
		if s.mode == SRTPMandatory || strings.Contains(o.proto, "SAVP") {
			return false, "re-offer without the SRTP in use"
		}
		s.active = false
		s.keys.clear()
		return true, ""
	}
	local := s.local
	local.tag = pick.tag
	if err := s.keys.set(local, *pick); err != nil {
		return false, "srtp: " + err.Error()
	}
	s.local, s.remote = local, *pick
	if o.proto != "" {
		s.proto = o.proto
	}
	return true, ""
}

// srtpAnswerIncoming prepares the answer to an incoming SDES offer: keys,
// a media session on SRTP sockets, its RTP session (through
// ProgressMediaOptions, whose 183 srtpRespond swallows). It does nothing
// for a call without SDES.
func (p *Phone) srtpAnswerIncoming(c *call, d *diago.DialogServerSession) error {
	v, ok := p.srtpPending.LoadAndDelete(c.sipCallID)
	if !ok {
		return nil
	}
	pend := v.(pendingSDES)
	local, err := newSDESKey(pend.remote.tag, pend.remote.suite)
	if err != nil {
		return err
	}
	s := &callSRTP{mode: p.cfg.SRTP, keys: &srtpKeys{}, proto: pend.proto, local: local, remote: pend.remote, active: true, swallow: true}
	if err := s.keys.set(local, pend.remote); err != nil {
		return err
	}
	ms, err := p.srtpMediaSession(s.keys)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.srtp = s
	c.mu.Unlock()
	d.InitMediaSession(ms, nil, nil)
	codecs := p.answerCodecs(d.InviteRequest.Body()) // codec.go: Opus on the offerer's payload type
	if codecs == nil {
		codecs = slices.Clone(p.codecs)
	}
	if err := d.ProgressMediaOptions(diago.ProgressMediaOptions{Codecs: codecs}); err != nil {
		return fmt.Errorf("srtp media: %w", err)
	}
	return nil
}

// srtpRespond puts our key into a 2xx we send to an INVITE with SDES, and
// reports true for the 183 it must not send.
func (p *Phone) srtpRespond(req *sip.Request, res *sip.Response) (drop bool) {
	if !req.IsInvite() || len(res.Body()) == 0 {
		return false
	}
	s := p.callFor(req).srtpState()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if res.StatusCode == 183 && s.swallow {
		s.swallow = false
		return true
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 && s.active {
		res.SetBody(addSDES(res.Body(), s.proto, []sdesCrypto{s.local}))
	}
	return false
}

// errSRTPRequired ends an outgoing call whose answer had no SRTP.
var errSRTPRequired = errors.New("phone: peer answered without SRTP (srtp = mandatory)")
