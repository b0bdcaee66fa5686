package phone

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Registration defaults. A zero regConfig field takes these values.
const (
	regDefaultExpiry   = 600 * time.Second
	regDefaultMinRetry = 2 * time.Second
	regDefaultMaxRetry = 5 * time.Minute
	regDefaultTimeout  = 10 * time.Second
	// regDefaultUnregisterTimeout bounds the unregister at shutdown: a
	// registrar that answers does so within one retransmission (T1); a
	// silent one must not hold the exit past its 2 s budget (issue 17).
	regDefaultUnregisterTimeout = time.Second
	// regMaxRetryAfter bounds a registrar's Retry-After so that a typo on
	// the server cannot park the phone for a day.
	regMaxRetryAfter = time.Hour
	// regMaxAuthRounds bounds 401/407 rounds inside one attempt.
	regMaxAuthRounds = 3
	// regMaxIntervalRounds bounds 423 rounds inside one attempt.
	regMaxIntervalRounds = 2
)

// regDoer sends one request and returns its final response. It is the only
// thing the registration needs from the SIP stack, so tests can play a
// registrar. A *sipgo.Client adapts with
//
//	func (a clientDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
//		return a.Client.Do(ctx, req)
//	}
//
// Client.Do with no options only fills in what is missing (Via with a fresh
// branch and, with sipgo.WithClientNAT, ;rport), so Call-ID, CSeq, From and
// To stay as the registration built them.
type regDoer interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
}

// regDoerFunc adapts a function to regDoer.
type regDoerFunc func(ctx context.Context, req *sip.Request) (*sip.Response, error)

// Do calls f.
func (f regDoerFunc) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	return f(ctx, req)
}

