package phone

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

// call is one call. Its mutex serialises every transition: SIP callbacks,
// commands and the media goroutines only call apply/update, which run next()
// and publish the full new CallInfo while holding mu, so events of one call
// are delivered in transition order.
//
// The call's lifetime is owned by one goroutine: the diago serve handler for
// incoming calls, the goroutine started by Dial for outgoing ones. Media
// goroutines are started by that owner and joined before it returns.
type call struct {
	p         *Phone
	id        CallID
	sipCallID string
	// srtp is the call's SDES-SRTP state (srtp.go), nil in clear; guarded by mu.
	srtp *callSRTP
	log  interface {
		Info(string, ...any)
		Warn(string, ...any)
		Debug(string, ...any)
	}

	mu     sync.Mutex
	info   CallInfo
	notify notifier // delivers info's changes in order, outside mu

	// cancel ends the outgoing INVITE (CANCEL) before answer.
	cancelInvite context.CancelFunc
	// outDialog is the outgoing INVITE's dialog from Dial on, so that
	// HangupWithReason can build its own CANCEL (cancel.go).
	outDialog *diago.DialogClientSession
	// decision carries Answer/Reject to the incoming handler.
	decision chan decision
	// dialog is the established session (client or server), nil before.
	dialog diago.DialogSession
	// hangupOnce guards the local end.
	ending bool

	media *mediaPump

	// origin is the o= identity of the SDP we send (origin.go).
	origin sdpfence.Origin

	// holding is true from our hold re-INVITE until resume; holdDialect is
	// the form the request hook gives that offer.
	holding     bool
	holdDialect HoldDialect

	// mc is the mid-call control state (reinvite.go).
	mc midcall
	// bye is what the peer's BYE said (Reason, ms-diagnostics); guarded
	// by mu (byereason.go).
	bye *EndInfo

	// gone is closed when our BYE got no answer: the peer vanished, and
	// the owner goroutine stops waiting for the dialog to end.
	gone     chan struct{}
	goneOnce sync.Once
}

func (c *call) markGone() { c.goneOnce.Do(func() { close(c.gone) }) }

type decision struct {
	answer bool
	code   int
	reason string
	hdrs   []sip.Header
}

func (c *call) snapshot() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneInfo(c.info)
}

func cloneInfo(ci CallInfo) CallInfo {
	if ci.End != nil {
		e := *ci.End
		ci.End = &e
	}
	// Headers is set when the call is created and never changed after, so
	// every copy may share it (copying it cost most of the bytes the
	// endpoint allocated per call under load).
	return ci
}

// apply runs one transition and publishes the new value. An illegal
// transition is logged and ignored: SIP peers send odd things, and the state
// must never go backwards.
func (c *call) apply(in input, mutate func(*CallInfo)) bool {
	defer c.notify.flush(c.p.emit)
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := next(c.info.State, in)
	if err != nil {
		c.log.Debug("ignored transition", "call_id", c.id, "state", c.info.State, "input", in)
		return false
	}
	changed := s != c.info.State
	c.info.State = s
	if mutate != nil {
		mutate(&c.info)
		changed = true
	}
	if changed {
		c.notify.push(CallChanged{Call: cloneInfo(c.info)})
	}
	return true
}

// update changes fields without a state transition and publishes.
func (c *call) update(mutate func(*CallInfo)) {
	defer c.notify.flush(c.p.emit)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info.State == CallEnded {
		return
	}
	mutate(&c.info)
	c.notify.push(CallChanged{Call: cloneInfo(c.info)})
}

// finish moves the call to Ended with why, unless it already ended.
func (c *call) finish(end EndInfo) {
	defer c.notify.flush(c.p.emit)
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := next(c.info.State, inOver)
	if err != nil {
		return // ended already
	}
	if c.info.End == nil || c.info.End.Cause == EndUnknown {
		e := end
		c.info.End = &e
	} else if end.Code != 0 && c.info.End.Code == 0 {
		c.info.End.Code, c.info.End.Reason = end.Code, end.Reason
	}
	c.info.State = s
	c.info.Ended = time.Now()
	c.notify.push(CallChanged{Call: cloneInfo(c.info)})
}

