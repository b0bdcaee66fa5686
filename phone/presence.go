package phone

// Serving dialog state (RFC 4235 over RFC 6665) without a presence server:
// a watcher SUBSCRIBEs to "dialog" at this phone for a user it serves; we
// answer 200 and NOTIFY the full dialog-info at once, on every change of
// that user's calls, on refresh, and a final NOTIFY with
// Subscription-State: terminated at expiry or unsubscribe (Expires: 0).
//
// Whose state is served is a PresenceSource: by default the phone's own
// user and its own calls; the AnyDevice controller serves each of its
// users (desk and device calls) with per-user digest authentication.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Subscription bounds (RFC 6665 §4.2.1.1, RFC 4235 §3.3: default 3600 s).
const (
	presenceDefaultExpiry = 3600
	presenceMaxSubs       = 1024
)

// The granted expiry's bounds; variables so that tests can expire a
// subscription in seconds.
var (
	presenceMaxExpiry = 3600
	presenceMinExpiry = 60
)

// PresenceSource says whose dialog state the phone serves and to whom.
type PresenceSource struct {
	// Lookup returns the dialog state of the user named by a SUBSCRIBE's
	// Request-URI user part; false means we do not serve that user (404).
	// It must not block.
	Lookup func(user string) (vocab.PresenceInfo, bool)
	// Password returns the digest password of a watcher (the username of
	// its Authorization); nil serves without authentication (the phone's
	// own state: the source ACL applies). An unknown watcher gets 403.
	Password func(watcher string) (string, bool)
	// Realm is the digest realm (default "anyphone").
	Realm string
	// Canonical names the user a SUBSCRIBE names (an id, a number, an
	// alias) the way PresenceChanged does: a subscription is keyed on it,
	// so that a watcher by number gets the NOTIFYs of every change. nil
	// keeps the Request-URI user as it is.
	Canonical func(user string) string
}

// presenceServer holds the dialog subscriptions this phone serves.
type presenceServer struct {
	mu   sync.Mutex
	src  PresenceSource
	subs map[string]*dialogSub // Call-ID + our tag
	auth *diago.DigestAuthServer
	pubs map[string]*publisher // publish.go: by user; empty without a presence server
}

// dialogSub is one watcher's subscription to one user's dialog state.
type dialogSub struct {
	p        *Phone
	key      string
	user     string
	callID   string
	from     sip.FromHeader // us: the SUBSCRIBE's To with our tag
	to       sip.ToHeader   // the watcher: the SUBSCRIBE's From
	target   sip.Uri        // the watcher's Contact
	routes   []sip.Uri      // the route set: the SUBSCRIBE's Record-Route, in order (RFC 3261 §12.1.1)
	eventHdr string
	pidf     bool // the presence package (pidf.go): PIDF bodies, not dialog-info

	mu       sync.Mutex
	cseq     uint32
	version  uint64
	expires  time.Time
	timer    *time.Timer
	last     map[string]vocab.DialogState // dialogs in the last NOTIFY
	lastDoc  string                       // its body at version 0: unchanged state sends nothing
	dirty    bool                         // a NOTIFY is wanted (notifySub)
	force    bool                         // ... even if the state did not change
	endState string                       // the final NOTIFY is wanted with this Subscription-State (endSub)
	final    bool                         // the final NOTIFY is built: nothing more
	wake     chan struct{}
}

// ServePresence replaces whose dialog state the phone serves. Call it
// before Start or at any time; existing subscriptions stay.
func (p *Phone) ServePresence(src PresenceSource) {
	p.presence.mu.Lock()
	defer p.presence.mu.Unlock()
	p.presence.src = src
}

// ownPresence is the default source: the phone's own user and calls.
func (p *Phone) ownPresence(user string) (vocab.PresenceInfo, bool) {
	if !p.ServesUser(user) {
		return vocab.PresenceInfo{}, false
	}
	info := vocab.PresenceInfo{Entity: p.entity()}
	for _, c := range p.Calls() {
		// An ending call is gone for its watchers: the next NOTIFY shows
		// it terminated once (buildLocked), not again when it has ended.
		if d := DialogStateOf(c); d.State != vocab.PhaseTerminated {
			info.Dialogs = append(info.Dialogs, d)
		}
	}
	return info, true
}

