package phone

// DTMF beyond diago's RFC 4733 on payload type 101 (LIBRARIES §2.10, §3 row
// 18): SIP INFO digits (application/dtmf-relay, application/dtmf), which
// diago answers 406, and telephone-event on the payload type the peer
// negotiated.

import (
	"strings"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// parseInfoDTMF reads the digit of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5"). Signals 10 and 11
// are * and # as some phones send them.
func parseInfoDTMF(contentType string, body []byte) (rune, bool) {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	var sig string
	switch ct {
	case "application/dtmf-relay":
		for _, line := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '\n' || r == '\r' }) {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
			}
		}
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	switch sig {
	case "10":
		return '*', true
	case "11":
		return '#', true
	}
	if len(sig) != 1 || !strings.ContainsRune("0123456789*#ABCDabcd", rune(sig[0])) {
		return 0, false
	}
	return []rune(strings.ToUpper(sig))[0], true
}

// handleInfo answers an in-dialog INFO and reports its digit. diago answers
// 406 to all of them; we take the DTMF ones (RFC 6086 lets us refuse other
// packages with 469, which we do with 415 for unknown bodies as most
// phones expect).
func (p *Phone) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := p.callFor(req)
	if c == nil || c.state() == CallEnded {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if len(req.Body()) == 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil)) // keep-alive INFO
		return
	}
	d, ok := parseInfoDTMF(ct, req.Body())
	if !ok {
		res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
		res.AppendHeader(sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		_ = tx.Respond(res)
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	p.emit(DTMFReceived{CallID: c.id, Digit: d})
}

// dtmfDecoder turns RFC 4733 telephone-event packets on a payload type
// diago does not know into digits: one digit per event, reported at its
// first end packet (the end packet is sent three times).
type dtmfDecoder struct {
	lastTS  uint32
	haveEnd bool
}

// packet handles one telephone-event payload with RTP timestamp ts and
// returns the digit when an event ends.
func (d *dtmfDecoder) packet(ts uint32, payload []byte) (rune, bool) {
	var ev media.DTMFEvent
	if err := media.DTMFDecode(payload, &ev); err != nil {
		return 0, false
	}
	if !ev.EndOfEvent {
		return 0, false
	}
	if d.haveEnd && d.lastTS == ts {
		return 0, false // retransmitted end packet
	}
	d.lastTS, d.haveEnd = ts, true
	return media.DTMFToRune(ev.Event), true
}

// writeDTMF sends one digit as RFC 4733 events on payload type pt, as
// diago's DTMFWriter does on 101 (seven packets at 20 ms, the last three
// marking the end), through the call's packet writer. Only the writer
// goroutine calls it.
func writeDTMF(w *media.RTPPacketWriter, pt uint8, digit rune, tick func() bool) error {
	for i, e := range media.RTPDTMFEncode8000(digit) {
		if !tick() {
			return nil
		}
		if _, err := w.WriteSamples(media.DTMFEncode(e), 0, i == 0, pt); err != nil {
			return err
		}
	}
	return nil
}

// remapTelephoneEvent prepares an offer whose telephone-event is not on
// 101 for diago and arranges for our answer to use the peer's number; the
// call then sends and detects DTMF on it (media.go).
func (p *Phone) remapTelephoneEvent(req *sip.Request, tx *responseHook, clean []byte, info sdpfence.Info) []byte {
	te, ok := info.PayloadType("telephone-event", 8000)
	if !ok || te == 101 {
		return clean
	}
	for _, pl := range info.Payloads {
		if pl.PT == 101 {
			return clean // 101 is taken by something else: leave it
		}
	}
	prev := tx.fix
	id := callIDOf(req)
	tx.fix = func(res *sip.Response) {
		if prev != nil {
			prev(res)
		}
		if res.StatusCode < 200 || res.StatusCode >= 300 || len(res.Body()) == 0 {
			return
		}
		res.SetBody(sdpfence.RemapPT(res.Body(), 101, te))
		p.mu.Lock()
		c := p.bySIP[id]
		p.mu.Unlock()
		if c != nil {
			c.mu.Lock()
			c.mc.tePT = te
			c.mu.Unlock()
		}
	}
	return sdpfence.RemapPT(clean, te, 101)
}