// notifier delivers one call's events in the order its changes happened,
// never under the call's lock: a change queues its event while it holds
// c.mu, and the goroutine that made it flushes once it let go. One
// goroutine flushes at a time; events queued meanwhile go out with its
// flush, in order. Consumers may call back into the phone from an event.
type notifier struct {
	mu   sync.Mutex // guards q and busy; never held while emitting
	q    []Event
	busy bool
}

// push queues ev. c.mu must be held (the order of pushes is the order of
// the changes).
func (n *notifier) push(ev Event) {
	n.mu.Lock()
	n.q = append(n.q, ev)
	n.mu.Unlock()
}

// flush emits the queued events unless another goroutine is at it.
func (n *notifier) flush(emit func(Event)) {
	n.mu.Lock()
	if n.busy {
		n.mu.Unlock()
		return
	}
	n.busy = true
	for len(n.q) > 0 {
		ev := n.q[0]
		n.q[0] = nil
		n.q = n.q[1:]
		n.mu.Unlock()
		emit(ev)
		n.mu.Lock()
	}
	n.busy = false
	n.mu.Unlock()
}

func (c *call) state() CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info.State
}

// Dial places a call to target (a SIP URI, user@host, or a number when an
// account is set). It returns as soon as the call exists; progress arrives as
// CallChanged events. Failures end the call with EndInfo (code, reason, Q.850).
func (p *Phone) Dial(ctx context.Context, target string, o DialOptions) (CallID, error) {
	uri, err := p.resolveTarget(target)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	if p.dg == nil {
		return "", fmt.Errorf("dial %s: %w", target, ErrClosed)
	}
	if err := p.checkScheme(uri); err != nil { // tls.go
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	id := p.newCallID()
	if err := p.authorize(CallRequest{Kind: RequestDial, Call: id, Target: uriString(uri), Owner: o.Owner}); err != nil {
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	d, err := p.dg.NewDialog(uri, diago.NewDialogOptions{Transport: transportOf(uri, p.cfg.Transport)})
	if err != nil {
		p.unplaced(id, err)
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	// Set the Call-ID now (sipgo would only at send time) so the call is
	// known by it before the first message leaves.
	sipCallID := sip.CallIDHeader(sip.GenerateTagN(24) + "@anyphone")
	d.InviteRequest.AppendHeader(&sipCallID)
	c := &call{
		p:         p,
		id:        id,
		sipCallID: string(sipCallID),
		log:       p.log,
		gone:      make(chan struct{}),
		outDialog: d,
	}
	local := p.localParty()
	if o.FromUser != "" {
		local.User = o.FromUser
		local.URI = "sip:" + o.FromUser + "@" + hostOf(local.URI)
	}
	if o.FromDisplay != "" {
		local.DisplayName = o.FromDisplay
	}
	c.info = CallInfo{
		ID:        c.id,
		SIPCallID: c.sipCallID,
		Direction: Outgoing,
		Local:     local,
		Remote:    Party{URI: uriString(uri), User: uri.User},
		Created:   time.Now(),
	}
	if err := p.srtpDial(c, d); err != nil { // srtp.go
		d.Close()
		p.unplaced(id, err)
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	if err := p.addCall(c); err != nil {
		d.Close()
		p.unplaced(id, err)
		return "", fmt.Errorf("dial %s: %w", target, err)
	}
	// The call's own context: lives past the caller's ctx, ends with the phone.
	ictx, cancel := context.WithTimeout(p.ctx, p.cfg.RingTimeout)
	c.cancelInvite = cancel
	c.apply(inDial, nil)
	p.wg.Add(1)
	go func() {
		// runOutgoing is the call goroutine of an outgoing call: started by
		// Dial, joined by Shutdown through p.wg.
		defer p.wg.Done()
		defer p.recoverCall(c)
		p.runOutgoing(ictx, cancel, c, d, uri, o)
	}()
	return c.id, nil
}

// DialOptions tunes one outgoing call.
type DialOptions struct {
	// FromUser and FromDisplay override the caller identity (One-Number).
	FromUser    string
	FromDisplay string
	// Headers are extra headers for the INVITE (name → value).
	Headers [][2]string
	// Owner is handed to Config.Authorize as CallRequest.Owner: on whose
	// behalf the call is placed.
	Owner string
	// Hold, if set, dials on hold in this dialect (3PCC "make call"); a
	// 488 to the held offer is retried once per remaining dialect
	// (initialhold.go).
	Hold *HoldDialect
}

func (p *Phone) localParty() Party {
	if a := p.cfg.Account; a != nil {
		if u, err := parseURI(a.AOR); err == nil {
			return Party{DisplayName: a.DisplayName, URI: uriString(u), User: u.User}
		}
	}
	return Party{URI: "sip:" + p.cfg.Name + "@" + p.Addr(), User: p.cfg.Name}
}

func (p *Phone) runOutgoing(ctx context.Context, cancel context.CancelFunc, c *call, d *diago.DialogClientSession, uri sip.Uri, o DialOptions) {
	defer cancel()
	defer p.removeCall(c)
	defer func() { _ = d.Close() }() // d may be replaced by a held-offer retry

	local := c.snapshot().Local
	opts := diago.InviteClientOptions{
		OnResponse:       func(res *sip.Response) error { p.onResponse(c, res); return nil },
		OnMediaUpdate:    func(m *diago.DialogMedia) { p.onMediaUpdate(c, m) },
		EarlyMediaDetect: true,
		Headers:          []sip.Header{},
		OnRefer:          func(rd *diago.DialogClientSession) error { return p.onRefer(c, rd) },
	}
	if local.User != "" {
		fromURI, _ := parseURI(local.URI)
		opts.Headers = append(opts.Headers, &sip.FromHeader{
			DisplayName: local.DisplayName,
			Address:     sip.Uri{Scheme: "sip", User: local.User, Host: fromURI.Host, Port: fromURI.Port},
			Params:      sip.NewParams(),
		})
	}
	if a := p.cfg.Account; a != nil {
		opts.Username = a.Username
		if opts.Username == "" {
			opts.Username = local.User
		}
		opts.Password = a.Password.Reveal()
		if dest := p.outboundDest(uri); dest != "" {
			d.InviteRequest.SetDestination(dest)
		}
	}
	for _, h := range o.Headers {
		opts.Headers = append(opts.Headers, sip.NewHeader(h[0], h[1]))
	}

	d, err := p.inviteFollowing(ctx, c, d, uri, opts, o) // follow.go
	if errors.Is(err, diago.ErrClientEarlyMedia) {
		c.apply(inEarlyMedia, func(ci *CallInfo) { ci.Codec = codecName(d.Media()) })
		c.mu.Lock()
		c.dialog = d
		c.mu.Unlock()
		p.startMedia(c, d.Media())
		err = d.WaitAnswer(ctx, sipgo.AnswerOptions{
			OnResponse: func(res *sip.Response) error { p.onResponse(c, res); return nil },
			Username:   opts.Username,
			Password:   opts.Password,
		})
	}
	if err != nil {
		p.stopMedia(c)
		c.finish(p.inviteError(c, ctx, err))
		return
	}
	if err := d.Ack(ctx); err != nil {
		p.stopMedia(c)
		c.finish(EndInfo{Cause: EndFailed, Text: "ack: " + err.Error()})
		return
	}
	// Answered: the ring timeout no longer applies.
	c.mu.Lock()
	c.dialog = d
	c.cancelInvite = nil
	c.mu.Unlock()
	sec := c.srtpState().suite() // srtp.go
	c.apply(inAnswered, func(ci *CallInfo) {
		ci.Answered = time.Now()
		ci.Codec = codecName(d.Media())
		ci.SRTP = sec
		if res := d.InviteResponse; res != nil {
			if to := res.To(); to != nil {
				ci.Remote.DisplayName = to.DisplayName
			}
		}
	})
	if c.srtpFailedAnswer() { // srtp.go: mandatory SRTP, clear answer
		c.mu.Lock()
		if c.info.End == nil {
			c.info.End = &EndInfo{Cause: EndFailed, Text: errSRTPRequired.Error()}
		}
		c.mu.Unlock()
		go func() { _ = c.hangup() }()
	}
	p.startMedia(c, d.Media())
	p.afterAnswered(c)
	p.waitEnd(c, d.Context())
}

// outboundDest is where an INVITE to uri goes when an account is set: the
// outbound proxy, or the registrar for targets in the account's domain.
func (p *Phone) outboundDest(uri sip.Uri) string {
	a := p.cfg.Account
	if a == nil {
		return ""
	}
	if a.Proxy != "" {
		return a.Proxy
	}
	if a.Registrar == "" {
		return ""
	}
	aor, err1 := parseURI(a.AOR)
	reg, err2 := parseURI(a.Registrar)
	if err1 != nil || err2 != nil || !strings.EqualFold(aor.Host, uri.Host) || (uri.Port != 0 && uri.Port != aor.Port) {
		return ""
	}
	return reg.HostPort()
}

// inviteError turns the end of an unanswered outgoing call into data.
func (p *Phone) inviteError(c *call, ctx context.Context, err error) EndInfo {
	var resp *sip.Response
	var e1 *sipgo.ErrDialogResponse
	var e2 sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &e1):
		resp = e1.Res
	case errors.As(err, &e2):
		resp = e2.Res
	}
	if resp != nil {
		end := EndInfo{Cause: EndRejected, Code: int(resp.StatusCode), Reason: resp.Reason, Note: redirectNote(err),
			Diagnostic: diagnosticOf(resp)} // byereason.go
		for _, h := range resp.GetHeaders("Reason") {
			if rs, perr := ParseReasons(h.Value()); perr == nil {
				for _, r := range rs {
					if strings.EqualFold(r.Protocol, "Q.850") {
						end.Q850, end.Text = r.Cause, r.Text
					}
				}
			}
		}
		return end
	}
	c.mu.Lock()
	ending := c.ending
	c.mu.Unlock()
	switch {
	case ending:
		return EndInfo{Cause: EndLocalHangup}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return EndInfo{Cause: EndTimeout, Text: "no answer"}
	case errors.Is(err, sip.ErrTransactionTimeout):
		return EndInfo{Cause: EndTimeout, Code: 408, Reason: "Request Timeout", Text: err.Error()}
	}
	return EndInfo{Cause: EndFailed, Text: tlsVerifyError(err).Error()} // tls.go
}

// onResponse runs on a sipgo goroutine for every response to our INVITE. It
// only posts inputs; it never blocks.
func (p *Phone) onResponse(c *call, res *sip.Response) {
	p.cleanResponseSDP(res)
	p.srtpAnswerReceived(c, res) // srtp.go: the peer's key, crypto out for diago
	switch code := int(res.StatusCode); {
	case code == 180 || code == 181 || code == 182 || (code == 183 && len(res.Body()) == 0):
		c.apply(inProvisional, nil)
	case code == 183:
		// Early media is applied by diago (ErrClientEarlyMedia) and reported there.
	case code >= 200 && code < 300:
		if to := res.To(); to != nil && to.DisplayName != "" {
			c.update(func(ci *CallInfo) { ci.Remote.DisplayName = to.DisplayName })
		}
		c.mu.Lock()
		referrer := c.mc.referrer
		c.mu.Unlock()
		if referrer != nil {
			markTransferred(referrer)
		}
	case code >= 300 && code < 400:
		// Reported before the call ends with it or follows it (follow.go).
		p.emit(RedirectReceived{CallID: c.id, Code: code, Reason: res.Reason, Targets: redirectTargets(res)})
	}
}

// serveIncoming is diago's handler for a new INVITE. It is the call
// goroutine of an incoming call: the call lives as long as it runs.
func (p *Phone) serveIncoming(d *diago.DialogServerSession) {
	p.wg.Add(1)
	defer p.wg.Done()
	req := d.InviteRequest
	c := &call{
		p:         p,
		id:        p.newCallID(),
		sipCallID: req.CallID().Value(),
		log:       p.log,
		decision:  make(chan decision, 1),
		gone:      make(chan struct{}),
	}
	defer p.recoverCall(c)
	c.info = CallInfo{
		ID:         c.id,
		SIPCallID:  c.sipCallID,
		SIPFromTag: fromTagOf(req),
		SIPToTag:   toTagOf(req), // sipgo put our tag in the INVITE's To (pickup.go)
		Direction:  Incoming,
		Local:      partyOf(req.To().DisplayName, req.To().Address),
		Remote:     remoteParty(req),
		Headers:    interestingHeaders(req),
		Created:    time.Now(),
	}
	if ct := req.Contact(); ct != nil {
		c.info.RemoteTarget = ct.Address.String()
	}
	if err := p.addCall(c); err != nil {
		code, reason := 486, "Busy Here"
		if errors.Is(err, ErrClosed) {
			code, reason = 503, "Service Unavailable"
		}
		_ = d.Respond(code, reason, nil, sip.NewHeader("Reason", fmt.Sprintf("Q.850;cause=%d", Q850ForSIP(code))))
		if code == 486 {
			// Reported (refused.go), at most once a second under a flood;
			// a closing phone's 503 is not.
			p.refusedInvite(req, code, reason, RuleMaxCalls, fmt.Sprintf("%d calls already (max calls)", p.cfg.MaxCalls))
		}
		return
	}
	defer p.removeCall(c)
	replaced, ok := p.matchReplaces(req)
	if !ok {
		// RFC 3891 §3: no such dialog (or not one we may replace).
		_ = d.Respond(481, "Call/Transaction Does Not Exist", nil)
		c.finish(EndInfo{Cause: EndRejected, Code: 481, Reason: "Call/Transaction Does Not Exist", Text: "replaces: no matching dialog"})
		return
	}
	if replaced != nil {
		err := p.authorize(CallRequest{Kind: RequestReplaces, Call: c.id, Related: replaced.id, Target: uriString(req.Recipient), Source: req.Source()})
		if err != nil {
			code, reason := refusal(err)
			_ = d.Respond(code, reason, nil)
			c.finish(EndInfo{Cause: EndRejected, Code: code, Reason: reason, Text: "replaces: refused by the call gate"})
			return
		}
	}
	_ = d.Trying()
	// The offer's hold state now, before anything is published: applied
	// after the answer it raced the peer's first re-INVITE and could undo
	// a hold that had already arrived (soak: "callee never saw the hold").
	p.applyRemoteSDP(c, req.Body())
	var scr Screening
	if p.cfg.Screen != nil && replaced == nil {
		scr = p.cfg.Screen(c.snapshot())
	}
	c.apply(inOffer, func(ci *CallInfo) {
		ci.Screen = scr.Action
		ci.Rule = scr.Rule
		if replaced != nil {
			ci.Replaced = replaced.id
		}
	})
	if replaced != nil {
		_ = p.Answer(c.id) // RFC 3891 §3: accept without alerting
	}
	if scr.Action == ScreenReject || scr.Action == ScreenRedirect {
		c.finish(respondScreening(d, scr))
		return
	}
	if err := d.Ringing(); err != nil {
		c.finish(EndInfo{Cause: EndFailed, Text: "ringing: " + err.Error()})
		return
	}

	var noAnswer <-chan time.Time
	if scr.NoAnswer > 0 && scr.NoAnswerThen != nil {
		t := time.NewTimer(scr.NoAnswer)
		defer t.Stop()
		noAnswer = t.C
	}
	var dec decision
	select {
	case <-d.Context().Done():
		c.finish(p.cancelEnd(c))
		return
	case <-p.ctx.Done():
		_ = d.Respond(503, "Service Unavailable", nil)
		c.finish(EndInfo{Cause: EndFailed, Text: "shutting down"})
		return
	case <-noAnswer:
		then := *scr.NoAnswerThen
		c.mu.Lock()
		still := c.info.State == CallIncoming
		if still {
			c.ending = true
			c.info.Rule = then.Rule
		}
		c.mu.Unlock()
		if still {
			end := respondScreening(d, then)
			end.Cause = EndTimeout
			c.finish(end)
			return
		}
		dec = <-c.decision // an Answer or Reject raced the timer and won
	case dec = <-c.decision:
	}
	if !dec.answer {
		_ = d.Respond(dec.code, dec.reason, nil, dec.hdrs...)
		c.finish(EndInfo{Cause: EndRejected, Code: dec.code, Reason: dec.reason})
		return
	}
	if err := p.srtpAnswerIncoming(c, d); err != nil { // srtp.go
		_ = d.Respond(488, "Not Acceptable Here", nil)
		c.finish(EndInfo{Cause: EndFailed, Code: 488, Reason: "Not Acceptable Here", Text: err.Error()})
		return
	}
	err := d.AnswerOptions(diago.AnswerOptions{
		Codecs:        p.answerCodecs(d.InviteRequest.Body()), // codec.go: Opus on the offerer's payload type
		OnMediaUpdate: func(m *diago.DialogMedia) { p.onMediaUpdate(c, m) },
		OnRefer:       func(rd *diago.DialogClientSession) error { return p.onRefer(c, rd) },
	})
	if err != nil {
		if d.InviteResponse != nil && d.InviteResponse.StatusCode == 200 && d.Context().Err() != nil {
			// Our 200 went out and the dialog already ended: the peer's
			// BYE was handled before its ACK (sipgo runs each message on
			// its own goroutine; sipp -d 0 sends them back to back). The
			// call was answered and the remote hung up.
			c.apply(inAck, func(ci *CallInfo) { ci.Answered = time.Now() })
			c.finish(c.remoteHangup()) // byereason.go
			return
		}
		if d.InviteResponse != nil && d.InviteResponse.StatusCode == 200 && noAck(d, err) {
			p.endUnacked(c, d) // noack.go
			return
		}
		if d.InviteResponse != nil && d.InviteResponse.StatusCode == 200 {
			// Our 200 is out and the dialog lives: sipgo stopped waiting for
			// the ACK because another in-dialog request (an early re-INVITE
			// from the peer) moved the dialog first. The call is answered; a
			// 488 now would contradict our own 200.
			p.log.Info("answered without a clean ACK wait", "call_id", c.id, "err", err)
		} else {
			// diago could not build an answer (no common codec, broken SDP).
			_ = d.Respond(488, "Not Acceptable Here", nil)
			c.finish(EndInfo{Cause: EndFailed, Code: 488, Reason: "Not Acceptable Here", Text: err.Error()})
			return
		}
	}
	c.mu.Lock()
	c.dialog = d
	hungUp := c.ending
	c.mu.Unlock()
	if hungUp {
		// Hangup arrived while we waited for the ACK: the dialog is
		// confirmed now, so BYE it here, in the call's own goroutine.
		if err := p.sendBye(c, d); err != nil {
			c.log.Warn("hangup", "call_id", c.id, "err", err)
		}
		c.finish(EndInfo{Cause: EndLocalHangup})
		return
	}
	sec := c.srtpState().suite() // srtp.go
	c.apply(inAck, func(ci *CallInfo) {
		ci.Answered = time.Now()
		ci.Codec = codecName(d.Media())
		ci.SRTP = sec
	})
	p.startMedia(c, d.Media())
	if replaced != nil {
		p.endReplaced(replaced)
	}
	p.waitEnd(c, d.Context())
}

// cancelNote is what a CANCEL of an incoming call said: its Reason
// header (RFC 3326) and ms-diagnostics(-public).
type cancelNote struct {
	reason string
	diag   Diagnostic
}

// cancelEnd says why an unanswered incoming call went away.
func (p *Phone) cancelEnd(c *call) EndInfo {
	p.mu.Lock()
	note, ok := p.cancels[c.sipCallID]
	p.mu.Unlock()
	if !ok {
		return EndInfo{Cause: EndCallerCancelled, Text: "caller gave up"}
	}
	end := p.cancelReason(note.reason)
	end.Diagnostic = note.diag
	if note.reason == "" && end.Text == "" {
		end.Text = "caller gave up"
	}
	return end
}

// cancelReason is the EndInfo a CANCEL's Reason header says.
func (p *Phone) cancelReason(reason string) EndInfo {
	end := EndInfo{Cause: EndCallerCancelled}
	if reason == "" {
		return end
	}
	if rs, err := ParseReasons(reason); err == nil {
		for _, r := range rs {
			switch {
			case strings.EqualFold(r.Protocol, "SIP") && r.Cause == 200:
				// RFC 3326: the call was completed elsewhere, whatever the text says.
				end = EndInfo{Cause: EndAnsweredElsewhere, Code: 200, Text: r.Text}
			case strings.EqualFold(r.Protocol, "Q.850"):
				end.Q850 = r.Cause
				if end.Text == "" {
					end.Text = r.Text
				}
			}
		}
	}
	return end
}

// waitEnd blocks until the dialog ends, then records why.
func (p *Phone) waitEnd(c *call, dctx context.Context) {
	select {
	case <-dctx.Done():
	case <-c.gone:
	}
	p.stopMedia(c)
	c.mu.Lock()
	local := c.ending
	c.mu.Unlock()
	if local {
		c.finish(EndInfo{Cause: EndLocalHangup})
		return
	}
	c.finish(c.remoteHangup()) // byereason.go
}

// Answer accepts an incoming call that is ringing.
func (p *Phone) Answer(id CallID) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	if c.info.Direction != Incoming || c.state() != CallIncoming {
		return ErrBadState
	}
	if !c.apply(inAnswer, nil) {
		return ErrBadState
	}
	c.decision <- decision{answer: true}
	return nil
}

// Reject declines an incoming ringing call with code (default 486) and an
// optional reason phrase; a Q.850 Reason header matching the code is added
// (RFC 3326).
func (p *Phone) Reject(id CallID, code int, reason string) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	if c.info.Direction != Incoming || c.state() != CallIncoming {
		return ErrBadState
	}
	if code == 0 {
		code = 486
	}
	if code < 300 || code > 699 {
		return fmt.Errorf("phone: reject code %d is not 3xx-6xx", code)
	}
	if reason == "" {
		reason = SIPPhrase(code)
		if reason == "" {
			reason = "Rejected"
		}
	}
	var hdrs []sip.Header
	if q := Q850ForSIP(code); q != 0 {
		hdrs = append(hdrs, sip.NewHeader("Reason", ReasonHeader{Protocol: "Q.850", Cause: q, Text: Q850Text(q)}.String()))
	}
	if !c.apply(inLocalEnd, func(ci *CallInfo) {}) {
		return ErrBadState
	}
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	c.decision <- decision{code: code, reason: reason, hdrs: hdrs}
	return nil
}

