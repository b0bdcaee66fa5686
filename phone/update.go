package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// errNoMedia: an offer arrived on a call whose media is not set up.
var errNoMedia = errors.New("phone: call has no media session")

// handleUpdate answers UPDATE (RFC 3311), which diago does not register
// (sipgo would answer 405). The middleware runs first, so lockOffers holds
// the call's offer lock while it runs.
//   - Without a body (a session refresh): 200 with our Contact.
//   - With an SDP offer: negotiated like a re-INVITE offer (applyOffer) and
//     answered in the 200; 491 while our own offer is pending (RFC 3311
//     §5.2), 488 when the offer cannot be applied.
//   - Session-Expires (RFC 4028) is answered (sessionTimer).
//
// Unknown dialogs get 481.
func (p *Phone) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := p.callFor(req)
	if c == nil || c.state() == CallEnded {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	rtx, ok := tx.(*responseHook)
	if !ok {
		rtx = &responseHook{ServerTransaction: tx}
	}
	if !p.sessionTimer(req, rtx) {
		return
	}
	var answer []byte
	if len(req.Body()) > 0 {
		if !p.answerGlare(c, req, rtx) {
			return
		}
		if ct := req.ContentType(); ct != nil && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct.Value())), "application/sdp") {
			res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
			res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
			_ = rtx.Respond(res)
			return
		}
		clean, info, removed, err := sdpfence.FenceIncoming(req.Body())
		withKey := func(b []byte) []byte { return b }
		if err == nil {
			clean = p.remapTelephoneEvent(req, rtx, clean, info)
			var ok bool
			var why string
			if clean, withKey, ok, why = c.srtpUpdate(clean); !ok { // srtp.go
				err = errors.New(why)
			}
		}
		if err == nil {
			answer, err = p.applyOffer(c, clean)
			answer = withKey(answer)
		}
		if err != nil {
			p.log.Info("update offer refused", "call_id", c.id, "err", err)
			res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
			res.AppendHeader(sip.NewHeader("Warning", `399 anyphone "offer not usable"`))
			_ = rtx.Respond(res)
			return
		}
		answer = sdpfence.AddRejectedMedia(answer, removed)
		answer = p.keepOrigin(c.sipCallID, sdpfence.FixOrigin(answer))
		p.applyRemoteSDP(c, clean)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.Name, Host: p.host, Port: p.port}})
	if answer != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	_ = rtx.Respond(res)
}

// applyOffer negotiates an SDP offer that came outside a re-INVITE (UPDATE)
// on the call's live media, and returns our answer. diago applies offers
// only inside its re-INVITE handler (DialogMedia.handleMediaUpdate is
// unexported), so this repeats its steps through the public API: fork the
// media session, apply the offer to the fork, fork the RTP session onto it
// and point the dialog's RTP reader and writer (which our media pump reads
// and writes) at it.
//
// Limits, all without effect on the audio: the dialog's own MediaSession()
// stays the pre-UPDATE one (diago has no setter that does not also rewrite
// the reader and writer fields the pump reads); it only serves as the
// template diago forks for the next re-INVITE, and a fork copies neither
// the remote address nor the negotiated direction. RTCP reports keep going
// to the old address until the next re-INVITE restarts the monitor, and
// the remote target (Contact) of an UPDATE is not taken over.
func (p *Phone) applyOffer(c *call, offer []byte) ([]byte, error) {
	c.mu.Lock()
	dlg := c.dialog
	c.mu.Unlock()
	if dlg == nil {
		return nil, errNoMedia
	}
	dm := dlg.Media()
	cur, old := dm.MediaSession(), dm.RTPSession()
	if cur == nil || old == nil || dm.RTPPacketReader == nil || dm.RTPPacketWriter == nil {
		return nil, errNoMedia
	}
	ms := cur.Fork()
	if err := ms.RemoteSDP(offer); err != nil {
		return nil, fmt.Errorf("apply offer: %w", err)
	}
	answer := ms.LocalSDP()
	rs := old.Fork(ms)
	dm.RTPPacketReader.UpdateRTPSession(rs)
	dm.RTPPacketWriter.UpdateRTPSession(rs)
	p.onMediaUpdate(c, dm)
	return answer, nil
}

// minSE is the smallest session interval we accept (RFC 4028 §5: 90 s).
const minSE = 90

// sessionTimer answers RFC 4028 session timers in an INVITE or UPDATE: a
// Session-Expires below Min-SE gets 422; otherwise every 2xx to the request
// carries the interval back with refresher=uac (the peer refreshes; we
// never send refreshes ourselves) and Require: timer when the peer
// supports timers (§9). It returns false when it answered the request.
func (p *Phone) sessionTimer(req *sip.Request, tx *responseHook) bool {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x") // RFC 4028 compact form
	}
	if h == nil {
		return true
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs <= 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request - Session-Expires", nil))
		return false
	}
	if secs < minSE {
		res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(minSE)))
		_ = tx.Respond(res)
		return false
	}
	supported := false
	for _, s := range req.GetHeaders("Supported") {
		for opt := range strings.SplitSeq(s.Value(), ",") {
			supported = supported || strings.EqualFold(strings.TrimSpace(opt), "timer")
		}
	}
	prev := tx.fix
	tx.fix = func(res *sip.Response) {
		if prev != nil {
			prev(res)
		}
		if res.StatusCode < 200 || res.StatusCode >= 300 || res.GetHeader("Session-Expires") != nil {
			return
		}
		res.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(secs)+";refresher=uac"))
		if supported {
			res.AppendHeader(sip.NewHeader("Require", "timer"))
		}
	}
	return true
}