// regConfig configures one registration binding (one AOR, one Contact).
// Zero values take the defaults documented per field.
type regConfig struct {
	// AOR is the address of record, e.g. sip:alice@example.org. It goes
	// into To and From.
	AOR sip.Uri
	// Registrar is the Request-URI of REGISTER, e.g. sip:example.org or
	// sip:pbx.example.org:5080;transport=tcp. The user part is dropped
	// (RFC 3261 §10.2). Zero Host means the AOR's host.
	Registrar sip.Uri
	// Proxy is an optional outbound proxy "host:port": requests are sent
	// there (Request.SetDestination) whatever the Request-URI says.
	Proxy string
	// Contact is our own contact, built by the caller from the listening
	// transport. Any expires parameter is replaced per request.
	Contact sip.ContactHeader
	// Username for digest auth; empty means the AOR user.
	Username string
	// Password for digest auth. It is never logged.
	Password Secret
	// Expiry is the binding lifetime we ask for (default 600 s). A 423
	// Interval Too Brief raises it to the registrar's Min-Expires.
	Expiry time.Duration
	// MinRetry and MaxRetry bound the exponential backoff after failures
	// (defaults 2 s and 5 min). MaxRetry is also the slow retry period
	// after a definite refusal (401/403 with credentials, 404, ...).
	MinRetry, MaxRetry time.Duration
	// Timeout bounds one request, including digest rounds (default 10 s).
	Timeout time.Duration
	// UnregisterTimeout bounds the unregister sent when Run's context ends
	// (default 2 s).
	UnregisterTimeout time.Duration
	// KeepContact turns off the NAT fix: normally, over UDP, when the
	// registrar's Via received/rport show a source address other than our
	// Contact, the Contact is rewritten to that address and registered
	// again (the old contact is removed in the same REGISTER).
	KeepContact bool
	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
	// OnChange is called with the full new value after every change of
	// Info. It runs on the Run goroutine and must not block.
	OnChange func(RegInfo)
	// CheckBinding: before each refresh, fetch the bindings (a REGISTER
	// without Contact, RFC 3261 §10.2.3) and report through OnLost when
	// the registrar no longer holds ours (regcheck.go).
	CheckBinding bool
	// OnLost is called on the Run goroutine when CheckBinding found our
	// binding gone; the refresh that follows registers it again.
	OnLost func(RegInfo)
	// Keepalive, when positive, sends OPTIONS to the registrar (through
	// Proxy) this often while registered (regkeepalive.go). No answer
	// within Timeout, or a transport error, makes the registration
	// RegRetrying ("registrar unreachable") and registers again with
	// backoff until the registrar answers. 0: off.
	Keepalive time.Duration
	// Logger receives state changes; nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with zero fields set to their defaults.
func (c regConfig) withDefaults() regConfig {
	if c.Registrar.Host == "" {
		c.Registrar = sip.Uri{Scheme: c.AOR.Scheme, Host: c.AOR.Host, Port: c.AOR.Port}
	}
	if c.Username == "" {
		c.Username = c.AOR.User
	}
	if c.Expiry <= 0 {
		c.Expiry = regDefaultExpiry
	}
	if c.MinRetry <= 0 {
		c.MinRetry = regDefaultMinRetry
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = regDefaultMaxRetry
	}
	if c.MaxRetry < c.MinRetry {
		c.MaxRetry = c.MinRetry
	}
	if c.Timeout <= 0 {
		c.Timeout = regDefaultTimeout
	}
	if c.UnregisterTimeout <= 0 {
		c.UnregisterTimeout = regDefaultUnregisterTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// registration keeps one binding alive at a registrar: it registers,
// answers digest challenges, refreshes before the granted expiry, backs off
// after failures, and on shutdown removes only its own Contact.
//
// It replaces diago's Register, which panics on a silent registrar, ignores
// Contact ;expires= grants, stops on one 503 and unregisters with
// "Contact: *" (LIBRARIES.md §3 rows 11–12).
//
// All fields below mu are owned by the Run goroutine; Info and Refresh are
// safe from any goroutine.
type registration struct {
	doer    regDoer
	cfg     regConfig
	log     *slog.Logger
	refresh chan struct{}

	// Owned by Run. RFC 3261 §10.2: one Call-ID for all REGISTERs of a
	// binding, CSeq increasing by one per request.
	callID    string
	fromTag   string
	cseq      uint32
	contact   sip.ContactHeader // current contact (may be NAT-rewritten)
	expiry    time.Duration     // requested expiry
	chal      *digest.Challenge // last challenge, reused with nc+1
	chalProxy bool              // chal came in a 407
	nc        int
	failures  int       // consecutive failed attempts (backoff exponent)
	bound     bool      // the registrar holds (or may hold) our binding
	querying  bool      // newRequest builds a bindings query (regcheck.go)
	ka        keepalive // regkeepalive.go

	mu   sync.Mutex
	info RegInfo
}

// newRegistration returns a registration that sends through d. Call Run to
// start it.
func newRegistration(d regDoer, cfg regConfig) *registration {
	cfg = cfg.withDefaults()
	r := &registration{
		doer:    d,
		cfg:     cfg,
		refresh: make(chan struct{}, 1),
		callID:  rand.Text(),
		fromTag: sip.GenerateTagN(16),
		contact: *cfg.Contact.Clone(),
		expiry:  cfg.Expiry,
	}
	r.info = RegInfo{AOR: cfg.AOR.Addr(), Registrar: cfg.Registrar.String()}
	r.log = cfg.Logger.With("aor", r.info.AOR)
	return r
}

// Info returns the current state of the binding. It is safe to call from
// any goroutine.
func (r *registration) Info() RegInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// Refresh asks Run to register again now (e.g. after a network change or a
// user's "retry" key). It never blocks; extra calls before Run wakes up
// are merged.
func (r *registration) Refresh() {
	select {
	case r.refresh <- struct{}{}:
	default:
	}
}

// Run registers and keeps the binding alive until ctx ends. It then sends
// a REGISTER removing only our own Contact (Contact: <ours>;expires=0,
// never "*"), bounded by UnregisterTimeout on a fresh context, and returns.
// It returns nil after a clean unregister (or when nothing was bound), and
// the unregister error otherwise; the binding then lapses at its expiry.
// Registration failures are not returned: they are states (see Info).
// Run must be called once.
func (r *registration) Run(ctx context.Context) error {
	defer r.ka.probes.Wait() // keepalive probes end with ctx
	for {
		wait := r.attempt(ctx)
		if ctx.Err() != nil {
			break
		}
		r.idle(ctx, wait) // regkeepalive.go: OPTIONS while we wait
		if ctx.Err() != nil {
			break
		}
	}
	return r.unregister(ctx)
}

// attempt performs one registration (with digest, 423 and NAT rounds),
// publishes the outcome and returns how long to wait before the next one.
func (r *registration) attempt(ctx context.Context) time.Duration {
	r.ka.gen++ // a keepalive answer from before this attempt is stale
	if r.bound && r.cfg.CheckBinding && r.failures == 0 {
		// (After a failure the registrar may be down: the check would only
		// add its timeout before the REGISTER.)
		r.checkBinding(ctx) // regcheck.go
	}
	if st := r.Info().State; st != RegRegistered {
		r.update(func(i *RegInfo) { i.State = RegRegistering; i.NextTry = time.Time{} })
	}
	var (
		res       *sip.Response
		err       error
		remove    *sip.ContactHeader // old contact to drop after a NAT rewrite
		intervals int
		rewritten bool
	)
	for {
		res, err = r.send(ctx, r.expiry, remove)
		remove = nil
		if err != nil {
			break
		}
		if res.StatusCode == sip.StatusIntervalToBrief && intervals < regMaxIntervalRounds {
			// RFC 3261 §10.2.8: retry with at least Min-Expires.
			if min, ok := regHeaderSeconds(res, "Min-Expires"); ok && min > r.expiry {
				r.log.Info("registrar wants a longer expiry", "min_expires", min)
				r.expiry = min
				intervals++
				continue
			}
		}
		if res.IsSuccess() && !r.cfg.KeepContact && !rewritten {
			if c, ok := r.natContact(res); ok {
				// RFC 3581: the registrar saw another source than our
				// Contact; register the address it can reach and drop the
				// unreachable one in the same request.
				r.log.Info("contact rewritten from via", "old", r.contact.Address.String(), "new", c.Address.String())
				old := r.contact
				r.contact = c
				remove = &old
				rewritten = true
				continue
			}
		}
		break
	}
	if ctx.Err() != nil {
		return 0
	}
	now := time.Now()
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = fmt.Sprintf("no response from registrar within %s", r.cfg.Timeout)
		}
		return r.retry(now, 0, msg, 0)
	}
	code := res.StatusCode
	switch {
	case res.IsSuccess():
		grant := r.granted(res)
		if grant <= 0 {
			return r.retry(now, code, "registrar granted no binding for our contact", 0)
		}
		r.bound = true
		r.failures = 0
		wait := regRefreshAfter(grant)
		r.update(func(i *RegInfo) {
			i.State = RegRegistered
			i.Expires = now.Add(grant)
			i.NextTry = now.Add(wait)
			i.Code = code
			i.Err = ""
		})
		return wait
	case regPermanent(code):
		// Bad credentials, forbidden, unknown AOR: retrying fast will not
		// help and would hammer the registrar. Try again slowly.
		r.failures = 0
		r.bound = false
		msg := regStatusText(res)
		if code == sip.StatusUnauthorized || code == sip.StatusProxyAuthRequired {
			msg += ": credentials rejected"
		}
		wait := r.cfg.MaxRetry
		r.update(func(i *RegInfo) {
			i.State = RegFailed
			i.Expires = time.Time{}
			i.NextTry = now.Add(wait)
			i.Code = code
			i.Err = msg
		})
		return wait
	default:
		var after time.Duration
		if d, ok := regHeaderSeconds(res, "Retry-After"); ok {
			after = min(d, regMaxRetryAfter)
		}
		return r.retry(now, code, regStatusText(res), after)
	}
}

// retry publishes RegRetrying and returns the backoff delay: exponential
// with jitter between MinRetry and MaxRetry, shortened so that a binding we
// still hold is retried before it lapses, and never sooner than a
// registrar's Retry-After.
// Expires is kept so the UI can show the binding is valid until then.
func (r *registration) retry(now time.Time, code int, msg string, retryAfter time.Duration) time.Duration {
	r.failures++
	wait := regBackoff(r.failures, r.cfg.MinRetry, r.cfg.MaxRetry)
	// While a binding we hold is still valid, retry before it lapses:
	// after at most 3/4 of what is left, but not sooner than MinRetry/4.
	exp := r.Info().Expires
	if left := exp.Sub(now); r.bound && left > 0 && wait > left*3/4 {
		wait = max(left*3/4, r.cfg.MinRetry/4)
	}
	wait = max(wait, retryAfter)
	r.update(func(i *RegInfo) {
		i.State = RegRetrying
		if !i.Expires.After(now) {
			i.Expires = time.Time{}
		}
		i.NextTry = now.Add(wait)
		i.Code = code
		i.Err = msg
	})
	return wait
}

// unregister removes our own binding (if we may hold one) and publishes
// RegUnregistered.
func (r *registration) unregister(ctx context.Context) error {
	var err error
	code := 0
	if r.bound {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.UnregisterTimeout)
		var res *sip.Response
		res, err = r.send(uctx, 0, nil)
		cancel()
		switch {
		case err != nil:
			err = fmt.Errorf("unregister %s: %w", r.info.AOR, err)
		case !res.IsSuccess():
			code = res.StatusCode
			err = fmt.Errorf("unregister %s: %w", r.info.AOR, &RejectedError{Code: res.StatusCode, Reason: res.Reason})
		default:
			code = res.StatusCode
		}
		r.bound = false
	}
	r.update(func(i *RegInfo) {
		*i = RegInfo{AOR: i.AOR, Registrar: i.Registrar, State: RegUnregistered, Code: code}
		if err != nil {
			i.Err = err.Error()
		}
	})
	return err
}