// Hangup ends a call in any state: BYE when established, CANCEL while an
// outgoing call rings, 603 Decline for an incoming call not yet answered.
func (p *Phone) Hangup(id CallID) error { return p.HangupContext(p.ctx, id) }

// HangupContext is Hangup for a caller whose ctx bounds the BYE
// transaction (5 s at most, as for Hangup); the call ends either way.
func (p *Phone) HangupContext(ctx context.Context, id CallID) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	return c.hangupCtx(ctx)
}

func (c *call) hangup() error { return c.hangupCtx(c.p.ctx) }

// hangupCtx ends the call; ctx bounds the BYE.
func (c *call) hangupCtx(ctx context.Context) error {
	c.mu.Lock()
	if c.ending || c.info.State == CallEnded {
		c.mu.Unlock()
		return nil
	}
	st, dir, dlg, cancel := c.info.State, c.info.Direction, c.dialog, c.cancelInvite
	c.mu.Unlock()
	if dir == Incoming && st == CallIncoming {
		return c.p.Reject(c.id, 603, "Decline")
	}
	if !c.apply(inLocalEnd, nil) {
		return ErrBadState
	}
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	if st == CallAnswering {
		// serveIncoming sends the BYE once the ACK is in (RFC 3261 §15:
		// not before it, or Timer H); the call is over for the user now,
		// whatever the caller does with its ACK (issue 17).
		c.finish(EndInfo{Cause: EndLocalHangup})
		return nil
	}
	if dlg != nil && st == CallActive {
		if c.p.ctx.Err() != nil {
			// The phone's context is gone and with it our listener: a BYE
			// would leave from a fresh socket nobody answers, and
			// Shutdown would wait its 5 s for nothing.
			c.markGone()
			_ = dlg.Close()
			return nil
		}
		// The BYE is tracked in the background; the dialog ends for us
		// now and the call goroutine ends the call (bye.go).
		if err := c.p.sendBye(c, dlg); err != nil {
			c.log.Warn("hangup", "call_id", c.id, "err", err)
			// The dialog is gone for us either way: drop it.
			c.markGone()
			_ = dlg.Close()
		}
		return nil
	}
	if cancel != nil {
		cancel() // diago sends CANCEL
		c.endSoon()
	}
	return nil
}

