package phone

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Message waiting indication: the message-summary event package (RFC 3842)
// over SIP-specific event notification (RFC 6665).
//
// With Config.MWI the phone SUBSCRIBEs to message-summary at
// Config.Voicemail, or at the account's address of record through the
// registrar, refreshes the subscription before it expires and subscribes
// again when the notifier ends it. NOTIFYs with Event: message-summary are
// accepted whether they belong to our subscription or come unsolicited
// (many PBXs send MWI to every registered contact without a SUBSCRIBE);
// events.go routes them here. A body that does not parse gets 400, never a
// panic (FuzzParseMessageSummary).

// MessageSummary is the state of the voicemail box (phone/vocab).
type MessageSummary = vocab.MessageSummary

// MessageWaiting carries the full new message-summary state: after every
// NOTIFY and every change of the subscription.
type MessageWaiting struct{ Summary MessageSummary }

func (MessageWaiting) phoneEvent() {}

const (
	mwiEvent       = "message-summary"
	mwiContentType = "application/simple-message-summary"
	// mwiMaxBody bounds a message-summary body; real ones are a few lines.
	mwiMaxBody = 16 << 10
	// mwiExpiry is the subscription duration we ask for.
	mwiExpiry = time.Hour
	// mwiMinRetry and mwiMaxRetry bound the wait before subscribing
	// again after a failure.
	mwiMinRetry = 30 * time.Second
	mwiMaxRetry = 10 * time.Minute
	// mwiTimeout bounds one SUBSCRIBE transaction.
	mwiTimeout = 10 * time.Second
)

// ErrBadMessageSummary is wrapped by the errors ParseMessageSummary returns.
var ErrBadMessageSummary = errors.New("phone: bad message-summary body")

// ParseMessageSummary parses an application/simple-message-summary body
// (RFC 3842 §5.2): a Messages-Waiting line (required), an optional
// Message-Account line and message-context-class lines such as
// "Voice-Message: 2/8 (0/2)". Lines for other classes (fax, pager, ...)
// and unknown lines are ignored, as are the message headers after an empty
// line. Line ends may be CRLF or LF; names are case-insensitive.
func ParseMessageSummary(body []byte) (MessageSummary, error) {
	var ms MessageSummary
	bad := func(format string, a ...any) (MessageSummary, error) {
		return MessageSummary{}, fmt.Errorf("%w: %s", ErrBadMessageSummary, fmt.Sprintf(format, a...))
	}
	if len(body) > mwiMaxBody {
		return bad("%d bytes (at most %d)", len(body), mwiMaxBody)
	}
	status := false
	for i, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			if status {
				break // opt-msg-headers follow (RFC 3842 §5.2)
			}
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return bad("line %d: no colon", i+1)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if strings.ContainsFunc(val, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			return bad("line %d: control character", i+1)
		}
		switch strings.ToLower(name) {
		case "messages-waiting":
			if status {
				return bad("line %d: a second Messages-Waiting", i+1)
			}
			switch strings.ToLower(val) {
			case "yes":
				ms.Waiting = true
			case "no":
			default:
				return bad("line %d: Messages-Waiting is %q, not yes or no", i+1, val)
			}
			status = true
		case "message-account":
			if len(val) > 256 {
				return bad("line %d: Message-Account longer than 256 bytes", i+1)
			}
			ms.Account = val
		case "voice-message":
			c, err := parseMessageCounts(val)
			if err != nil {
				return bad("line %d: Voice-Message: %v", i+1, err)
			}
			ms.New, ms.Old, ms.NewUrgent, ms.OldUrgent = c[0], c[1], c[2], c[3]
		}
	}
	if !status {
		return bad("no Messages-Waiting line")
	}
	return ms, nil
}

// parseMessageCounts parses "new/old" with an optional "(new/old)" of
// urgent messages (RFC 3842 §5.2 msg-summary-line).
func parseMessageCounts(s string) ([4]int, error) {
	var c [4]int
	main, urgent, hasUrgent := strings.Cut(s, "(")
	if err := parsePair(strings.TrimSpace(main), &c[0], &c[1]); err != nil {
		return c, err
	}
	if hasUrgent {
		u, rest, ok := strings.Cut(urgent, ")")
		if !ok || strings.TrimSpace(rest) != "" {
			return c, fmt.Errorf("%q: unbalanced parenthesis", s)
		}
		if err := parsePair(strings.TrimSpace(u), &c[2], &c[3]); err != nil {
			return c, err
		}
	}
	return c, nil
}