// send sends one REGISTER asking for expires on our contact (plus remove
// with expires=0 when set) and answers up to regMaxAuthRounds digest
// challenges. A 401/407 to credentials computed from a challenge of this
// same attempt is returned as the final response (bad credentials), unless
// the challenge says stale=true.
func (r *registration) send(ctx context.Context, expires time.Duration, remove *sip.ContactHeader) (*sip.Response, error) {
	fresh := false
	for round := 0; ; round++ {
		req := r.newRequest(expires, remove)
		if r.chal != nil {
			if err := r.authorize(req); err != nil {
				return nil, err
			}
		}
		rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		res, err := r.doer.Do(rctx, req)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		if res == nil {
			return nil, fmt.Errorf("register: %w", context.DeadlineExceeded)
		}
		code := res.StatusCode
		if code != sip.StatusUnauthorized && code != sip.StatusProxyAuthRequired {
			return res, nil
		}
		if round+1 >= regMaxAuthRounds || (r.cfg.Username == "" && r.cfg.Password == "") {
			return res, nil
		}
		chal, proxy, err := regChallenge(res)
		if err != nil {
			r.log.Warn("unusable digest challenge", "code", code, "err", err)
			return res, nil
		}
		if fresh && !chal.Stale {
			return res, nil
		}
		r.chal, r.chalProxy, r.nc = chal, proxy, 0
		fresh = true
	}
}

