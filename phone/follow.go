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

// redirectTarget is a Contact of a 3xx not called yet (RFC 3261
// §8.1.3.4: the target set), with what its History-Info entry needs.
type redirectTarget struct {
	uri   sip.Uri
	q     float64
	res   *sip.Response // the 3xx that named it
	from  sip.Uri       // the target that redirected
	hist  []histEntry   // History-Info up to the redirecting target
	index string        // its History-Info index
}

// inviteFollowing is invite (initialhold.go) following 3xx responses as
// Config.FollowRedirects allows. The Contacts of a 3xx are tried in the
// order of their q values, highest first (RFC 3261 §8.1.3.4); when one
// fails with a 4xx or 5xx the next is called, a 6xx ends the call. 305
// Use Proxy and 380 Alternative Service are never followed: the note says
// why.
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
	var pending []redirectTarget
	for hop := 1; ; hop++ {
		res := responseOf(err)
		if res == nil || ctx.Err() != nil {
			return d, err
		}
		code := int(res.StatusCode)
		after := "" // why the previous target is left for the next one
		switch {
		case code == 305:
			// RFC 3261 §21.3.5 would send the request through the proxy the
			// Contact names; a response choosing our outbound proxy lets a
			// far end route us anywhere (RFC 7231 §6.4.5 deprecated it for
			// HTTP for that reason), so, like most UAs, we do not.
			return d, &redirectStop{err, "not followed: Use Proxy " + strings.Join(redirectTargets(res), ", ") + " (a proxy named by a response is not trusted)"}
		case code == 380:
			// RFC 3261 §21.3.6: the alternatives are in the body, for the
			// user to choose; nothing is called automatically.
			return d, &redirectStop{err, "not followed: Alternative Service" + alternativeService(res)}
		case code >= 300 && code < 400:
			fresh := redirectContacts(res, called, pending)
			if len(fresh) == 0 && len(pending) == 0 {
				if len(redirectTargets(res)) == 0 {
					return d, &redirectStop{err, "not followed: no Contact"}
				}
				return d, &redirectStop{err, "not followed: redirect loop (" + strings.Join(redirectTargets(res), ", ") + " already called)"}
			}
			chain := slices.Clone(hist)
			chain[len(chain)-1].code, chain[len(chain)-1].reason = code, res.Reason
			parent := chain[len(chain)-1].index
			for i := range fresh {
				fresh[i].res, fresh[i].from, fresh[i].hist = res, cur, chain
				fresh[i].index = parent + "." + strconv.Itoa(i+1)
			}
			pending = append(fresh, pending...)
		case code >= 600 || len(pending) == 0:
			// A 6xx is final everywhere (RFC 3261 §21.6); other failures
			// end the call when no Contact is left to try.
			if len(pending) > 0 {
				return d, &redirectStop{err, fmt.Sprintf("final: %d redirect targets left uncalled", len(pending))}
			}
			return d, err
		default:
			after = fmt.Sprintf("%s answered %d %s", uriString(cur), code, res.Reason)
		}
		if hop > limit {
			return d, &redirectStop{err, fmt.Sprintf("not followed: %d redirects already (the limit)", limit)}
		}
		t := pending[0]
		pending = pending[1:]
		next, rres := t.uri, t.res
		to := uriString(next)
		if aerr := p.authorize(CallRequest{Kind: RequestDial, Call: c.id, Target: to, Owner: o.Owner}); aerr != nil {
			return d, &redirectStop{err, "not followed: redirect to " + to + " refused: " + aerr.Error()}
		}
		called = append(called, uriKey(next))
		rec := Redirect{Code: int(rres.StatusCode), Reason: rres.Reason, From: uriString(t.from), To: to, After: after}
		p.log.Info("following redirect", "call_id", c.id, "code", rec.Code, "from", rec.From, "to", to, "q", t.q, "hop", hop, "after", after)

		// History-Info and Diversion: the 3xx's own, else ours.
		hist = append(slices.Clone(t.hist), histEntry{uri: next, index: t.index})
		hdrs := cloneHeaders(base)
		hdrs = slices.DeleteFunc(hdrs, func(h sip.Header) bool {
			n := strings.ToLower(h.Name())
			return n == "history-info" || n == "diversion"
		})
		if his := rres.GetHeaders("History-Info"); len(his) > 0 {
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
		if dv := rres.GetHeaders("Diversion"); len(dv) > 0 {
			for _, h := range dv {
				hdrs = append(hdrs, sip.NewHeader("Diversion", h.Value()))
			}
		} else {
			hdrs = append(hdrs, sip.NewHeader("Diversion", "<"+uriString(t.from)+">;reason=unknown;counter="+strconv.Itoa(len(t.hist))))
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

// redirectContacts are the sip/sips Contacts of a 3xx neither called nor
// pending yet, highest q first (a missing q is 1.0; equal q keep their
// order).
func redirectContacts(res *sip.Response, called []string, pending []redirectTarget) []redirectTarget {
	var out []redirectTarget
	seen := slices.Clone(called)
	for _, t := range pending {
		seen = append(seen, uriKey(t.uri))
	}
	for _, h := range res.GetHeaders("Contact") {
		for _, v := range splitContacts(h.Value()) {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &u, &params); err != nil {
				continue
			}
			if s := strings.ToLower(u.Scheme); s != "sip" && s != "sips" {
				continue
			}
			if slices.Contains(seen, uriKey(u)) {
				continue
			}
			seen = append(seen, uriKey(u))
			q := 1.0
			if v, ok := params.Get("q"); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
			out = append(out, redirectTarget{uri: u, q: q})
		}
	}
	slices.SortStableFunc(out, func(a, b redirectTarget) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	return out
}

// splitContacts splits a Contact value that lists several addresses
// ("<sip:a@h>;q=0.9, <sip:b@h>;q=0.5") at the commas outside <> and
// quotes.
func splitContacts(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// alternativeService is what a 380 offers, for the note: its Contacts and
// the start of a text body.
func alternativeService(res *sip.Response) string {
	var parts []string
	if ts := redirectTargets(res); len(ts) > 0 {
		parts = append(parts, strings.Join(ts, ", "))
	}
	if b := strings.TrimSpace(string(res.Body())); b != "" {
		ct := ""
		if h := res.ContentType(); h != nil {
			ct = strings.ToLower(h.Value())
		}
		if ct == "" || strings.HasPrefix(ct, "text/") {
			b = strings.Join(strings.Fields(b), " ")
			parts = append(parts, strconv.Quote(clip(b, 120)))
		} else {
			parts = append(parts, "a "+clip(ct, 40)+" body")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
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
