package phone

// Publishing our dialog state to a presence server (RFC 3903 PUBLISH of
// RFC 4235 dialog-info, e.g. kamailio's presence + presence_dialoginfo):
// the first PUBLISH carries the state and gets a SIP-ETag; every change
// is a PUBLISH with SIP-If-Match and the new state; before expiry a
// refresh with SIP-If-Match and no body; a 412 (the server forgot the
// entity tag) starts over; at shutdown Expires: 0 removes it.

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

// publishExpiry is what we ask the server to keep our state for.
const publishExpiry = 600 * time.Second

// publisher PUBLISHes our state to one server. Its goroutine is owned by
// the phone (StartPublishing), and ends with the phone's context.
type publisher struct {
	p      *Phone
	dest   string // host:port of the server
	user   string // whose state (PresenceSource.Lookup)
	entity string // for which AOR; "" is ours
	pidf   bool   // Event: presence with PIDF (pidf.go), beside the dialog one
	wake   chan struct{}

	mu      sync.Mutex
	dirty   bool
	etag    string
	version uint64
	last    map[string]vocab.DialogState
	lastKey string
	ok      bool // the last PUBLISH succeeded
}

// StartPublishing PUBLISHes our dialog state (the PresenceSource's, for
// our own user) to server (a sip: URI or host:port) from now on, on
// every change. Call it after Start.
func (p *Phone) StartPublishing(server string) error {
	return p.StartPublishingFor(server, p.cfg.Name, "")
}

// StartPublishingFor PUBLISHes the dialog state of user (as the
// PresenceSource looks it up) for entity (its AOR at the presence server;
// "" is our own) to server, on every change (PresenceChanged(user), or
// OwnPresenceChanged for our own user). The AnyDevice controller publishes
// each of its users this way.
func (p *Phone) StartPublishingFor(server, user, entity string) error {
	dest := strings.TrimSpace(server)
	if strings.HasPrefix(strings.ToLower(dest), "sip:") {
		u, err := parseURI(dest)
		if err != nil || u.Host == "" {
			return fmt.Errorf("presence server %q: %w", clip(server, 60), ErrBadTarget)
		}
		dest = u.HostPort()
	}
	if dest == "" || strings.ContainsAny(dest, " \r\n<>@;") {
		return fmt.Errorf("presence server %q: %w", clip(server, 60), ErrBadTarget)
	}
	if entity != "" {
		if u, err := parseURI(entity); err != nil || u.User == "" {
			return fmt.Errorf("presence entity %q: %w", clip(entity, 60), ErrBadTarget)
		}
	}
	if p.ctx == nil {
		return ErrClosed
	}
	pub := &publisher{p: p, dest: dest, user: user, entity: entity, wake: make(chan struct{}, 1), dirty: true, last: map[string]vocab.DialogState{}}
	// The PIDF one says DND, which dialog-info cannot (RFC 3863); a
	// server without the presence package ends it at its 489.
	pres := &publisher{p: p, dest: dest, user: user, entity: entity, pidf: true, wake: make(chan struct{}, 1), dirty: true}
	p.presence.mu.Lock()
	if old := p.presence.pubs[strings.ToLower(user)]; old != nil {
		p.presence.mu.Unlock()
		return fmt.Errorf("presence server: already publishing %s to %s", user, old.dest)
	}
	if p.presence.pubs == nil {
		p.presence.pubs = map[string]*publisher{}
	}
	p.presence.pubs[strings.ToLower(user)] = pub
	p.presence.pubs[presenceEvent+"/"+strings.ToLower(user)] = pres
	p.presence.mu.Unlock()
	p.wg.Go(func() { pub.run(p.ctx) })
	p.wg.Go(func() { pres.run(p.ctx) })
	pub.poke()
	pres.poke()
	return nil
}

// publishChanged marks the state of the users match accepts changed for
// their publishers.
func (p *Phone) publishChanged(match func(user string) bool) {
	p.presence.mu.Lock()
	var pubs []*publisher
	for _, b := range p.presence.pubs {
		if match(b.user) {
			pubs = append(pubs, b)
		}
	}
	p.presence.mu.Unlock()
	for _, b := range pubs {
		b.mu.Lock()
		b.dirty = true
		b.mu.Unlock()
		b.poke()
	}
}

func (b *publisher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run is the publisher goroutine.
func (b *publisher) run(ctx context.Context) {
	refresh := time.NewTimer(time.Hour)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			b.remove()
			return
		case <-b.wake:
		case <-refresh.C:
		}
		b.mu.Lock()
		dirty := b.dirty
		b.dirty = false
		b.mu.Unlock()
		expires, err := b.publish(ctx, dirty)
		var re *RejectedError
		if b.pidf && errors.As(err, &re) && (re.Code == 489 || re.Code == 405 || re.Code == 501) {
			b.p.log.Info("presence server takes no PIDF: publishing dialog state only", "server", b.dest, "code", re.Code)
			return
		}
		if err != nil {
			b.p.log.Info("publish failed", "server", b.dest, "err", err)
			b.mu.Lock()
			b.dirty = true // send the state again, in full
			b.etag = ""
			b.ok = false
			b.mu.Unlock()
			refresh.Reset(5 * time.Second)
			continue
		}
		if expires > 0 {
			refresh.Reset(max(expires*8/10, time.Second))
		}
	}
}