// newRequest builds the next REGISTER of the binding. Via is left to the
// transport (a fresh branch per request).
func (r *registration) newRequest(expires time.Duration, remove *sip.ContactHeader) *sip.Request {
	ruri := *r.cfg.Registrar.Clone()
	ruri.User, ruri.Password = "", "" // RFC 3261 §10.2: no userinfo
	req := sip.NewRequest(sip.REGISTER, ruri)

	aor := sip.Uri{Scheme: r.cfg.AOR.Scheme, User: r.cfg.AOR.User, Host: r.cfg.AOR.Host, Port: r.cfg.AOR.Port}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	to := &sip.ToHeader{Address: aor}
	callID := sip.CallIDHeader(r.callID)
	r.cseq++
	cseq := &sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER}
	maxFwd := sip.MaxForwardsHeader(70)
	secs := strconv.Itoa(int(expires / time.Second))

	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(cseq)
	req.AppendHeader(&maxFwd)
	if !r.querying {
		req.AppendHeader(regContactWithExpires(r.contact, secs))
		if remove != nil {
			req.AppendHeader(regContactWithExpires(*remove, "0"))
		}
		req.AppendHeader(sip.NewHeader("Expires", secs))
	}
	if r.cfg.UserAgent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", r.cfg.UserAgent))
	}
	req.SetBody(nil)
	if r.cfg.Proxy != "" {
		req.SetDestination(r.cfg.Proxy)
	}
	return req
}

