package phone

// Following 3xx as a caller (RFC 3261 §8.1.3.4). With
// Config.FollowRedirects > 0 a call we placed that gets a 3xx calls the
// first Contact it has not called yet, as a new INVITE of the same call
// (fresh Call-ID, as a held-offer retry), up to that many times. Each hop
// passes the gate (Config.Authorize) like a Dial, is recorded in
// CallInfo.Redirects and reported as RedirectFollowed; the new INVITE
// carries the History-Info and Diversion of the 3xx, or, when it has none,
// History-Info (RFC 7044) and Diversion (RFC 5806) we add. A loop (every
// Contact already called), the limit or the gate ends the call with the
// 3xx and says why in EndInfo.Note. A B2BUA (anydevice) leaves
// FollowRedirects at 0: a 3xx from a far end must never make it call
// somewhere else (toll fraud).

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Redirect is one 3xx a call followed.
type Redirect = vocab.Redirect

// DefaultRedirectLimit is how many 3xx a desk phone follows in one call.
const DefaultRedirectLimit = 5

// RedirectFollowed reports that a call we placed got a 3xx and now calls
// To. Hop counts from 1.
type RedirectFollowed struct {
	CallID CallID
	Hop    int
	Redirect
}

func (RedirectFollowed) phoneEvent() {}

// redirectStop is the 3xx a call ended with after redirects were
// considered, and why it was not followed.
type redirectStop struct {
	err  error
	note string
}

func (r *redirectStop) Error() string { return r.err.Error() + " (" + r.note + ")" }
func (r *redirectStop) Unwrap() error { return r.err }

// redirectNote is the note of a redirect not followed, "" if none.
func redirectNote(err error) string {
	var rs *redirectStop
	if errors.As(err, &rs) {
		return rs.note
	}
	return ""
}

// responseOf is the final response of a failed INVITE, nil if none.
func responseOf(err error) *sip.Response {
	var e1 *sipgo.ErrDialogResponse
	var e2 sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &e1):
		return e1.Res
	case errors.As(err, &e2):
		return e2.Res
	}
	return nil
}

// histEntry is one History-Info entry we build: the target and, once it
// was retargeted, the response that did it.
type histEntry struct {
	uri    sip.Uri
	index  string
	code   int
	reason string
}

func (h histEntry) String() string {
	u := h.uri.Clone()
	if h.code != 0 {
		r := fmt.Sprintf("SIP;cause=%d;text=%q", h.code, h.reason)
		u.Headers = sip.NewParams()
		u.Headers.Add("Reason", strings.ReplaceAll(url.QueryEscape(r), "+", "%20"))
	}
	s := "<" + u.String() + ">;index=" + h.index
	if strings.Count(h.index, ".") > 0 {
		s += ";mp=" + h.index[:strings.LastIndex(h.index, ".")]
	}
	return s
}

