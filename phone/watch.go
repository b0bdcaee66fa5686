package phone

// Watching colleagues (issue 15): the phone SUBSCRIBEs to the "dialog"
// event package (RFC 4235, RFC 6665) of each target, refreshes before
// expiry, subscribes again with a backoff after a failure or a terminated
// subscription, and reports every NOTIFY as a PresenceReceived event with
// the colleague's full dialog state.

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

// Watch is one watched colleague (vocab.Watch).
type Watch = vocab.Watch

// PresenceReceived reports a watched colleague's new state: after each
// NOTIFY, and when the subscription fails or is retried.
type PresenceReceived struct{ Watch Watch }

func (PresenceReceived) phoneEvent() {}

// Subscription timing for watches.
const (
	watchExpiry     = 600 * time.Second
	watchMinBackoff = 2 * time.Second
	watchMaxBackoff = 5 * time.Minute
	watchTimeout    = 8 * time.Second
	maxWatches      = 256
)

// watchSet holds the phone's watches.
type watchSet struct {
	mu       sync.Mutex
	byTarget map[string]*watcher
	byCallID map[string]*watcher
}

// watcher is one subscription to one target, run by its own goroutine.
type watcher struct {
	p      *Phone
	target sip.Uri
	cancel context.CancelFunc
	term   chan struct{} // a NOTIFY terminated the subscription
	// pidf marks the companion subscription to the presence package
	// (RFC 3856, pidf.go) a watch runs beside its dialog one: its PIDF
	// says do-not-disturb, which dialog-info cannot; parent is the dialog
	// watcher whose Watch it sets Info.DND of. It emits nothing itself.
	pidf   bool
	parent *watcher

	mu      sync.Mutex
	callID  string
	fromTag string
	toTag   string
	cseq    uint32
	remote  *sip.Uri // the notifier's Contact: where refreshes go
	version uint64
	seen    bool // a NOTIFY with a body arrived in this subscription
	w       Watch
	dnd     bool // the companion's last PIDF said DND (kept across dialog NOTIFYs)
}

// Watch subscribes to target's dialog state (a SIP URI, or a user name
// in our account's domain) until Unwatch or Close. Watching a target
// already watched does nothing. State arrives as PresenceReceived events.
func (p *Phone) Watch(target string) (Watch, error) {
	uri, err := p.watchURI(target)
	if err != nil {
		return Watch{}, err
	}
	key := uri.String()
	p.watching.mu.Lock()
	if w := p.watching.byTarget[key]; w != nil {
		p.watching.mu.Unlock()
		return w.snapshot(), nil
	}
	if len(p.watching.byTarget) >= maxWatches {
		p.watching.mu.Unlock()
		return Watch{}, fmt.Errorf("watch %s: %d watches already", key, maxWatches)
	}
	if p.ctx == nil {
		p.watching.mu.Unlock()
		return Watch{}, ErrClosed
	}
	if p.watching.byTarget == nil {
		p.watching.byTarget = map[string]*watcher{}
		p.watching.byCallID = map[string]*watcher{}
	}
	ctx, cancel := context.WithCancel(p.ctx)
	w := &watcher{p: p, target: uri, cancel: cancel, term: make(chan struct{}, 1),
		w: Watch{Target: key, State: vocab.WatchPending, Updated: time.Now()}}
	p.watching.byTarget[key] = w
	pres := &watcher{p: p, target: uri, cancel: cancel, term: make(chan struct{}, 1), pidf: true, parent: w,
		w: Watch{Target: key, State: vocab.WatchPending}}
	p.watching.mu.Unlock()
	p.wg.Go(func() { w.run(ctx) })    // owned by the phone: ends at Unwatch or Close
	p.wg.Go(func() { pres.run(ctx) }) // the same, for the presence package
	return w.snapshot(), nil
}