// cancelGrace is how long a cancelled outgoing call may wait for the
// callee's 487 before it ends for the user anyway.
const cancelGrace = 500 * time.Millisecond

// endSoon ends a call we cancelled for the user after cancelGrace, whatever
// the callee does with our CANCEL (issue 17): sipgo sends it with no
// deadline but Timer F and then waits 64*T1 for the 487, so a callee that
// ignores it kept the call "ending" for over a minute. The INVITE and the
// CANCEL stay tracked in the background (inflight.go).
func (c *call) endSoon() {
	time.AfterFunc(cancelGrace, func() {
		// Runs once, on its own: finish is a no-op on an ended call.
		c.finish(EndInfo{Cause: EndLocalHangup, Text: "cancelled; the callee did not confirm in time"})
	})
}

// SendDTMF sends digits (0-9 * # A-D) as RFC 4733 events, in order.
func (p *Phone) SendDTMF(id CallID, digits string) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	for _, r := range digits {
		if !strings.ContainsRune("0123456789*#ABCDabcd", r) {
			return fmt.Errorf("phone: %q is not a DTMF digit", r)
		}
	}
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return ErrBadState
	}
	return m.queueDTMF(strings.ToUpper(digits))
}

// SetMute mutes or unmutes our uplink (we keep sending silence so NAT
// bindings and the peer's RTP timeout stay happy).
func (p *Phone) SetMute(id CallID, on bool) error {
	c := p.lookup(id)
	if c == nil {
		return ErrNoSuchCall
	}
	c.update(func(ci *CallInfo) { ci.Muted = on })
	return nil
}