// authorize adds credentials for the saved challenge. The password is
// revealed only here.
func (r *registration) authorize(req *sip.Request) error {
	r.nc++
	cred, err := digest.Digest(r.chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.String(),
		Count:    r.nc,
		Username: r.cfg.Username,
		Password: r.cfg.Password.Reveal(),
	})
	if err != nil {
		return fmt.Errorf("register: digest: %w", err)
	}
	name := "Authorization"
	if r.chalProxy {
		name = "Proxy-Authorization"
	}
	req.AppendHeader(sip.NewHeader(name, cred.String()))
	return nil
}

// granted returns the expiry the registrar granted our contact: the
// expires parameter of the response Contact matching ours, else the
// Expires header, else what we asked for (RFC 3261 §10.2.4).
func (r *registration) granted(res *sip.Response) time.Duration {
	contacts := regContacts(res)
	for _, c := range contacts {
		if !regSameURI(c.Address, r.contact.Address) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
		break
	}
	if d, ok := regHeaderSeconds(res, "Expires"); ok {
		return d
	}
	return r.expiry
}

// natContact returns our contact moved to the source address the registrar
// saw (top Via received/rport, RFC 3581), and whether that differs.
func (r *registration) natContact(res *sip.Response) (sip.ContactHeader, bool) {
	via := res.Via()
	// Over TCP/TLS/WS the source port is an ephemeral connection port,
	// not one we listen on: rewriting the Contact to it would break
	// incoming requests, so only datagram transports are rewritten.
	if via == nil || !strings.EqualFold(via.Transport, "UDP") {
		return sip.ContactHeader{}, false
	}
	recv, _ := via.Params.Get("received")
	rport, _ := via.Params.Get("rport")
	host, port := r.contact.Address.Host, r.contact.Address.Port
	newHost, newPort := host, port
	if recv != "" {
		newHost = recv
	}
	if p, err := strconv.Atoi(rport); err == nil && p > 0 {
		newPort = p
	}
	if strings.EqualFold(newHost, host) && regPort(r.contact.Address, newPort) == regPort(r.contact.Address, port) {
		return sip.ContactHeader{}, false
	}
	c := r.contact.Clone()
	c.Address.Host, c.Address.Port = newHost, newPort
	return *c, true
}

// update applies f to the info under the lock and, if anything changed,
// logs and publishes the new value through OnChange.
func (r *registration) update(f func(*RegInfo)) {
	r.mu.Lock()
	old := r.info
	f(&r.info)
	now := r.info
	r.mu.Unlock()
	if now == old {
		return
	}
	if now.State != old.State || now.Code != old.Code || now.Err != old.Err {
		r.log.Info("registration state", "state", now.State.String(), "code", now.Code, "err", now.Err)
	} else {
		r.log.Debug("registration refreshed", "expires", now.Expires)
	}
	if r.cfg.OnChange != nil {
		r.cfg.OnChange(now)
	}
}