// inviteFollowing is invite (initialhold.go) following 3xx responses as
// Config.FollowRedirects allows.
func (p *Phone) inviteFollowing(ctx context.Context, c *call, d *diago.DialogClientSession, uri sip.Uri, opts diago.InviteClientOptions, o DialOptions) (*diago.DialogClientSession, error) {
	d, err := p.invite(ctx, c, d, uri, opts, o)
	limit := p.cfg.FollowRedirects
	if limit <= 0 {
		return d, err
	}
	base := opts.Headers
	cur := uri
	called := []string{uriKey(uri)}
	hist := []histEntry{{uri: uri, index: "1"}}
	for hop := 1; ; hop++ {
		res := responseOf(err)
		if res == nil || ctx.Err() != nil {
			return d, err
		}
		code := int(res.StatusCode)
		if code < 300 || code > 399 || code == 305 || code == 380 {
			return d, err
		}
		if hop > limit {
			return d, &redirectStop{err, fmt.Sprintf("not followed: %d redirects already (the limit)", limit)}
		}
		next, ok := nextContact(res, called)
		if !ok {
			if len(redirectTargets(res)) == 0 {
				return d, &redirectStop{err, "not followed: no Contact"}
			}
			return d, &redirectStop{err, "not followed: redirect loop (" + strings.Join(redirectTargets(res), ", ") + " already called)"}
		}
		to := uriString(next)
		if aerr := p.authorize(CallRequest{Kind: RequestDial, Call: c.id, Target: to, Owner: o.Owner}); aerr != nil {
			return d, &redirectStop{err, "not followed: redirect to " + to + " refused: " + aerr.Error()}
		}
		called = append(called, uriKey(next))
		rec := Redirect{Code: code, Reason: res.Reason, From: uriString(cur), To: to}
		p.log.Info("following redirect", "call_id", c.id, "code", code, "from", rec.From, "to", to, "hop", hop)

		// History-Info and Diversion: the 3xx's own, else ours.
		hist[len(hist)-1].code, hist[len(hist)-1].reason = code, res.Reason
		hist = append(hist, histEntry{uri: next, index: hist[len(hist)-1].index + ".1"})
		hdrs := cloneHeaders(base)
		hdrs = slices.DeleteFunc(hdrs, func(h sip.Header) bool {
			n := strings.ToLower(h.Name())
			return n == "history-info" || n == "diversion"
		})
		if his := res.GetHeaders("History-Info"); len(his) > 0 {
			for _, h := range his {
				hdrs = append(hdrs, sip.NewHeader("History-Info", h.Value()))
			}
		} else {
			parts := make([]string, len(hist))
			for i, h := range hist {
				parts[i] = h.String()
			}
			hdrs = append(hdrs, sip.NewHeader("History-Info", strings.Join(parts, ", ")))
		}
		if dv := res.GetHeaders("Diversion"); len(dv) > 0 {
			for _, h := range dv {
				hdrs = append(hdrs, sip.NewHeader("Diversion", h.Value()))
			}
		} else {
			hdrs = append(hdrs, sip.NewHeader("Diversion", "<"+uriString(cur)+">;reason=unknown;counter="+strconv.Itoa(hop)))
		}
		opts.Headers = hdrs

		nd, nerr := p.redialTo(c, d, next)
		if nerr != nil {
			return d, &redirectStop{err, "not followed: " + nerr.Error()}
		}
		c.update(func(ci *CallInfo) {
			ci.Redirects = append(slices.Clone(ci.Redirects), rec)
			ci.Remote = Party{URI: to, User: next.User}
		})
		p.emit(RedirectFollowed{CallID: c.id, Hop: hop, Redirect: rec})
		d, cur = nd, next
		d, err = p.invite(ctx, c, d, next, opts, o)
	}
}

// nextContact is the first sip/sips Contact of res not called yet.
func nextContact(res *sip.Response, called []string) (sip.Uri, bool) {
	for _, h := range res.GetHeaders("Contact") {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(h.Value(), &u, &params); err != nil {
			continue
		}
		if s := strings.ToLower(u.Scheme); s != "sip" && s != "sips" {
			continue
		}
		if !slices.Contains(called, uriKey(u)) {
			return u, true
		}
	}
	return sip.Uri{}, false
}

// uriKey compares targets for loop detection: scheme, user, host, port.
func uriKey(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return strings.ToLower(fmt.Sprintf("%s:%s@%s:%d", u.Scheme, u.User, u.Host, port))
}

// redialTo closes d and makes a new dialog of the same call to uri with a
// fresh Call-ID (as redial does for a held-offer retry), sent through the
// outbound proxy or registrar when the account says so.
func (p *Phone) redialTo(c *call, d *diago.DialogClientSession, uri sip.Uri) (*diago.DialogClientSession, error) {
	nd, err := p.redial(c, d, uri)
	if err != nil {
		return nil, err
	}
	if dest := p.outboundDest(uri); dest != "" {
		nd.InviteRequest.SetDestination(dest)
	} else {
		nd.InviteRequest.SetDestination(uri.HostPort())
	}
	return nd, nil
}