func (p *Phone) recoverCall(c *call) {
	if r := recover(); r != nil {
		p.log.Error("call goroutine panic", "call_id", c.id, "panic", r)
		c.finish(EndInfo{Cause: EndFailed, Text: fmt.Sprint("internal error: ", r)})
	}
}

func codecName(m *diago.DialogMedia) string {
	if m == nil || m.MediaSession() == nil {
		return ""
	}
	props := diago.MediaProps{}
	_, _ = m.AudioReader(diago.WithAudioReaderMediaProps(&props))
	return props.Codec.Name
}

func transportOf(u sip.Uri, def string) string {
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			return strings.ToLower(t)
		}
	}
	if u.IsEncrypted() { // RFC 3261 §26.2.2: sips: means TLS (tls.go)
		return "tls"
	}
	return def
}

func uriString(u sip.Uri) string {
	v := sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
	if v.Scheme == "" {
		v.Scheme = "sip"
	}
	return v.String()
}

func hostOf(uri string) string {
	u, err := parseURI(uri)
	if err != nil {
		return ""
	}
	return u.HostPort()
}

func partyOf(display string, u sip.Uri) Party {
	return Party{DisplayName: strings.Trim(display, `"`), URI: uriString(u), User: u.User}
}

// remoteParty prefers P-Asserted-Identity (RFC 3325) over From for the
// caller's identity.
func remoteParty(req *sip.Request) Party {
	from := req.From()
	p := partyOf(from.DisplayName, from.Address)
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		var u sip.Uri
		params := sip.NewParams()
		if name, err := sip.ParseAddressValue(h.Value(), &u, &params); err == nil && u.Host != "" {
			q := partyOf(name, u)
			if q.DisplayName == "" {
				q.DisplayName = p.DisplayName
			}
			return q
		}
	}
	return p
}

var keptHeaders = []string{"History-Info", "Diversion", "Referred-By", "P-Asserted-Identity", "Reason", "Alert-Info", "Call-Info", "Replaces"}

func interestingHeaders(req *sip.Request) map[string][]string {
	var out map[string][]string
	for _, name := range keptHeaders {
		for _, h := range req.GetHeaders(name) {
			if out == nil {
				out = make(map[string][]string)
			}
			out[name] = append(out[name], h.Value())
		}
	}
	return out
}

func sortCalls(cs []CallInfo) {
	slices.SortFunc(cs, func(a, b CallInfo) int { return a.Created.Compare(b.Created) })
}

// fromTagOf is the tag parameter of req's From header, "" if none.
func fromTagOf(req *sip.Request) string {
	if f := req.From(); f != nil {
		tag, _ := f.Params.Get("tag")
		return tag
	}
	return ""
}
