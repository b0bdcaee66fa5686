// Package phonetest provides in-process SIP peers for tests of package
// phone and its users. Everything listens on 127.0.0.1 with an ephemeral
// port and is torn down by t.Cleanup.
package phonetest

import (
	"crypto/rand"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// GrantIn says where a Registrar puts the granted expiry in its 200 OK.
type GrantIn int

const (
	// GrantInContact puts ;expires=N on every Contact of the 200 OK (the
	// RFC 3261 §10.3 step 8 way) and no Expires header.
	GrantInContact GrantIn = iota
	// GrantInHeader lists the contacts without parameters and puts the
	// grant of the request's first contact in an Expires header.
	GrantInHeader
	// GrantInBoth does both.
	GrantInBoth
)

// registrarDefaultExpires is granted when a REGISTER asks for nothing.
const registrarDefaultExpires = 3600

// Binding is one contact registered for an address of record.
type Binding struct {
	Contact string    // contact URI without header parameters, e.g. sip:alice@127.0.0.1:5062
	Expires time.Time // when the binding lapses
	CallID  string    // Call-ID of the REGISTER that last refreshed it
	CSeq    uint32    // its CSeq
	Source  string    // host:port the REGISTER came from
}

// Request records one REGISTER the Registrar answered.
type Request struct {
	Time     time.Time
	AOR      string   // To URI, e.g. sip:alice@example.org
	CallID   string   //
	CSeq     uint32   //
	Contacts []string // Contact values as received, parameters included
	Expires  string   // Expires header value, "" if absent
	Code     int      // the final status sent
}

// Registrar is a small SIP registrar (RFC 3261 §10.3) on UDP 127.0.0.1 with
// digest authentication. It is safe for concurrent use.
type Registrar struct {
	addr  string
	realm string
	users map[string]string // user → password; empty = no authentication

	mu         sync.Mutex
	bindings   map[string][]Binding // AOR → bindings
	nonces     map[string]bool
	requests   []Request
	grant      int // seconds, 0 = grant what was asked
	grantIn    GrantIn
	minExpires int
	failStatus int // when non-zero, answer every REGISTER with it
	failReason string
	silent     bool // drop every REGISTER
}

// NewRegistrar starts a registrar on 127.0.0.1:0 that accepts the given
// users (user → password) with MD5 digest, qop=auth. A nil or empty map
// turns authentication off. It is stopped by t.Cleanup.
func NewRegistrar(t testing.TB, users map[string]string) *Registrar {
	t.Helper()
	r := &Registrar{
		realm:    "phonetest",
		users:    users,
		bindings: make(map[string][]Binding),
		nonces:   make(map[string]bool),
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phonetest-registrar"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatalf("phonetest: new UA: %v", err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatalf("phonetest: new server: %v", err)
	}
	srv.OnRegister(r.onRegister)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("phonetest: listen: %v", err)
	}
	r.addr = conn.LocalAddr().String()
	done := make(chan struct{})
	// The serve goroutine is owned by this Registrar: started here, joined
	// in the cleanup after the socket is closed.
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ua.Close()
		<-done
	})
	return r
}

// Addr returns the UDP host:port the registrar listens on.
func (r *Registrar) Addr() string { return r.addr }

// URI returns a SIP URI for the registrar, e.g. sip:127.0.0.1:40123.
func (r *Registrar) URI() string { return "sip:" + r.addr }

// Realm returns the digest realm of the challenges.
func (r *Registrar) Realm() string { return r.realm }

// SetGrant makes the registrar grant seconds (when > 0) instead of what a
// REGISTER asks, reported as in says. It lets tests observe refreshes
// within seconds.
func (r *Registrar) SetGrant(seconds int, in GrantIn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.grant, r.grantIn = seconds, in
}

// SetMinExpires makes the registrar answer 423 Interval Too Brief with
// Min-Expires to REGISTERs asking for less than seconds (0 = off).
func (r *Registrar) SetMinExpires(seconds int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.minExpires = seconds
}

// SetFailure makes the registrar answer every REGISTER with code and
// reason (e.g. 503), or restores normal service when code is 0.
func (r *Registrar) SetFailure(code int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failStatus, r.failReason = code, reason
}