// regRefreshAfter returns when to refresh a binding granted for grant:
// at 60 % of it, which leaves 40 % for retries of a failed refresh and is
// never later than the grant. Grants under 2 s are refreshed after half.
func regRefreshAfter(grant time.Duration) time.Duration {
	if grant < 2*time.Second {
		return grant / 2
	}
	return grant * 3 / 5
}

// regBackoff returns the delay before retry number n (n ≥ 1): lo·2^(n-1)
// capped at hi, with jitter taking it down to half, never under lo.
func regBackoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n <= 30 {
		if e := lo << (n - 1); e > 0 && e < hi {
			d = e
		}
	}
	d = d/2 + mrand.N(d/2+1)
	return max(d, lo)
}

// regPermanent reports whether a final status means the registrar refused
// us for a reason a quick retry will not fix.
func regPermanent(code int) bool {
	switch {
	case code >= 600:
		return true
	case code >= 500:
		return false
	case code >= 400:
		switch code {
		case sip.StatusRequestTimeout, sip.StatusIntervalToBrief,
			sip.StatusTemporarilyUnavailable, 429 /* Too Many Requests */ :
			return false
		}
		return true
	case code >= 300:
		return true // redirects are not followed for REGISTER
	}
	return false
}

// regStatusText formats a response status for RegInfo.Err.
func regStatusText(res *sip.Response) string {
	if res.Reason == "" {
		return strconv.Itoa(res.StatusCode)
	}
	return strconv.Itoa(res.StatusCode) + " " + res.Reason
}

// regChallenge parses the digest challenge of a 401 (WWW-Authenticate) or
// 407 (Proxy-Authenticate).
func regChallenge(res *sip.Response) (chal *digest.Challenge, proxy bool, err error) {
	name := "WWW-Authenticate"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name, proxy = "Proxy-Authenticate", true
	}
	var lastErr error = fmt.Errorf("no %s header", name)
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			lastErr = err
			continue
		}
		if !digest.CanDigest(c) {
			lastErr = fmt.Errorf("unsupported digest algorithm %q", c.Algorithm)
			continue
		}
		return c, proxy, nil
	}
	return nil, proxy, lastErr
}

// regContactWithExpires returns a copy of c with ;expires=secs.
func regContactWithExpires(c sip.ContactHeader, secs string) *sip.ContactHeader {
	h := c.Clone()
	if h.Params == nil {
		h.Params = sip.NewParams()
	}
	h.Params.Add("expires", secs)
	return h
}

// regHeaderer is the header access shared by sip.Request and sip.Response.
type regHeaderer interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// regContacts returns the Contact values of a message, whether the parser
// produced ContactHeader values or the message was built with generic
// headers.
func regContacts(m regHeaderer) []sip.ContactHeader {
	var out []sip.ContactHeader
	parser := sip.HeadersParser(sip.DefaultHeadersParser())
	for _, name := range []string{"Contact", "m"} {
		for _, h := range m.GetHeaders(name) {
			if c, ok := h.(*sip.ContactHeader); ok {
				out = append(out, *c)
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

// regHeaderSeconds reads a header whose value starts with a number of
// seconds (Expires, Min-Expires, Retry-After "120 (comment);duration=60").
func regHeaderSeconds(m regHeaderer, name string) (time.Duration, bool) {
	h := m.GetHeader(name)
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Value())
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// regSameURI reports whether a registrar's contact is ours: same user,
// host (case-insensitive) and port (absent = default). Parameters are
// ignored, since registrars add or reorder them.
func regSameURI(a, b sip.Uri) bool {
	return a.User == b.User && strings.EqualFold(a.Host, b.Host) && regPort(a, a.Port) == regPort(b, b.Port)
}

// regPort returns port, or the default port of u's scheme when it is 0.
func regPort(u sip.Uri, port int) int {
	if port > 0 {
		return port
	}
	if strings.EqualFold(u.Scheme, "sips") {
		return 5061
	}
	return 5060
}