// ServesUser reports whether user (a Request-URI user part) is this
// phone's own user: its name or its account's AOR user.
func (p *Phone) ServesUser(user string) bool {
	if strings.EqualFold(user, p.cfg.Name) {
		return true
	}
	a := p.cfg.Account
	return a != nil && user != "" && strings.EqualFold(user, userOf(a.AOR))
}

// Entity is our AOR for presence: the account's, else our direct URI.
func (p *Phone) Entity() string { return p.entity() }

func (p *Phone) entity() string {
	if a := p.cfg.Account; a != nil && a.AOR != "" {
		return a.AOR
	}
	return fmt.Sprintf("sip:%s@%s", p.cfg.Name, p.Addr())
}

func userOf(uri string) string {
	u, err := parseURI(uri)
	if err != nil {
		return ""
	}
	return u.User
}

// DialogStateOf is a call as an RFC 4235 dialog: the call-id and tags
// from our side, the direction, the state and the remote identity.
func DialogStateOf(c CallInfo) vocab.DialogState {
	d := vocab.DialogState{
		ID: string(c.ID), CallID: c.SIPCallID, Direction: c.Direction, State: vocab.PhaseOf(c.State),
		Local: c.Local, Remote: c.Remote, Device: c.Device, Held: c.LocalHold,
		Conference: c.Conference != "", RemoteTarget: c.RemoteTarget,
	}
	if c.Direction == Incoming {
		d.LocalTag, d.RemoteTag = c.SIPToTag, c.SIPFromTag
	}
	return d
}

// PresenceChanged NOTIFYs every watcher of user with the user's current
// dialog state (dialogs gone since the last NOTIFY as terminated). It
// never blocks on the network.
func (p *Phone) PresenceChanged(user string) {
	match := func(u string) bool { return strings.EqualFold(u, user) }
	p.presenceChangedFor(match)
	p.publishChanged(match)
}

// OwnPresenceChanged NOTIFYs the watchers of our own user (ServesUser)
// and, with a presence server, PUBLISHes our new state (publish.go).
func (p *Phone) OwnPresenceChanged() {
	p.presenceChangedFor(p.ServesUser)
	p.publishChanged(p.ServesUser)
}

func (p *Phone) presenceChangedFor(match func(user string) bool) {
	p.presence.mu.Lock()
	var subs []*dialogSub
	for _, s := range p.presence.subs {
		if match(s.user) {
			subs = append(subs, s)
		}
	}
	p.presence.mu.Unlock()
	for _, s := range subs {
		p.notifySub(s, false)
	}
}

// presenceCallChanged is called for every call event of the phone's own
// calls: the default source's watchers learn of it.
func (p *Phone) presenceCallChanged(ci CallInfo) {
	p.presence.mu.Lock()
	own := p.presence.src.Lookup == nil
	p.presence.mu.Unlock()
	if own {
		p.OwnPresenceChanged()
	}
}

func (p *Phone) presenceSource() PresenceSource {
	p.presence.mu.Lock()
	defer p.presence.mu.Unlock()
	src := p.presence.src
	if src.Lookup == nil {
		src.Lookup = p.ownPresence
	}
	if src.Realm == "" {
		src.Realm = "anyphone"
	}
	return src
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

// serveDialogSubscribe answers a SUBSCRIBE for the dialog package.
func (p *Phone) serveDialogSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	p.serveStateSubscribe(req, tx, false)
}

// servePIDFSubscribe answers a SUBSCRIBE for the presence package (RFC
// 3856): the same subscriptions, with PIDF bodies (pidf.go).
func (p *Phone) servePIDFSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	p.serveStateSubscribe(req, tx, true)
}