// parsePair parses "a/b" of decimal counts below ten million.
func parsePair(s string, a, b *int) error {
	x, y, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("%q is not new/old", s)
	}
	var err error
	if *a, err = parseCount(strings.TrimSpace(x)); err != nil {
		return err
	}
	*b, err = parseCount(strings.TrimSpace(y))
	return err
}

func parseCount(s string) (int, error) {
	if s == "" || len(s) > 7 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a message count", s)
	}
	return strconv.Atoi(s)
}

// mwiState is the phone's message-summary state and, with Config.MWI, its
// subscription. Its fields are guarded by mu.
type mwiState struct {
	mu      sync.Mutex
	summary MessageSummary
	known   bool // a NOTIFY arrived or a subscription runs
	dlg     *mwiDialog
	kick    chan struct{} // subscribe again now (NOTIFY terminated); cap 1
	stop    context.CancelFunc
	done    chan struct{}
}

// mwiDialog is our subscription dialog once a 2xx created it.
type mwiDialog struct {
	callID, fromTag, toTag string
	cseq                   uint32
	target                 sip.Uri   // remote target: the notifier's Contact
	routes                 []sip.Uri // route set from Record-Route, reversed (RFC 3261 §12.1.2)
}

// MWI returns the message-summary state, and false while the phone has
// neither a subscription nor a NOTIFY.
func (p *Phone) MWI() (MessageSummary, bool) {
	p.mwi.mu.Lock()
	defer p.mwi.mu.Unlock()
	return p.mwi.summary, p.mwi.known
}

// Voicemail is the configured voicemail URI ("" if none).
func (p *Phone) Voicemail() string { return p.cfg.Voicemail }

// mwiUpdate changes the state under the lock and publishes the new value.
func (p *Phone) mwiUpdate(f func(*MessageSummary)) {
	p.mwi.mu.Lock()
	f(&p.mwi.summary)
	p.mwi.summary.Voicemail = p.cfg.Voicemail
	p.mwi.known = true
	ms := p.mwi.summary
	p.mwi.mu.Unlock()
	p.emit(MessageWaiting{Summary: ms})
}

// mwiTarget is where our SUBSCRIBE goes: the voicemail URI, else our
// address of record; and the host:port to send it to (the outbound proxy,
// else the registrar for our own AOR, else the URI's host).
func (p *Phone) mwiTarget() (sip.Uri, string, error) {
	a := p.cfg.Account
	var target sip.Uri
	var err error
	switch {
	case p.cfg.Voicemail != "":
		if target, err = parseURI(p.cfg.Voicemail); err != nil {
			return target, "", fmt.Errorf("voicemail: %w", err)
		}
	case a != nil:
		if target, err = parseURI(a.AOR); err != nil {
			return target, "", fmt.Errorf("account.aor: %w", err)
		}
	default:
		return target, "", errors.New("mwi: needs a voicemail URI or an account")
	}
	dest := ""
	if a != nil && a.Proxy != "" {
		dest = a.Proxy
	} else if a != nil && a.Registrar != "" && p.cfg.Voicemail == "" {
		if r, err := parseURI(a.Registrar); err == nil {
			dest = r.HostPort()
		}
	}
	return target, dest, nil
}

// startMWI starts the subscription goroutine (Config.MWI). It is joined by
// stopMWI.
func (p *Phone) startMWI() error {
	target, dest, err := p.mwiTarget()
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(p.ctx)
	p.mwi.mu.Lock()
	p.mwi.kick = make(chan struct{}, 1)
	p.mwi.stop, p.mwi.done = stop, make(chan struct{})
	done := p.mwi.done
	p.mwi.mu.Unlock()
	p.mwiUpdate(func(ms *MessageSummary) { ms.Subscription = "subscribing" })
	go func() {
		// The MWI goroutine: started here, joined by stopMWI.
		defer close(done)
		p.runMWI(ctx, target, dest)
	}()
	return nil
}

