package phone

import (
	"net"
	"strconv"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sipguard"
)

// answerInvalid answers req when it fails validation and reports whether
// it did; an invalid ACK is dropped without an answer.
func (p *Phone) answerInvalid(req *sip.Request, tx sip.ServerTransaction) bool {
	if !p.sourceAllowed(req.Source()) {
		return false // the ACL answers it (acl.go)
	}
	rej := sipguard.ValidateRequest(req)
	if rej == nil {
		return false
	}
	p.log.Info("invalid request", "method", req.Method.String(), "call_id", callIDOf(req), "peer", req.Source(), "code", rej.Code, "err", rej.Reason)
	if req.IsAck() || !sipguard.UnicastSource(req.Source()) {
		return true
	}
	res := sip.NewResponseFromRequest(req, rej.Code, rej.Reason, nil)
	res.SipVersion = "SIP/2.0" // not the request's, when that was the fault
	for _, h := range rej.Headers {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
	if req.IsInvite() && req.To() != nil && !req.To().Params.Has("tag") {
		// An initial INVITE refused is a refused call (refused.go); in a
		// dialog the call goes on as it was.
		rule, why := RuleInvalidRequest, rej.Reason
		switch rej.Code {
		case 415:
			rule, why = RuleUnsupportedMedia, "body is not SDP"
			if ct := req.ContentType(); ct != nil {
				why = "body is " + clip(ct.Value(), 60) + ", not SDP"
			}
		case 420:
			rule, why = RuleBadExtension, "requires an extension we do not support"
			for _, h := range rej.Headers {
				if h.Name() == "Unsupported" {
					why = "requires " + clip(h.Value(), 60) + ", not supported"
				}
			}
		case 406:
			rule, why = RuleNotAcceptable, "accepts no SDP answer"
			if h := req.GetHeader("Accept"); h != nil {
				why = "accepts only " + clip(h.Value(), 60) + ", no SDP"
			}
		}
		p.refusedInvite(req, rej.Code, rej.Reason, rule, why)
	}
	return true
}

// clip shortens s to at most n bytes, for text a peer chose.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// handleNoRoute answers requests for methods no handler serves. The
// middleware's validation has answered them already (405/501); this is
// the fallback should a method slip through.
func (p *Phone) handleNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", sipguard.Allowed))
	_ = tx.Respond(res)
}

// serve starts serving SIP: UDP through the guard, other transports as
// diago does it.
func (p *Phone) serve(srv *sipgo.Server) error {
	if p.cfg.Transport != "udp" {
		return p.dg.ServeBackground(p.ctx, p.serveIncoming)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(p.host, strconv.Itoa(p.port)))
	if err != nil {
		return err
	}
	if u, ok := pc.(*net.UDPConn); ok {
		// Under load the default receive buffer overflowed (make bench:
		// 52,288 datagrams dropped in 40 s at 1,500 calls/s), and the
		// peer's retransmissions then cut the rate to a third. sipp needs
		// the same (-buff_size 4194304). The kernel caps it at rmem_max.
		_ = u.SetReadBuffer(4 << 20)
	}
	g := sipguard.NewConn(pc, p.sourceAllowed, p.log)
	if u, ok := pc.(*net.UDPConn); ok && p.cfg.OverloadDelay > 0 {
		if sh, err := sipguard.NewShedder(u, p.cfg.OverloadDelay, p.log); err != nil {
			p.log.Warn("load shedding off: no receive timestamps", "err", err)
		} else {
			g.SetShedder(sh)
			p.shedding.Store(sh)
		}
	}
	p.mu.Lock()
	p.guard = g
	p.mu.Unlock()
	p.dg.HandleFunc(p.serveIncoming)
	ctx := p.ctx
	go func() { // owner: the phone; ends when Close cancels p.ctx
		<-ctx.Done()
		_ = pc.Close()
	}()
	go func() { // owner: the phone; sipgo's read loop, ends with pc
		if err := srv.ServeUDP(g); err != nil && ctx.Err() == nil {
			p.log.Error("udp serve", "err", err)
		}
	}()
	return nil
}

// isAlnum reports whether c is an ASCII letter or digit (host name labels,
// RFC 1123 §2.1). The guard's fast path has its own copy in sipguard.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