func (p *Phone) serveStateSubscribe(req *sip.Request, tx sip.ServerTransaction, pidf bool) {
	mt := DialogInfoType
	if pidf {
		mt = PIDFType
	}
	if !acceptsType(req, mt) {
		respond(tx, req, 406, "Not Acceptable", sip.NewHeader("Accept", mt))
		return
	}
	expiry := presenceDefaultExpiry
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			respond(tx, req, 400, "Bad Request - Expires")
			return
		}
		expiry = min(n, presenceMaxExpiry)
		if expiry > 0 && expiry < presenceMinExpiry {
			respond(tx, req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(presenceMinExpiry)))
			return
		}
	}
	from, to := req.From(), req.To()
	if from == nil || to == nil || !from.Params.Has("tag") {
		respond(tx, req, 400, "Bad Request - From tag")
		return
	}
	if tag, ok := to.Params.Get("tag"); ok {
		// A refresh or unsubscribe names a subscription we granted: its
		// Call-ID and our random 64-bit tag are the watcher's proof, as
		// the authenticated SUBSCRIBE that created it was.
		p.refreshDialogSub(req, tx, tag, expiry)
		return
	}
	src := p.presenceSource()
	if src.Password != nil && !p.presenceAuthorized(req, tx, src) {
		return
	}
	user := req.Recipient.User
	if _, ok := src.Lookup(user); !ok {
		respond(tx, req, 404, "Not Found")
		return
	}
	if src.Canonical != nil {
		user = src.Canonical(user)
	}
	ct := req.Contact()
	if ct == nil {
		respond(tx, req, 400, "Bad Request - no Contact")
		return
	}
	tag := newTag()
	s := &dialogSub{
		p: p, user: user, callID: req.CallID().Value(),
		target:   *ct.Address.Clone(),
		eventHdr: req.GetHeader("Event").Value(),
		pidf:     pidf,
		last:     map[string]vocab.DialogState{},
		wake:     make(chan struct{}, 1),
	}
	s.key = s.callID + "/" + tag
	// The subscription is a dialog: its NOTIFYs pass the proxies that
	// record-routed the SUBSCRIBE (RFC 6665 §4.1.2.1, RFC 3261 §12.1.1:
	// the UAS keeps the Record-Route URIs in order).
	for _, h := range req.GetHeaders("Record-Route") {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(h.Value(), &u, &params); err != nil {
			respond(tx, req, 400, "Bad Request - Record-Route")
			return
		}
		s.routes = append(s.routes, u)
	}
	if len(s.routes) > 8 {
		respond(tx, req, 400, "Bad Request - Record-Route")
		return
	}
	s.from = sip.FromHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()}
	s.from.Params.Add("tag", tag)
	s.to = sip.ToHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()}
	p.presence.mu.Lock()
	if p.presence.subs == nil {
		p.presence.subs = map[string]*dialogSub{}
	}
	if len(p.presence.subs) >= presenceMaxSubs {
		p.presence.mu.Unlock()
		respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "60"))
		return
	}
	if expiry > 0 {
		p.presence.subs[s.key] = s
	}
	p.presence.mu.Unlock()

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", tag)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expiry)))
	res.AppendHeader(sip.NewHeader("Contact", "<"+p.URI()+">"))
	_ = tx.Respond(res)
	p.log.Info("dialog subscription", "user", user, "watcher", from.Address.String(), "expires", expiry)
	p.wg.Go(s.run) // owned by the phone: ends after the final NOTIFY or at Close
	if expiry == 0 {
		// RFC 6665 §4.2.1.4: a fetch: one NOTIFY, then terminated.
		p.endSub(s, "terminated;reason=timeout")
		return
	}
	s.setExpiry(expiry)
	p.notifySub(s, true)
}