// SetSilent makes the registrar drop every REGISTER unanswered (true) or
// answer again (false).
func (r *Registrar) SetSilent(silent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.silent = silent
}

// Bindings returns the unexpired bindings of an address of record, sorted
// by contact. aor may be a URI ("sip:alice@example.org") or "user@host".
func (r *Registrar) Bindings(aor string) []Binding {
	key := registrarAOR(aor)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Binding
	for _, b := range r.bindings[key] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.Contact, b.Contact) })
	return out
}

// Requests returns every REGISTER answered so far, oldest first.
func (r *Registrar) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// onRegister is the sipgo handler. It runs on a sipgo goroutine per
// request.
func (r *Registrar) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	r.mu.Lock()
	silent := r.silent
	r.mu.Unlock()
	if silent {
		return
	}
	res := r.handle(req)
	_ = tx.Respond(res)
}

// handle decides the response to one REGISTER.
func (r *Registrar) handle(req *sip.Request) *sip.Response {
	rec := Request{Time: time.Now()}
	if to := req.To(); to != nil {
		rec.AOR = registrarAOR(to.Address.String())
	}
	if id := req.CallID(); id != nil {
		rec.CallID = id.Value()
	}
	if cs := req.CSeq(); cs != nil {
		rec.CSeq = cs.SeqNo
	}
	for _, h := range req.GetHeaders("Contact") {
		rec.Contacts = append(rec.Contacts, h.Value())
	}
	if h := req.GetHeader("Expires"); h != nil {
		rec.Expires = h.Value()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.handleLocked(req, &rec)
	rec.Code = res.StatusCode
	r.requests = append(r.requests, rec)
	return res
}

// handleLocked applies RFC 3261 §10.3 to req. r.mu must be held.
func (r *Registrar) handleLocked(req *sip.Request, rec *Request) *sip.Response {
	if r.failStatus != 0 {
		return sip.NewResponseFromRequest(req, r.failStatus, r.failReason, nil)
	}
	if rec.AOR == "" || rec.CallID == "" || req.CSeq() == nil {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil)
	}
	if res := r.authorizeLocked(req); res != nil {
		return res
	}

	defExpires := registrarDefaultExpires
	if rec.Expires != "" {
		n, err := strconv.Atoi(strings.TrimSpace(rec.Expires))
		if err != nil || n < 0 {
			return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Expires", nil)
		}
		defExpires = n
	}

	now := time.Now()
	contacts := registrarContacts(req)
	current := r.bindings[rec.AOR]

	// Step 6: "Contact: *" with Expires: 0 removes every binding.
	for _, c := range contacts {
		if !c.Address.Wildcard {
			continue
		}
		if len(contacts) != 1 || rec.Expires != "0" {
			return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Wildcard", nil)
		}
		for _, b := range current {
			if b.CallID == rec.CallID && rec.CSeq <= b.CSeq {
				return sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "CSeq Out of Order", nil)
			}
		}
		delete(r.bindings, rec.AOR)
		return r.okLocked(req, rec.AOR, 0)
	}

	// Step 7: check every contact before changing anything.
	type change struct {
		uri     string
		expires int
	}
	changes := make([]change, 0, len(contacts))
	for _, c := range contacts {
		exp := defExpires
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Expires", nil)
			}
			exp = n
		}
		if exp > 0 && exp < r.minExpires {
			res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(r.minExpires)))
			return res
		}
		uri := registrarContactURI(c)
		for _, b := range current {
			if b.Contact == uri && b.CallID == rec.CallID && rec.CSeq <= b.CSeq {
				return sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "CSeq Out of Order", nil)
			}
		}
		changes = append(changes, change{uri, exp})
	}

	firstGrant := 0
	for i, ch := range changes {
		current = slices.DeleteFunc(current, func(b Binding) bool { return b.Contact == ch.uri })
		if ch.expires == 0 {
			continue
		}
		grant := ch.expires
		if r.grant > 0 {
			grant = r.grant
		}
		if i == 0 {
			firstGrant = grant
		}
		current = append(current, Binding{
			Contact: ch.uri,
			Expires: now.Add(time.Duration(grant) * time.Second),
			CallID:  rec.CallID,
			CSeq:    rec.CSeq,
			Source:  req.Source(),
		})
	}
	r.bindings[rec.AOR] = current
	return r.okLocked(req, rec.AOR, firstGrant)
}