// stopMWI ends the subscription (SUBSCRIBE with Expires: 0, RFC 6665
// §4.1.2.3) and waits for the goroutine until ctx ends.
func (p *Phone) stopMWI(ctx context.Context) {
	p.mwi.mu.Lock()
	stop, done := p.mwi.stop, p.mwi.done
	p.mwi.stop = nil
	p.mwi.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// runMWI keeps the subscription alive until ctx ends, then unsubscribes.
func (p *Phone) runMWI(ctx context.Context, target sip.Uri, dest string) {
	failures := 0
	for {
		wait, err := p.mwiSubscribe(ctx, target, dest, mwiExpiry)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			failures++
			wait = min(mwiMinRetry<<min(failures-1, 5), mwiMaxRetry)
			p.log.Info("mwi subscribe failed", "target", target.String(), "err", err, "retry_in", wait)
			msg := err.Error()
			p.mwiUpdate(func(ms *MessageSummary) { ms.Subscription = "retrying: " + msg })
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		case <-p.mwi.kick:
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	p.mwi.mu.Lock()
	subscribed := p.mwi.dlg != nil
	p.mwi.mu.Unlock()
	if subscribed && !p.isClosed() {
		// Stopped by Shutdown while the transport is still open.
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = p.mwiSubscribe(uctx, target, dest, 0)
		cancel()
	}
	p.mwi.mu.Lock()
	p.mwi.dlg = nil
	p.mwi.mu.Unlock()
}

// isClosed reports whether Close ran (the transport is gone).
func (p *Phone) isClosed() bool {
	return p.ctx == nil || p.ctx.Err() != nil
}

// mwiSubscribe sends one SUBSCRIBE (initial, or a refresh in our dialog)
// asking for expires and returns when to refresh.
func (p *Phone) mwiSubscribe(ctx context.Context, target sip.Uri, dest string, expires time.Duration) (time.Duration, error) {
	p.mwi.mu.Lock()
	dlg := p.mwi.dlg
	var req *sip.Request
	if dlg != nil {
		dlg.cseq++
		req = p.mwiRequest(dlg, target, expires)
	}
	p.mwi.mu.Unlock()
	fresh := dlg == nil
	if fresh {
		dlg = &mwiDialog{callID: sip.GenerateTagN(24) + "@anyphone", fromTag: sip.GenerateTagN(16), cseq: 1}
		req = p.mwiRequest(dlg, target, expires)
		if dest != "" {
			req.SetDestination(dest)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, mwiTimeout)
	defer cancel()
	res, err := p.cli.Do(tctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && p.cfg.Account != nil && p.cfg.Account.Password != "" {
		user := p.cfg.Account.Username
		if user == "" {
			if u, perr := parseURI(p.cfg.Account.AOR); perr == nil {
				user = u.User
			}
		}
		p.mwi.mu.Lock()
		dlg.cseq++
		p.mwi.mu.Unlock()
		res, err = p.cli.DoDigestAuth(tctx, req, res, sipgo.DigestAuth{Username: user, Password: string(p.cfg.Account.Password)})
	}
	if err != nil {
		return 0, tlsVerifyError(err)
	}
	if expires == 0 {
		return 0, nil
	}
	if res.StatusCode == 481 && !fresh {
		// RFC 6665 §4.1.2.2: the notifier lost our subscription.
		p.mwi.mu.Lock()
		p.mwi.dlg = nil
		p.mwi.mu.Unlock()
		return p.mwiSubscribe(ctx, target, dest, expires)
	}
	if !res.IsSuccess() {
		if !fresh {
			p.mwi.mu.Lock()
			p.mwi.dlg = nil
			p.mwi.mu.Unlock()
		}
		return 0, &RejectedError{Code: int(res.StatusCode), Reason: res.Reason}
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	if fresh {
		if to := res.To(); to != nil {
			dlg.toTag, _ = to.Params.Get("tag")
		}
		dlg.target = target
		if c := res.Contact(); c != nil {
			dlg.target = *c.Address.Clone()
		}
		rr := res.GetHeaders("Record-Route")
		for i := len(rr) - 1; i >= 0; i-- {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(rr[i].Value(), &u, &params); err == nil {
				dlg.routes = append(dlg.routes, u)
			}
		}
		p.mwi.mu.Lock()
		p.mwi.dlg = dlg
		p.mwi.mu.Unlock()
	}
	p.mwiUpdate(func(ms *MessageSummary) {
		if ms.Subscription == "" || !strings.HasPrefix(ms.Subscription, "active") {
			ms.Subscription = "active"
		}
	})
	// Refresh at three quarters of the granted time, at least 1 s ahead.
	return max(granted*3/4, min(granted, time.Second)), nil
}

// mwiRequest builds a SUBSCRIBE in dlg (initial when dlg.toTag is empty).
// p.mwi.mu is held or dlg is not shared yet.
func (p *Phone) mwiRequest(dlg *mwiDialog, target sip.Uri, expires time.Duration) *sip.Request {
	ruri := target
	if dlg.toTag != "" {
		ruri = dlg.target
	}
	req := sip.NewRequest(sip.SUBSCRIBE, *ruri.Clone())
	from := sip.Uri{Scheme: "sip", User: p.cfg.Name, Host: p.host, Port: p.port}
	display := ""
	if a := p.cfg.Account; a != nil {
		if u, err := parseURI(a.AOR); err == nil {
			from = sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
		}
		display = a.DisplayName
	}
	fh := &sip.FromHeader{DisplayName: display, Address: from, Params: sip.NewParams()}
	fh.Params.Add("tag", dlg.fromTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port}, Params: sip.NewParams()}
	if dlg.toTag != "" {
		to.Params.Add("tag", dlg.toTag)
	}
	callID := sip.CallIDHeader(dlg.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(fh)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: dlg.cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(&maxFwd)
	for _, r := range dlg.routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
	if len(dlg.routes) > 0 {
		req.SetDestination(dlg.routes[0].HostPort())
	}
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.Name, Host: p.host, Port: p.port, UriParams: sip.NewParams()}}
	if p.cfg.Transport != "udp" {
		contact.Address.UriParams.Add("transport", p.cfg.Transport)
		req.SetTransport(strings.ToUpper(p.cfg.Transport))
	}
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Event", mwiEvent))
	req.AppendHeader(sip.NewHeader("Accept", mwiContentType))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(sip.NewHeader("User-Agent", "anyphone"))
	return req
}

// serveMWINotify answers a NOTIFY of the message-summary package: 200 and
// a MessageWaiting event for a good body, 400 for a bad one, 415 for
// another content type (RFC 6665 §4.1.3).
func (p *Phone) serveMWINotify(req *sip.Request, tx sip.ServerTransaction) {
	reply := func(code int, reason string, hdrs ...sip.Header) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
	}
	if ct := req.ContentType(); ct != nil && len(req.Body()) > 0 {
		mt, _, _ := strings.Cut(ct.Value(), ";")
		if !strings.EqualFold(strings.TrimSpace(mt), mwiContentType) {
			reply(415, "Unsupported Media Type", sip.NewHeader("Accept", mwiContentType))
			return
		}
	}
	state, reason := subscriptionState(req)
	ours := false
	p.mwi.mu.Lock()
	if d := p.mwi.dlg; d != nil && d.callID == callIDOf(req) {
		ours = true
	} else if p.mwi.stop != nil && p.mwi.dlg == nil {
		// A NOTIFY may overtake the 2xx of our SUBSCRIBE (RFC 6665
		// §4.1.2.4): count it as ours when we are subscribing.
		ours = true
	}
	p.mwi.mu.Unlock()
	if len(req.Body()) == 0 {
		reply(200, "OK")
		p.mwiTerminated(ours, state, reason)
		return
	}
	ms, err := ParseMessageSummary(req.Body())
	if err != nil {
		p.log.Info("mwi notify refused", "call_id", callIDOf(req), "err", err)
		reply(400, "Bad Request")
		return
	}
	now := time.Now()
	p.mwiUpdate(func(cur *MessageSummary) {
		sub := cur.Subscription
		if !ours && !p.cfg.MWI {
			sub = "unsolicited"
		} else if ours && state != "" && state != "terminated" {
			sub = state
		}
		*cur = ms
		cur.Subscription = sub
		cur.Updated = now
	})
	reply(200, "OK") // after the state changed: who reads it after the 200 sees it
	p.mwiTerminated(ours, state, reason)
}

// mwiTerminated reacts to Subscription-State: terminated in our dialog:
// the dialog is gone; subscribe again now unless the notifier refused us
// for good (then at the next retry).
func (p *Phone) mwiTerminated(ours bool, state, reason string) {
	if !ours || state != "terminated" {
		return
	}
	p.mwi.mu.Lock()
	p.mwi.dlg = nil
	kick := p.mwi.kick
	p.mwi.mu.Unlock()
	p.mwiUpdate(func(ms *MessageSummary) { ms.Subscription = "terminated: " + reason })
	switch reason {
	case "rejected", "noresource", "invariant":
		return // RFC 6665 §4.1.3: do not retry at once
	}
	if kick != nil {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

// subscriptionState returns the state and reason of the
// Subscription-State header (RFC 6665 §8.2.3), lower case.
func subscriptionState(req *sip.Request) (state, reason string) {
	h := req.GetHeader("Subscription-State")
	if h == nil {
		return "", ""
	}
	parts := strings.Split(h.Value(), ";")
	state = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "reason") {
			reason = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return state, reason
}

// validateMWI checks the MWI fields of a Config.
func (c *Config) validateMWI() error {
	if c.Voicemail != "" {
		if _, err := parseURI(c.Voicemail); err != nil {
			return fmt.Errorf("voicemail: %q: %w", c.Voicemail, err)
		}
	}
	if c.MWI && c.Voicemail == "" && c.Account == nil {
		return errors.New("mwi: needs a voicemail URI or an account to subscribe at")
	}
	return nil
}