// Unwatch ends the subscription to target (Expires: 0).
func (p *Phone) Unwatch(target string) error {
	uri, err := p.watchURI(target)
	if err != nil {
		return err
	}
	p.watching.mu.Lock()
	w := p.watching.byTarget[uri.String()]
	delete(p.watching.byTarget, uri.String())
	p.watching.mu.Unlock()
	if w == nil {
		return fmt.Errorf("unwatch %s: %w", uri.String(), ErrNotWatched)
	}
	w.cancel()
	return nil
}

// Watches returns every watched colleague's state, in no particular order.
func (p *Phone) Watches() []Watch {
	p.watching.mu.Lock()
	ws := make([]*watcher, 0, len(p.watching.byTarget))
	for _, w := range p.watching.byTarget {
		ws = append(ws, w)
	}
	p.watching.mu.Unlock()
	out := make([]Watch, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.snapshot())
	}
	return out
}

// watchURI resolves a watch target: a sip: or sips: URI, or a bare user
// in the account's domain (or at our own host without an account).
func (p *Phone) watchURI(target string) (sip.Uri, error) {
	target = strings.TrimSpace(target)
	if target == "" || len(target) > 256 || strings.ContainsAny(target, "\r\n\x00 <>\"") {
		return sip.Uri{}, fmt.Errorf("watch %q: %w", clip(target, 40), ErrBadTarget)
	}
	if l := strings.ToLower(target); strings.Contains(l, ":") && !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		return sip.Uri{}, fmt.Errorf("watch %q: %w", clip(target, 40), ErrBadTarget)
	}
	if !strings.Contains(target, ":") {
		host := p.Addr()
		if a := p.cfg.Account; a != nil {
			if u, err := parseURI(a.AOR); err == nil {
				host = u.HostPort()
			}
		}
		target = "sip:" + target + "@" + host
	}
	u, err := parseURI(target)
	if err != nil || u.User == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		return sip.Uri{}, fmt.Errorf("watch %q: %w", clip(target, 40), ErrBadTarget)
	}
	return u, nil
}

func (w *watcher) snapshot() Watch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w
}

// update changes the watch under its lock and reports the new value. The
// presence companion only keeps its own state: its parent reports.
func (w *watcher) update(f func(*Watch)) {
	if w.parent != nil {
		w.mu.Lock()
		f(&w.w)
		w.mu.Unlock()
		return
	}
	w.mu.Lock()
	f(&w.w)
	w.w.Updated = time.Now()
	v := w.w
	w.mu.Unlock()
	w.p.emit(PresenceReceived{Watch: v})
}

// run is the watch goroutine: subscribe, refresh, resubscribe with
// backoff; at the end unsubscribe.
func (w *watcher) run(ctx context.Context) {
	backoff := watchMinBackoff
	defer w.forget()
	for ctx.Err() == nil {
		expires, err := w.subscribe(ctx, true, watchExpiry)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			code := 0
			var re *RejectedError
			if errors.As(err, &re) {
				code = re.Code
			}
			if w.pidf && (code == 489 || code == 405 || code == 501) {
				w.p.log.Debug("watch: no presence package there", "target", w.w.Target, "code", code)
				return // the peer serves dialog state only
			}
			w.p.log.Info("watch subscribe failed", "target", w.w.Target, "err", err, "retry_in", backoff)
			w.update(func(x *Watch) {
				x.State, x.Code, x.Err, x.Info = vocab.WatchRetrying, code, err.Error(), vocab.PresenceInfo{}
			})
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, watchMaxBackoff)
			continue
		}
		backoff = watchMinBackoff
		for {
			// Refresh at 80 % of the granted time (RFC 6665 §4.1.2.2).
			t := time.NewTimer(max(expires*8/10, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				w.unsubscribe()
				return
			case <-w.term:
				t.Stop()
			case <-t.C:
				if expires, err = w.subscribe(ctx, false, watchExpiry); err == nil {
					continue
				}
				w.p.log.Info("watch refresh failed", "target", w.w.Target, "err", err)
			}
			break
		}
		w.update(func(x *Watch) { x.State = vocab.WatchRetrying })
		if !sleepCtx(ctx, time.Second) {
			return
		}
	}
}