// publish sends one PUBLISH: with our state when dirty (or the server has
// none), else a refresh. It returns the granted expiry; 0 when nothing
// needed sending.
func (b *publisher) publish(ctx context.Context, dirty bool) (time.Duration, error) {
	p := b.p
	src := p.presenceSource()
	info, _ := src.Lookup(b.user)
	info.Entity = b.aor()
	b.mu.Lock()
	etag := b.etag
	var body []byte
	if b.pidf && (dirty || etag == "") {
		doc, err := MarshalPIDF(info)
		if err != nil || (etag != "" && string(doc) == b.lastKey) {
			b.mu.Unlock()
			return 0, err // nothing new
		}
		body, b.lastKey = doc, string(doc)
	} else if dirty || etag == "" {
		doc, key, next, gone := diffDialogs(b.last, info)
		if etag != "" && key == b.lastKey && gone == 0 {
			b.mu.Unlock()
			return 0, nil // nothing new
		}
		var err error
		if body, err = MarshalDialogInfo(doc, b.version); err != nil {
			b.mu.Unlock()
			return 0, err
		}
		b.version++
		b.last, b.lastKey = next, key
	}
	b.mu.Unlock()
	res, err := b.send(ctx, etag, body, publishExpiry)
	if err == nil && res.StatusCode == 412 && etag != "" {
		// RFC 3903 §6: the server lost our entity: publish it afresh.
		b.mu.Lock()
		b.etag = ""
		b.mu.Unlock()
		return b.publish(ctx, true)
	}
	if err != nil {
		return 0, err
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return 0, &RejectedError{Code: int(res.StatusCode), Reason: res.Reason}
	}
	granted := publishExpiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	b.mu.Lock()
	if h := res.GetHeader("SIP-ETag"); h != nil {
		b.etag = strings.TrimSpace(h.Value())
	}
	if !b.ok {
		p.log.Info("publishing presence", "server", b.dest, "expires", granted)
	}
	b.ok = true
	b.mu.Unlock()
	return granted, nil
}

// send sends a PUBLISH for our AOR to the server (digest with the
// account's credentials when challenged).
func (b *publisher) send(ctx context.Context, etag string, body []byte, expires time.Duration) (*sip.Response, error) {
	p := b.p
	aor, err := parseURI(b.aor())
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.PUBLISH, *aor.Clone())
	fromParams := sip.NewParams()
	fromParams.Add("tag", newTag())
	req.AppendHeader(&sip.FromHeader{Address: *aor.Clone(), Params: fromParams})
	req.AppendHeader(&sip.ToHeader{Address: *aor.Clone(), Params: sip.NewParams()})
	cid := sip.CallIDHeader(newTag() + newTag() + "@anyphone")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.PUBLISH})
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	event, ctype := "dialog", DialogInfoType
	if b.pidf {
		event, ctype = presenceEvent, PIDFType
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	if etag != "" {
		req.AppendHeader(sip.NewHeader("SIP-If-Match", etag))
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody(body)
	}
	req.SetDestination(b.dest)
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
	}
	return res, err
}

// aor is the entity published for.
func (b *publisher) aor() string {
	if b.entity != "" {
		return b.entity
	}
	return b.p.entity()
}

// remove withdraws our state at shutdown (Expires: 0), bounded.
func (b *publisher) remove() {
	b.mu.Lock()
	etag := b.etag
	b.mu.Unlock()
	if etag == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = b.send(ctx, etag, nil, 0)
}

// diffDialogs is the next full-state document after last: info's dialogs
// plus those of last that are gone, as terminated. key identifies the live
// dialogs (to skip sending what did not change), next is the new last.
func diffDialogs(last map[string]vocab.DialogState, info vocab.PresenceInfo) (doc vocab.PresenceInfo, key string, next map[string]vocab.DialogState, gone int) {
	seen := map[string]bool{}
	next = map[string]vocab.DialogState{}
	live := vocab.PresenceInfo{Entity: info.Entity}
	doc = vocab.PresenceInfo{Entity: info.Entity, Dialogs: append([]vocab.DialogState(nil), info.Dialogs...)}
	for _, d := range info.Dialogs {
		seen[d.ID] = true
		if d.State != vocab.PhaseTerminated {
			next[d.ID] = d
			live.Dialogs = append(live.Dialogs, d)
		}
	}
	for id, d := range last {
		if !seen[id] {
			d.State = vocab.PhaseTerminated
			doc.Dialogs = append(doc.Dialogs, d)
			gone++
		}
	}
	k, _ := MarshalDialogInfo(live, 0)
	return doc, string(k), next, gone
}
