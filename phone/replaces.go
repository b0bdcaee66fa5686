package phone

// RFC 3891 Replaces: the header that lets an attended transfer swap a new
// call in for an existing dialog. diago neither builds it, nor matches it on
// incoming INVITEs, and when it acts on a Refer-To carrying ?Replaces= it
// leaves the value in the Request-URI instead of sending the header
// (LIBRARIES §2.8, §3 row 15). This file does all three.

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// replacesInfo is a parsed Replaces header value (RFC 3891 §6.1):
// callid;to-tag=X;from-tag=Y[;early-only]. The tags are from the point of
// view of the UA receiving the INVITE: to-tag is its local tag.
type replacesInfo struct {
	CallID    string
	ToTag     string
	FromTag   string
	EarlyOnly bool
}

func (r replacesInfo) String() string {
	s := r.CallID + ";to-tag=" + r.ToTag + ";from-tag=" + r.FromTag
	if r.EarlyOnly {
		s += ";early-only"
	}
	return s
}

// parseReplaces parses a Replaces header value; the Call-ID and both tags
// are required (RFC 3891 §6.1).
func parseReplaces(v string) (replacesInfo, error) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	r := replacesInfo{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			r.ToTag = strings.TrimSpace(val)
		case "from-tag":
			r.FromTag = strings.TrimSpace(val)
		case "early-only":
			r.EarlyOnly = true
		}
	}
	if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
		return replacesInfo{}, fmt.Errorf("phone: replaces %q: want callid;to-tag=..;from-tag=..", v)
	}
	return r, nil
}

// dialogTags returns a dialog's Call-ID and our and the peer's tags. diago
// keys both kinds of dialog as callID, To tag, From tag of the INVITE
// (sip.DialogIDMake); we are the From side of dialogs we started.
func dialogTags(dlg diago.DialogSession) (callID, local, remote string, err error) {
	parts := strings.Split(dlg.Id(), sip.TxSeperator)
	if len(parts) != 3 {
		return "", "", "", errors.New("phone: dialog has no id yet")
	}
	callID, to, from := parts[0], parts[1], parts[2]
	if _, ok := dlg.(*diago.DialogClientSession); ok {
		return callID, from, to, nil
	}
	return callID, to, from, nil
}

// replacesFor is the Replaces value a third party must send to the peer of
// dlg to replace it: the peer's tag is its local tag, the to-tag.
func replacesFor(dlg diago.DialogSession) (replacesInfo, error) {
	id, local, remote, err := dialogTags(dlg)
	if err != nil {
		return replacesInfo{}, err
	}
	return replacesInfo{CallID: id, ToTag: remote, FromTag: local}, nil
}

// referToWithReplaces builds the Refer-To URI of an attended transfer
// (RFC 3891 §3, RFC 5589 §7): target with an escaped Replaces URI header.
func referToWithReplaces(target sip.Uri, r replacesInfo) string {
	u := sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port, UriParams: target.UriParams}
	if u.Scheme == "" {
		u.Scheme = "sip"
	}
	return "<" + u.String() + "?Replaces=" + escapeURIHeader(r.String()) + ">"
}

// escapeURIHeader escapes a URI header value (RFC 3261 §25.1 hvalue): only
// unreserved characters stay literal.
func escapeURIHeader(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9',
			strings.IndexByte("-_.!~*'()", ch) >= 0:
			b.WriteByte(ch)
		default:
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// moveReplacesToHeader fixes the INVITE diago builds from a Refer-To with
// ?Replaces=: the value goes into a Replaces header, unescaped, and the
// Request-URI loses its headers (RFC 3261 §19.1.5: URI headers become
// request headers). It reports whether there was one.
func moveReplacesToHeader(req *sip.Request) bool {
	hs := req.Recipient.Headers
	if hs == nil {
		return false
	}
	var val string
	found := false
	for _, k := range []string{"Replaces", "replaces"} {
		if v, ok := hs.Get(k); ok {
			val, found = v, true
			break
		}
	}
	req.Recipient.Headers = nil
	if !found {
		return false
	}
	if dec, err := url.PathUnescape(val); err == nil {
		val = dec
	}
	req.RemoveHeader("Replaces")
	req.AppendHeader(sip.NewHeader("Replaces", val))
	return true
}

// matchReplaces finds the call an incoming INVITE's Replaces header names
// (RFC 3891 §3): same Call-ID, to-tag our local tag, from-tag the peer's,
// and the call confirmed. It returns (nil, true) when there is no Replaces
// header and (nil, false) when there is one but nothing matches, which the
// caller answers with 481.
func (p *Phone) matchReplaces(req *sip.Request) (*call, bool) {
	h := req.GetHeader("Replaces")
	if h == nil {
		return nil, true
	}
	r, err := parseReplaces(h.Value())
	if err != nil {
		return nil, false
	}
	p.mu.Lock()
	c := p.bySIP[r.CallID]
	p.mu.Unlock()
	if c == nil {
		return nil, false
	}
	if early, ok := p.matchEarlyReplaces(c, r); ok {
		return early, early != nil // pickup.go: a colleague picks up our ringing call
	}
	c.mu.Lock()
	dlg, st := c.dialog, c.info.State
	c.mu.Unlock()
	// Our 200 to that call may be out with its ACK still on the way (sipgo
	// handles each datagram on its own goroutine, and a transferee that
	// does not wait for NOTIFYs sends the new INVITE at once): the dialog
	// is ours from the 200 on (RFC 3261 §12.1.1), so wait for the ACK a
	// little rather than answer 481.
	for wait := time.Now().Add(2 * time.Second); st == CallAnswering && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond) // the ACK's goroutine sets the state
		c.mu.Lock()
		dlg, st = c.dialog, c.info.State
		c.mu.Unlock()
	}
	if dlg == nil || st != CallActive || r.EarlyOnly {
		return nil, false
	}
	_, local, remote, err := dialogTags(dlg)
	if err != nil || local != r.ToTag || remote != r.FromTag {
		return nil, false
	}
	return c, true
}

// endReplaced hangs up a call another one has just replaced; it ends as
// transferred.
func (p *Phone) endReplaced(old *call) {
	if p.endPickedUp(old) {
		return // pickup.go
	}
	old.mu.Lock()
	if old.info.End == nil {
		old.info.End = &EndInfo{Cause: EndTransferred, Text: "replaced"}
	}
	old.mu.Unlock()
	p.wg.Go(func() {
		// Owned by the phone, joined by Shutdown: the BYE waits for its answer.
		_ = old.hangup()
	})
}