// forget drops the watcher's Call-ID from the NOTIFY routing.
func (w *watcher) forget() {
	w.mu.Lock()
	cid := w.callID
	w.mu.Unlock()
	w.p.watching.mu.Lock()
	if w.p.watching.byCallID[cid] == w {
		delete(w.p.watching.byCallID, cid)
	}
	w.p.watching.mu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// unsubscribe sends SUBSCRIBE with Expires: 0 (best effort, bounded).
func (w *watcher) unsubscribe() {
	w.mu.Lock()
	active := w.toTag != ""
	w.mu.Unlock()
	if !active || w.p.cli == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = w.subscribe(ctx, false, 0)
}

// subscribe sends one SUBSCRIBE: initial (a new dialog) or a refresh in
// the current one. It returns the granted expiry.
func (w *watcher) subscribe(ctx context.Context, initial bool, expiry time.Duration) (time.Duration, error) {
	p := w.p
	w.mu.Lock()
	if initial {
		old := w.callID
		w.callID, w.fromTag, w.toTag, w.cseq, w.remote, w.seen, w.version = newTag()+newTag()+"@anyphone", newTag(), "", 0, nil, false, 0
		p.watching.mu.Lock()
		delete(p.watching.byCallID, old)
		p.watching.byCallID[w.callID] = w
		p.watching.mu.Unlock()
	}
	w.cseq++
	ruri := w.target
	if w.remote != nil {
		ruri = *w.remote
	}
	req := sip.NewRequest(sip.SUBSCRIBE, *ruri.Clone())
	fromURI, _ := parseURI(p.entity())
	fromParams := sip.NewParams()
	fromParams.Add("tag", w.fromTag)
	req.AppendHeader(&sip.FromHeader{Address: fromURI, Params: fromParams})
	to := &sip.ToHeader{Address: *w.target.Clone(), Params: sip.NewParams()}
	if w.toTag != "" {
		to.Params.Add("tag", w.toTag)
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(w.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: w.cseq, MethodName: sip.SUBSCRIBE})
	w.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	req.AppendHeader(sip.NewHeader("Contact", "<"+p.URI()+">"))
	if w.pidf {
		req.AppendHeader(sip.NewHeader("Event", presenceEvent))
		req.AppendHeader(sip.NewHeader("Accept", PIDFType))
	} else {
		req.AppendHeader(sip.NewHeader("Event", "dialog"))
		req.AppendHeader(sip.NewHeader("Accept", DialogInfoType))
	}
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry.Seconds()))))
	if dest := p.outboundDest(w.target); dest != "" {
		req.SetDestination(dest)
	}
	tctx, cancel := context.WithTimeout(ctx, watchTimeout)
	defer cancel()
	res, err := p.cli.Do(tctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && p.cfg.Account != nil {
		a := p.cfg.Account
		user := a.Username
		if user == "" {
			user = userOf(a.AOR)
		}
		res, err = p.cli.DoDigestAuth(tctx, req, res, sipgo.DigestAuth{Username: user, Password: a.Password.Reveal()})
		if cs := req.CSeq(); cs != nil {
			w.mu.Lock()
			w.cseq = max(w.cseq, cs.SeqNo)
			w.mu.Unlock()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("subscribe %s: %w", w.target.String(), err)
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return 0, &RejectedError{Code: int(res.StatusCode), Reason: res.Reason}
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	w.mu.Lock()
	if t, ok := res.To().Params.Get("tag"); ok && w.toTag == "" {
		w.toTag = t
	}
	if ct := res.Contact(); ct != nil && w.remote == nil {
		w.remote = ct.Address.Clone()
	}
	w.mu.Unlock()
	return granted, nil
}

// serveDialogNotify takes a NOTIFY of the dialog package: the state of a
// colleague we watch. An unknown subscription gets 481, a body that is
// not dialog-info 400 (or 415) with the reason.
func (p *Phone) serveDialogNotify(req *sip.Request, tx sip.ServerTransaction) {
	p.watching.mu.Lock()
	w := p.watching.byCallID[req.CallID().Value()]
	p.watching.mu.Unlock()
	var toTag string
	if to := req.To(); to != nil {
		toTag, _ = to.Params.Get("tag")
	}
	if w != nil {
		w.mu.Lock()
		mine := toTag == w.fromTag
		w.mu.Unlock()
		if !mine {
			w = nil
		}
	}
	if w == nil {
		respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	state := ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		state = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	if state == "" {
		respond(tx, req, 400, "Bad Request - no Subscription-State")
		return
	}
	var (
		info    vocab.PresenceInfo
		version uint64
		hasBody = len(req.Body()) > 0
	)
	if w.pidf {
		p.servePIDFNotify(w, req, tx, hasBody, strings.HasPrefix(state, "terminated"))
		return
	}
	if hasBody {
		if ct := req.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), DialogInfoType) {
			respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", DialogInfoType))
			return
		}
		var err error
		if info, version, _, err = ParseDialogInfo(req.Body()); err != nil {
			p.log.Info("dialog notify refused", "err", err)
			respond(tx, req, 400, "Bad Request - "+clip(err.Error(), 80))
			return
		}
	}
	respond(tx, req, 200, "OK")
	terminated := strings.HasPrefix(state, "terminated")
	w.mu.Lock()
	if w.toTag == "" {
		if from := req.From(); from != nil {
			w.toTag, _ = from.Params.Get("tag")
		}
	}
	if ct := req.Contact(); ct != nil {
		w.remote = ct.Address.Clone()
	}
	stale := hasBody && w.seen && version < w.version
	if hasBody && !stale {
		w.seen, w.version = true, version
	}
	info.DND = w.dnd
	w.mu.Unlock()
	if stale {
		return // RFC 4235 §4.1: an older version is discarded
	}
	w.update(func(x *Watch) {
		if hasBody {
			x.Info = info
		}
		x.Code, x.Err = 0, ""
		x.State = vocab.WatchActive
		if terminated {
			x.State = vocab.WatchRetrying
		}
	})
	if terminated {
		select {
		case w.term <- struct{}{}:
		default:
		}
	}
}

// servePIDFNotify takes a NOTIFY of the presence companion w: its PIDF
// sets the parent watch's DND.
func (p *Phone) servePIDFNotify(w *watcher, req *sip.Request, tx sip.ServerTransaction, hasBody, terminated bool) {
	var st PIDFStatus
	if hasBody {
		if ct := req.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), PIDFType) {
			respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", PIDFType))
			return
		}
		var err error
		if st, err = ParsePIDF(req.Body()); err != nil {
			p.log.Info("presence notify refused", "err", err)
			respond(tx, req, 400, "Bad Request - "+clip(err.Error(), 80))
			return
		}
	}
	respond(tx, req, 200, "OK")
	w.mu.Lock()
	if w.toTag == "" {
		if from := req.From(); from != nil {
			w.toTag, _ = from.Params.Get("tag")
		}
	}
	if ct := req.Contact(); ct != nil {
		w.remote = ct.Address.Clone()
	}
	w.mu.Unlock()
	if terminated {
		st.DND = false // unknown again: no DND shown from a dead subscription
		select {
		case w.term <- struct{}{}:
		default:
		}
	}
	if !hasBody && !terminated {
		return
	}
	par := w.parent
	par.mu.Lock()
	changed := par.dnd != st.DND
	par.dnd = st.DND
	par.mu.Unlock()
	if changed {
		par.update(func(x *Watch) { x.Info.DND = st.DND })
	}
}