// okLocked builds the 200 OK listing the current bindings of aor (RFC 3261
// §10.3 step 8). r.mu must be held.
func (r *Registrar) okLocked(req *sip.Request, aor string, grant int) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	now := time.Now()
	for _, b := range r.bindings[aor] {
		left := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		if left <= 0 {
			continue
		}
		c := &sip.ContactHeader{}
		if err := sip.ParseUri(b.Contact, &c.Address); err != nil {
			continue
		}
		if r.grantIn != GrantInHeader {
			c.Params = sip.NewParams()
			c.Params.Add("expires", strconv.Itoa(left))
		}
		res.AppendHeader(c)
	}
	if r.grantIn != GrantInContact && grant > 0 {
		res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(grant)))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	return res
}

// authorizeLocked checks digest credentials. It returns nil when the
// request may proceed, or the 401/403 to send. r.mu must be held.
func (r *Registrar) authorizeLocked(req *sip.Request) *sip.Response {
	if len(r.users) == 0 {
		return nil
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		return r.challengeLocked(req, false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Authorization", nil)
	}
	if !r.nonces[cred.Nonce] {
		return r.challengeLocked(req, true)
	}
	pass, ok := r.users[cred.Username]
	if !ok {
		return r.challengeLocked(req, false)
	}
	want, err := digest.Digest(r.challengeFor(cred.Nonce), digest.Options{
		Method:   req.Method.String(),
		URI:      cred.URI,
		Username: cred.Username,
		Password: pass,
		Cnonce:   cred.Cnonce,
		Count:    cred.Nc,
	})
	if err != nil || want.Response != cred.Response {
		return r.challengeLocked(req, false)
	}
	if to := req.To(); to == nil || to.Address.User != cred.Username {
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
	}
	return nil
}

// challengeFor returns the challenge issued with nonce.
func (r *Registrar) challengeFor(nonce string) *digest.Challenge {
	return &digest.Challenge{Realm: r.realm, Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}}
}

// challengeLocked returns a 401 with a fresh nonce. r.mu must be held.
func (r *Registrar) challengeLocked(req *sip.Request, stale bool) *sip.Response {
	nonce := rand.Text()
	r.nonces[nonce] = true
	chal := r.challengeFor(nonce)
	chal.Stale = stale
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
	return res
}

// registrarContacts returns the Contact values of req.
func registrarContacts(req *sip.Request) []sip.ContactHeader {
	var out []sip.ContactHeader
	parser := sip.HeadersParser(sip.DefaultHeadersParser())
	for _, name := range []string{"Contact", "m"} {
		for _, h := range req.GetHeaders(name) {
			if c, ok := h.(*sip.ContactHeader); ok {
				out = append(out, *c)
				continue
			}
			if strings.TrimSpace(h.Value()) == "*" {
				out = append(out, sip.ContactHeader{Address: sip.Uri{Wildcard: true}})
				continue
			}
			hs, err := parser.ParseHeader(nil, []byte("Contact: "+h.Value()))
			if err != nil {
				continue
			}
			for _, p := range hs {
				if c, ok := p.(*sip.ContactHeader); ok {
					out = append(out, *c)
				}
			}
		}
	}
	return out
}

// registrarContactURI returns the binding key of a contact: its URI
// without header parameters.
func registrarContactURI(c sip.ContactHeader) string {
	u := c.Address.Clone()
	u.Headers = nil
	return u.String()
}

// registrarAOR normalises an address of record to scheme:user@host[:port]
// without parameters. "user@host" is read as a SIP URI.
func registrarAOR(aor string) string {
	s := aor
	if l := strings.ToLower(s); !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		s = "sip:" + s
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return aor
	}
	return u.Addr()
}

// String describes a binding for test failure messages.
func (b Binding) String() string {
	return fmt.Sprintf("%s (expires %s, call-id %s, cseq %d)", b.Contact, b.Expires.Format(time.TimeOnly), b.CallID, b.CSeq)
}