// refreshDialogSub handles a SUBSCRIBE inside an existing subscription:
// refresh, or unsubscribe with Expires: 0.
func (p *Phone) refreshDialogSub(req *sip.Request, tx sip.ServerTransaction, tag string, expiry int) {
	key := req.CallID().Value() + "/" + tag
	ft, _ := req.From().Params.Get("tag")
	p.presence.mu.Lock()
	s := p.presence.subs[key]
	if s != nil && ft != s.toTag() {
		s = nil // the same Call-ID and our tag, another watcher's From tag
	}
	if s != nil && expiry == 0 {
		delete(p.presence.subs, key)
	}
	p.presence.mu.Unlock()
	if s == nil {
		respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	respond(tx, req, 200, "OK", sip.NewHeader("Expires", strconv.Itoa(expiry)), sip.NewHeader("Contact", "<"+p.URI()+">"))
	if expiry == 0 {
		p.log.Info("dialog unsubscribe", "user", s.user)
		p.endSub(s, "terminated")
		return
	}
	s.setExpiry(expiry)
	p.notifySub(s, true) // RFC 6665 §4.2.1.2: a refresh gets a NOTIFY
}

// toTag is the watcher's tag.
func (s *dialogSub) toTag() string {
	t, _ := s.to.Params.Get("tag")
	return t
}

// setExpiry (re)arms the subscription's expiry timer.
func (s *dialogSub) setExpiry(expiry int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expires = time.Now().Add(time.Duration(expiry) * time.Second)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(time.Duration(expiry)*time.Second, func() {
		s.p.log.Info("dialog subscription expired", "user", s.user)
		s.p.endSub(s, "terminated;reason=timeout")
	})
}

// endSub asks for the final NOTIFY with state (a terminated
// Subscription-State); run sends it and ends.
func (p *Phone) endSub(s *dialogSub, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final || s.endState != "" {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.endState = state
	s.wakeLocked()
}

// notifySub asks for a NOTIFY with the user's current state; unless force
// (the first NOTIFY, a refresh), only when the state changed. It returns
// at once: run looks the state up and sends.
func (p *Phone) notifySub(s *dialogSub, force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	s.force = s.force || force
	s.wakeLocked()
}

// wakeLocked wakes run. s.mu must be held.
func (s *dialogSub) wakeLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// queueLocked builds the next NOTIFY: the current dialogs plus those of
// the last NOTIFY that are gone, as terminated; nothing when the state is
// the last NOTIFY's and not force. s.mu must be held.
func (s *dialogSub) buildLocked(info vocab.PresenceInfo, state string, force bool) *sip.Request {
	var body []byte
	ctype := DialogInfoType
	if s.pidf {
		b, err := MarshalPIDF(info)
		if err != nil || (!force && string(b) == s.lastDoc) {
			return nil
		}
		body, ctype, s.lastDoc = b, PIDFType, string(b)
	} else {
		doc, key, next, gone := diffDialogs(s.last, info) // publish.go
		if !force && gone == 0 && key == s.lastDoc {
			return nil
		}
		b, err := MarshalDialogInfo(doc, s.version)
		if err != nil {
			s.p.log.Warn("dialog-info", "err", err)
			return nil
		}
		body = b
		s.last, s.lastDoc = next, key
	}
	s.version++
	s.cseq++
	req := sip.NewRequest(sip.NOTIFY, *s.target.Clone())
	s.addRoutes(req)
	from, to := s.from, s.to
	from.Params, to.Params = s.from.Params.Clone(), s.to.Params.Clone()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	req.AppendHeader(sip.NewHeader("Contact", "<"+s.p.URI()+">"))
	req.AppendHeader(sip.NewHeader("Event", s.eventHdr))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	req.SetBody(body)
	return req
}

// addRoutes puts the subscription's route set on a NOTIFY (RFC 3261
// §12.2.1.1): loose routing keeps the watcher's Contact as Request-URI
// and sipgo sends to the first Route; a strict router (no lr) becomes the
// Request-URI and the Contact the last Route.
func (s *dialogSub) addRoutes(req *sip.Request) {
	routes := s.routes
	if len(routes) == 0 {
		return
	}
	if !routes[0].UriParams.Has("lr") {
		req.Recipient = *routes[0].Clone()
		routes = append(append([]sip.Uri(nil), routes[1:]...), *s.target.Clone())
	}
	for _, r := range routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
}

// run sends the subscription's NOTIFYs in order, each awaited (RFC 6665
// §4.2.2: one NOTIFY at a time keeps versions in order at the watcher).
// Started by serveDialogSubscribe, owned by the phone's WaitGroup.
func (s *dialogSub) run() {
	for {
		s.mu.Lock()
		if !s.dirty && s.endState == "" {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.p.ctx.Done():
				return
			}
		}
		force, end := s.force, s.endState
		s.dirty, s.force = false, false
		s.mu.Unlock()

		info, ok := s.p.presenceSource().Lookup(s.user) // no lock held: the source takes its own
		if !ok && end == "" {
			end = "terminated;reason=noresource"
		}
		s.mu.Lock()
		state := end
		if end == "" {
			state = "active;expires=" + strconv.Itoa(max(0, int(time.Until(s.expires).Seconds()+0.5)))
		} else {
			s.final = true
			if s.timer != nil {
				s.timer.Stop()
			}
		}
		req := s.buildLocked(info, state, force || end != "")
		s.mu.Unlock()
		if end != "" {
			s.p.presence.mu.Lock()
			delete(s.p.presence.subs, s.key)
			s.p.presence.mu.Unlock()
		}
		if req != nil && !s.send(req) {
			return
		}
		if end != "" {
			return
		}
	}
}

// send sends one NOTIFY and waits for its answer; false when the watcher
// refused it, which ends the subscription (RFC 6665 §4.2.2).
func (s *dialogSub) send(req *sip.Request) bool {
	ctx, cancel := context.WithTimeout(s.p.ctx, notifyTimeout)
	res, err := s.p.cli.Do(ctx, req)
	cancel()
	switch {
	case err != nil:
		s.p.log.Info("dialog notify unanswered", "user", s.user, "err", err)
	case res.StatusCode >= 300 && res.StatusCode != 408 && res.StatusCode < 500:
		s.p.log.Info("dialog notify refused: subscription ended", "user", s.user, "code", res.StatusCode)
		s.p.presence.mu.Lock()
		delete(s.p.presence.subs, s.key)
		s.p.presence.mu.Unlock()
		s.mu.Lock()
		s.final = true
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
		return false
	}
	return true
}

// presenceAuthorized checks the watcher's digest credentials; false means
// it has answered (401 challenge, 403 unknown watcher).
func (p *Phone) presenceAuthorized(req *sip.Request, tx sip.ServerTransaction, src PresenceSource) bool {
	p.presence.mu.Lock()
	if p.presence.auth == nil {
		p.presence.auth = diago.NewDigestServer()
	}
	auth := p.presence.auth
	p.presence.mu.Unlock()
	watcher := ""
	if h := req.GetHeader("Authorization"); h != nil {
		cred, err := digest.ParseCredentials(h.Value())
		if err != nil {
			respond(tx, req, 400, "Bad Request - Authorization")
			return false
		}
		watcher = cred.Username
		if _, ok := src.Password(watcher); !ok {
			p.log.Info("dialog subscribe refused: unknown watcher", "watcher", clip(watcher, 40))
			respond(tx, req, 403, "Forbidden")
			return false
		}
	}
	pw, _ := src.Password(watcher)
	res, err := auth.AuthorizeRequest(req, diago.DigestAuth{Username: watcher, Password: pw, Realm: src.Realm})
	if res.StatusCode == 200 {
		return true
	}
	if err != nil && !errors.Is(err, diago.ErrDigestAuthNoChallenge) && !errors.Is(err, diago.ErrDigestAuthBadCreds) {
		p.log.Info("dialog subscribe auth", "err", err)
	}
	_ = tx.Respond(res)
	return false
}

// acceptsType reports whether the request's Accept headers allow mt; no
// Accept means the package default (RFC 6665 §4.1.2).
func acceptsType(req *sip.Request, mt string) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, r := range strings.Split(h.Value(), ",") {
			if i := strings.IndexByte(r, ';'); i >= 0 {
				r = r[:i]
			}
			switch r = strings.ToLower(strings.TrimSpace(r)); r {
			case mt, "application/*", "*/*":
				return true
			}
		}
	}
	return false
}

func newTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// closePresence stops the subscriptions' timers (Close).
func (p *Phone) closePresence() {
	p.presence.mu.Lock()
	defer p.presence.mu.Unlock()
	for _, s := range p.presence.subs {
		s.mu.Lock()
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
	}
	if p.presence.auth != nil {
		p.presence.auth.Close()
	}
}
