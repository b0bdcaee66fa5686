package phone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const (
	regTestUser  = "alice"
	regTestPass  = "s3cr3t-pa55"
	regTestNonce = "nonce-1"
	regTestRealm = "test.invalid"
)

// regFake plays a registrar behind the regDoer interface. handle returns
// the response to request number n (0-based); a nil response and nil
// error means the registrar stays silent until the request times out.
type regFake struct {
	handle func(f *regFake, n int, req *sip.Request) (*sip.Response, error)

	mu    sync.Mutex
	reqs  []*sip.Request
	times []time.Time
}

func (f *regFake) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req.Clone())
	f.times = append(f.times, time.Now())
	f.mu.Unlock()
	res, err := f.handle(f, n, req)
	if res == nil && err == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return res, err
}

func (f *regFake) requests() ([]*sip.Request, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sip.Request(nil), f.reqs...), append([]time.Time(nil), f.times...)
}

// regRespond builds a response to req with extra headers.
func regRespond(req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	return res
}

// regChallengeRes answers req with a 401 digest challenge (qop=auth).
func regChallengeRes(req *sip.Request) *sip.Response {
	chal := digest.Challenge{Realm: regTestRealm, Nonce: regTestNonce, Algorithm: "MD5", QOP: []string{"auth"}}
	return regRespond(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", chal.String()))
}

// regAuthorized reports whether req carries valid credentials for the
// test challenge.
func regAuthorized(req *sip.Request) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != regTestUser || cred.Nonce != regTestNonce {
		return false
	}
	chal := &digest.Challenge{Realm: regTestRealm, Nonce: regTestNonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{
		Method: req.Method.String(), URI: cred.URI, Username: regTestUser, Password: regTestPass,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	return err == nil && want.Response == cred.Response && cred.URI == req.Recipient.String()
}

// regAuthThen challenges unauthorized requests and answers the others
// with ok.
func regAuthThen(ok func(req *sip.Request) *sip.Response) func(*regFake, int, *sip.Request) (*sip.Response, error) {
	return func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
		if !regAuthorized(req) {
			return regChallengeRes(req), nil
		}
		return ok(req), nil
	}
}

// regEcho answers 200 listing the request's contacts with expires=grant
// (or the requested value if grant < 0) plus another device's binding.
func regEcho(grant int) func(req *sip.Request) *sip.Response {
	return func(req *sip.Request) *sip.Response {
		res := regRespond(req, 200, "OK")
		for _, c := range regContacts(req) {
			c := c.Clone()
			if grant >= 0 {
				c.Params.Add("expires", fmt.Sprint(grant))
			} else {
				c.Params.Remove("expires")
			}
			res.AppendHeader(c)
		}
		res.AppendHeader(sip.NewHeader("Contact", "<sip:alice@192.0.2.99:5060>;expires=3600"))
		return res
	}
}

func regTestConfig() regConfig {
	return regConfig{
		AOR:       sip.Uri{Scheme: "sip", User: regTestUser, Host: "example.test"},
		Registrar: sip.Uri{Scheme: "sip", Host: "registrar.test", Port: 5080},
		Contact:   sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: regTestUser, Host: "127.0.0.1", Port: 40000}},
		Password:  regTestPass,
		MinRetry:  2 * time.Second,
		MaxRetry:  60 * time.Second,
	}
}

// regRun is what a scenario observed.
type regRun struct {
	fake    *regFake
	reqs    []*sip.Request
	times   []time.Time // request times as offsets from start are times[i].Sub(start)
	start   time.Time
	infos   []RegInfo // every OnChange value
	before  RegInfo   // Info just before ctx was cancelled
	err     error     // Run's result
	logs    string
	elapsed func(i int) time.Duration
}

// regScenario runs a registration against handle for runFor of fake time,
// then cancels it and collects everything.
func regScenario(t *testing.T, cfg regConfig, runFor time.Duration, handle func(*regFake, int, *sip.Request) (*sip.Response, error)) *regRun {
	t.Helper()
	var (
		run  = &regRun{fake: &regFake{handle: handle}, start: time.Now()}
		mu   sync.Mutex
		logs bytes.Buffer
	)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnChange = func(i RegInfo) {
		mu.Lock()
		run.infos = append(run.infos, i)
		mu.Unlock()
	}
	reg := newRegistration(run.fake, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	time.Sleep(runFor) // synctest's fake clock: runs the scenario for runFor
	synctest.Wait()
	run.before = reg.Info()
	cancel()
	run.err = <-done
	if got := reg.Info().State; got != RegUnregistered {
		t.Errorf("state after Run = %v, want unregistered", got)
	}
	run.reqs, run.times = run.fake.requests()
	run.logs = logs.String()
	run.elapsed = func(i int) time.Duration { return run.times[i].Sub(run.start) }
	if strings.Contains(run.logs, regTestPass) {
		t.Errorf("password appears in the logs: %s", run.logs)
	}
	return run
}

// regExpires returns the expires parameter of the n-th Contact of req.
func regContactExpires(t *testing.T, req *sip.Request, n int) (sip.ContactHeader, string) {
	t.Helper()
	cs := regContacts(req)
	if len(cs) <= n {
		t.Fatalf("request has %d contacts, want > %d:\n%s", len(cs), n, req)
	}
	v, _ := cs[n].Params.Get("expires")
	return cs[n], v
}

// regCheckBinding checks RFC 3261 §10.2 request invariants: one Call-ID,
// CSeq +1 each time, To = From = AOR, Request-URI without user, never a
// wildcard contact.
func regCheckBinding(t *testing.T, reqs []*sip.Request) {
	t.Helper()
	for i, req := range reqs {
		if req.Method != sip.REGISTER {
			t.Errorf("req %d: method %s", i, req.Method)
		}
		if req.Recipient.User != "" || req.Recipient.Host != "registrar.test" || req.Recipient.Port != 5080 {
			t.Errorf("req %d: Request-URI %s", i, req.Recipient.String())
		}
		if got := req.To().Address.String(); got != "sip:alice@example.test" {
			t.Errorf("req %d: To %s", i, got)
		}
		if got := req.From().Address.String(); got != "sip:alice@example.test" {
			t.Errorf("req %d: From %s", i, got)
		}
		if i == 0 {
			continue
		}
		if req.CallID().Value() != reqs[0].CallID().Value() {
			t.Errorf("req %d: Call-ID %s, want %s", i, req.CallID().Value(), reqs[0].CallID().Value())
		}
		if got, want := req.CSeq().SeqNo, reqs[i-1].CSeq().SeqNo+1; got != want {
			t.Errorf("req %d: CSeq %d, want %d", i, got, want)
		}
		if req.From().Params.GetOr("tag", "") != reqs[0].From().Params.GetOr("tag", "x") {
			t.Errorf("req %d: From tag changed", i)
		}
		for _, c := range regContacts(req) {
			if c.Address.Wildcard {
				t.Errorf("req %d: wildcard contact", i)
			}
		}
	}
}

// regCheckUnregister checks that the last request removes only our own
// contact.
func regCheckUnregister(t *testing.T, req *sip.Request, host string, port int) {
	t.Helper()
	cs := regContacts(req)
	if len(cs) != 1 {
		t.Fatalf("unregister has %d contacts, want 1:\n%s", len(cs), req)
	}
	c, exp := regContactExpires(t, req, 0)
	if c.Address.Wildcard || c.Address.Host != host || c.Address.Port != port || exp != "0" {
		t.Errorf("unregister contact = %s, want <sip:alice@%s:%d>;expires=0", c.Value(), host, port)
	}
	if h := req.GetHeader("Expires"); h == nil || h.Value() != "0" {
		t.Errorf("unregister Expires header = %v, want 0", h)
	}
}

func TestRegistrationScenarios(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*regConfig)
		runFor time.Duration
		handle func(*regFake, int, *sip.Request) (*sip.Response, error)
		check  func(t *testing.T, run *regRun)
	}{
		{
			name:   "challenge then grant in contact parameter",
			runFor: 10 * time.Second,
			handle: regAuthThen(regEcho(4)),
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) < 5 {
					t.Fatalf("got %d requests, want at least 5 (401, 200, refreshes, unregister)", len(run.reqs))
				}
				if run.reqs[0].GetHeader("Authorization") != nil {
					t.Errorf("first REGISTER carried credentials")
				}
				if run.reqs[1].GetHeader("Authorization") == nil {
					t.Errorf("second REGISTER did not answer the challenge")
				}
				if _, exp := regContactExpires(t, run.reqs[0], 0); exp != "600" {
					t.Errorf("requested expires = %s, want 600", exp)
				}
				// Refreshes: every REGISTER after the first 200 comes
				// before the 4 s grant ends.
				for i := 2; i < len(run.reqs)-1; i++ {
					gap := run.times[i].Sub(run.times[i-1])
					if gap <= 0 || gap >= 4*time.Second {
						t.Errorf("req %d came %v after the previous, want within the 4 s grant", i, gap)
					}
					if !regAuthorized(run.reqs[i]) {
						t.Errorf("refresh %d did not reuse the challenge", i)
					}
				}
				if run.before.State != RegRegistered || run.before.Code != 200 {
					t.Errorf("state before cancel = %+v, want registered 200", run.before)
				}
				if left := run.before.Expires.Sub(run.start.Add(10 * time.Second)); left <= 0 || left > 4*time.Second {
					t.Errorf("Expires is %v after the end, want within the 4 s grant", left)
				}
				regCheckBinding(t, run.reqs)
				regCheckUnregister(t, run.reqs[len(run.reqs)-1], "127.0.0.1", 40000)
				if run.err != nil {
					t.Errorf("Run = %v, want nil", run.err)
				}
			},
		},
		{
			name:   "grant in Expires header only",
			runFor: 10 * time.Second,
			handle: regAuthThen(func(req *sip.Request) *sip.Response {
				res := regEcho(-1)(req)
				res.AppendHeader(sip.NewHeader("Expires", "4"))
				return res
			}),
			check: func(t *testing.T, run *regRun) {
				// 401, 200 at 0 s; refreshes at 2.4, 4.8, 7.2, 9.6 s; unregister.
				if len(run.reqs) != 7 {
					t.Fatalf("got %d requests, want 7", len(run.reqs))
				}
				for i := 2; i < 6; i++ {
					if gap := run.times[i].Sub(run.times[i-1]); gap >= 4*time.Second || gap < 2*time.Second {
						t.Errorf("refresh %d after %v, want in [2 s, 4 s)", i, gap)
					}
				}
				regCheckBinding(t, run.reqs)
				regCheckUnregister(t, run.reqs[6], "127.0.0.1", 40000)
			},
		},
		{
			name:   "503 then success with backoff and Retry-After",
			runFor: 20 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				switch n {
				case 0:
					return regRespond(req, 503, "Service Unavailable"), nil
				case 1:
					return regRespond(req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "7 (maintenance)")), nil
				}
				return regAuthThen(regEcho(600))(nil, n, req)
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 5 {
					t.Fatalf("got %d requests, want 5 (503, 503, 401, 200, unregister)", len(run.reqs))
				}
				if gap := run.elapsed(1); gap < 2*time.Second || gap > 2*time.Second {
					// first retry: 2 s·2^0 with jitter, floored at MinRetry
					t.Errorf("first retry after %v, want 2 s", gap)
				}
				if gap := run.times[2].Sub(run.times[1]); gap != 7*time.Second {
					t.Errorf("retry after Retry-After 7 came after %v, want 7 s", gap)
				}
				var sawRetry bool
				for _, i := range run.infos {
					if i.State == RegRetrying {
						sawRetry = true
						if i.Code != 503 || i.NextTry.IsZero() || !strings.Contains(i.Err, "503") {
							t.Errorf("retrying info = %+v, want code 503, NextTry and Err", i)
						}
					}
				}
				if !sawRetry {
					t.Errorf("never published RegRetrying: %+v", run.infos)
				}
				if run.before.State != RegRegistered {
					t.Errorf("state = %v, want registered", run.before.State)
				}
				regCheckBinding(t, run.reqs)
			},
		},
		{
			name:   "401 after credentials fails without a retry storm",
			runFor: 50 * time.Second,
			handle: func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
				return regChallengeRes(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 2 {
					t.Fatalf("got %d requests in 50 s, want 2 (no retry before MaxRetry)", len(run.reqs))
				}
				if run.reqs[1].GetHeader("Authorization") == nil {
					t.Errorf("credentials were never sent")
				}
				b := run.before
				if b.State != RegFailed || b.Code != 401 || !strings.Contains(b.Err, "credentials rejected") {
					t.Errorf("info = %+v, want failed 401 credentials rejected", b)
				}
				if want := run.start.Add(60 * time.Second); !b.NextTry.Equal(want) {
					t.Errorf("NextTry = %v, want start+MaxRetry", b.NextTry)
				}
				if run.err != nil {
					t.Errorf("Run = %v, want nil (nothing to unregister)", run.err)
				}
			},
		},
		{
			name:   "403 is a failure retried after MaxRetry",
			runFor: 61 * time.Second,
			handle: func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
				return regRespond(req, 403, "Forbidden"), nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 2 || run.elapsed(1) != 60*time.Second {
					t.Fatalf("got %d requests, want 2 with the second at 60 s", len(run.reqs))
				}
				var failed int
				for _, i := range run.infos {
					if i.State == RegFailed {
						failed++
						if i.Code != 403 || i.Err != "403 Forbidden" || !i.Expires.IsZero() {
							t.Errorf("failed info = %+v, want code 403, Err and no Expires", i)
						}
					}
				}
				if failed != 2 {
					t.Errorf("published RegFailed %d times, want 2: %+v", failed, run.infos)
				}
			},
		},
		{
			name:   "423 raises the expiry to Min-Expires",
			runFor: 5 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				if exp := req.GetHeader("Expires").Value(); exp != "1200" && exp != "0" {
					return regRespond(req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", "1200")), nil
				}
				return regEcho(-1)(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 3 {
					t.Fatalf("got %d requests, want 3 (423, 200, unregister)", len(run.reqs))
				}
				if !run.times[1].Equal(run.times[0]) {
					t.Errorf("423 retry waited %v, want immediate", run.times[1].Sub(run.times[0]))
				}
				if _, exp := regContactExpires(t, run.reqs[1], 0); exp != "1200" {
					t.Errorf("retry asked expires=%s, want 1200", exp)
				}
				if got := run.before.Expires.Sub(run.start); got != 1200*time.Second {
					t.Errorf("Expires = start+%v, want 1200 s", got)
				}
			},
		},
		{
			name:   "silent registrar times out into retrying",
			runFor: 25 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				if n == 0 {
					return nil, nil // never answers
				}
				return regEcho(600)(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 3 {
					t.Fatalf("got %d requests, want 3 (lost, 200, unregister)", len(run.reqs))
				}
				if got := run.elapsed(1); got != 12*time.Second {
					t.Errorf("retry at %v, want 10 s timeout + 2 s backoff", got)
				}
				var retry *RegInfo
				for i := range run.infos {
					if run.infos[i].State == RegRetrying {
						retry = &run.infos[i]
						break
					}
				}
				if retry == nil || retry.Code != 0 || !strings.Contains(retry.Err, "no response") {
					t.Fatalf("retrying info = %+v, want code 0 and a timeout error", retry)
				}
				if run.before.State != RegRegistered {
					t.Errorf("state = %v, want registered", run.before.State)
				}
			},
		},
		{
			name:   "transport error retries",
			runFor: 5 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				if n == 0 {
					return nil, errors.New("connection refused")
				}
				return regEcho(600)(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 3 || run.elapsed(1) != 2*time.Second {
					t.Fatalf("got %d requests, second at %v; want 3, at 2 s", len(run.reqs), run.elapsed(1))
				}
				if !strings.Contains(run.infos[1].Err, "connection refused") || run.infos[1].State != RegRetrying {
					t.Errorf("info = %+v", run.infos[1])
				}
			},
		},
		{
			name:   "refresh failure keeps the binding visible",
			runFor: 3500 * time.Millisecond,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				if n == 1 { // the refresh at 2.4 s
					return regRespond(req, 500, "Server Internal Error"), nil
				}
				return regEcho(4)(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				b := run.before
				if b.State != RegRetrying || !b.Expires.Equal(run.start.Add(4*time.Second)) {
					t.Fatalf("info = %+v, want retrying with Expires start+4s", b)
				}
				// The retry must come no later than the binding lapses.
				if b.NextTry.After(b.Expires) {
					t.Errorf("NextTry %v after Expires %v", b.NextTry, b.Expires)
				}
				// Still bound, so the shutdown unregisters.
				regCheckUnregister(t, run.reqs[len(run.reqs)-1], "127.0.0.1", 40000)
			},
		},
		{
			name:   "rport and received rewrite the contact",
			runFor: 5 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				res := regEcho(600)(req)
				via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 40000, Params: sip.NewParams()}
				via.Params.Add("branch", sip.GenerateBranch())
				via.Params.Add("rport", "61000")
				via.Params.Add("received", "203.0.113.7")
				res.PrependHeader(via)
				return res, nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 3 {
					t.Fatalf("got %d requests, want 3 (register, re-register, unregister)", len(run.reqs))
				}
				c0, e0 := regContactExpires(t, run.reqs[1], 0)
				c1, e1 := regContactExpires(t, run.reqs[1], 1)
				if c0.Address.Host != "203.0.113.7" || c0.Address.Port != 61000 || e0 != "600" {
					t.Errorf("new contact = %s", c0.Value())
				}
				if c1.Address.Host != "127.0.0.1" || c1.Address.Port != 40000 || e1 != "0" {
					t.Errorf("old contact = %s, want removed", c1.Value())
				}
				regCheckBinding(t, run.reqs)
				regCheckUnregister(t, run.reqs[2], "203.0.113.7", 61000)
			},
		},
		{
			name:   "KeepContact ignores rport",
			cfg:    func(c *regConfig) { c.KeepContact = true },
			runFor: 5 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				res := regEcho(600)(req)
				via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 40000, Params: sip.NewParams()}
				via.Params.Add("rport", "61000")
				res.PrependHeader(via)
				return res, nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 2 {
					t.Fatalf("got %d requests, want 2", len(run.reqs))
				}
				regCheckUnregister(t, run.reqs[1], "127.0.0.1", 40000)
			},
		},
		{
			name:   "rport over TCP is not a NAT address",
			runFor: 5 * time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				res := regEcho(600)(req)
				via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TCP", Host: "127.0.0.1", Port: 40000, Params: sip.NewParams()}
				via.Params.Add("rport", "51234")
				via.Params.Add("received", "127.0.0.1")
				res.PrependHeader(via)
				return res, nil
			},
			check: func(t *testing.T, run *regRun) {
				if len(run.reqs) != 2 {
					t.Fatalf("got %d requests, want 2 (no rewrite)", len(run.reqs))
				}
				regCheckUnregister(t, run.reqs[1], "127.0.0.1", 40000)
			},
		},
		{
			name:   "outbound proxy and 407",
			cfg:    func(c *regConfig) { c.Proxy = "127.0.0.1:5999"; c.Username = "authuser" },
			runFor: time.Second,
			handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
				if req.Destination() != "127.0.0.1:5999" {
					return nil, fmt.Errorf("destination %q", req.Destination())
				}
				h := req.GetHeader("Proxy-Authorization")
				if h == nil {
					chal := digest.Challenge{Realm: "proxy", Nonce: "pn", Algorithm: "MD5"}
					return regRespond(req, 407, "Proxy Authentication Required", sip.NewHeader("Proxy-Authenticate", chal.String())), nil
				}
				if !strings.Contains(h.Value(), `username="authuser"`) {
					return regRespond(req, 403, "Forbidden"), nil
				}
				return regEcho(600)(req), nil
			},
			check: func(t *testing.T, run *regRun) {
				if run.before.State != RegRegistered {
					t.Fatalf("info = %+v, want registered", run.before)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := regTestConfig()
				if tt.cfg != nil {
					tt.cfg(&cfg)
				}
				run := regScenario(t, cfg, tt.runFor, tt.handle)
				tt.check(t, run)
			})
		})
	}
}

// TestRegistrationRefreshNow checks that Refresh re-registers at once.
func TestRegistrationRefreshNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &regFake{handle: func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
			return regEcho(600)(req), nil
		}}
		reg := newRegistration(f, regTestConfig())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()
		time.Sleep(time.Second) // synctest's fake clock: Refresh a second in
		reg.Refresh()
		synctest.Wait()
		reqs, times := f.requests()
		if len(reqs) != 2 || times[1].Sub(times[0]) != time.Second {
			t.Fatalf("got %d requests, want 2 one second apart", len(reqs))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}

// TestRegistrationUnregisterError checks that a silent registrar at
// shutdown bounds Run by UnregisterTimeout and reports the error.
func TestRegistrationUnregisterError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &regFake{handle: func(_ *regFake, n int, req *sip.Request) (*sip.Response, error) {
			if n == 0 {
				return regEcho(600)(req), nil
			}
			return nil, nil
		}}
		reg := newRegistration(f, regTestConfig())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()
		time.Sleep(time.Second) // synctest's fake clock: registered, then shut down
		start := time.Now()
		cancel()
		err := <-done
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want a deadline error", err)
		}
		if d := time.Since(start); d != regDefaultUnregisterTimeout {
			t.Errorf("unregister took %v, want %v", d, regDefaultUnregisterTimeout)
		}
		if i := reg.Info(); i.State != RegUnregistered || i.Err == "" {
			t.Errorf("info = %+v, want unregistered with Err", i)
		}
	})
}

func TestRegBackoff(t *testing.T) {
	lo, hi := 2*time.Second, time.Minute
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 2 * time.Second, 2 * time.Second},
		{2, 2 * time.Second, 4 * time.Second},
		{3, 2 * time.Second, 8 * time.Second},
		{5, 16 * time.Second, 32 * time.Second},
		{6, 30 * time.Second, time.Minute},
		{40, 30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		for range 50 {
			if d := regBackoff(tt.n, lo, hi); d < tt.min || d > tt.max {
				t.Fatalf("regBackoff(%d) = %v, want in [%v, %v]", tt.n, d, tt.min, tt.max)
			}
		}
	}
}

func TestRegRefreshAfter(t *testing.T) {
	tests := []struct {
		grant, want time.Duration
	}{
		{time.Second, 500 * time.Millisecond},
		{4 * time.Second, 2400 * time.Millisecond},
		{600 * time.Second, 360 * time.Second},
		{3600 * time.Second, 2160 * time.Second},
	}
	for _, tt := range tests {
		if got := regRefreshAfter(tt.grant); got != tt.want || got >= tt.grant {
			t.Errorf("regRefreshAfter(%v) = %v, want %v", tt.grant, got, tt.want)
		}
	}
}

func TestRegPermanent(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{302, true}, {400, true}, {401, true}, {403, true}, {404, true}, {407, true},
		{408, false}, {423, false}, {429, false}, {480, false},
		{500, false}, {503, false}, {504, false}, {603, true},
	}
	for _, tt := range tests {
		if got := regPermanent(tt.code); got != tt.want {
			t.Errorf("regPermanent(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestRegContactsParsing(t *testing.T) {
	tests := []struct {
		name  string
		hdrs  []sip.Header
		hosts []string
	}{
		{"generic comma list", []sip.Header{sip.NewHeader("Contact", `<sip:a@h1>;expires=3, "B" <sip:b@h2:5070>;expires=5`)}, []string{"h1", "h2"}},
		{"typed", []sip.Header{&sip.ContactHeader{Address: sip.Uri{Host: "h3"}}}, []string{"h3"}},
		{"compact", []sip.Header{sip.NewHeader("m", `<sip:c@h4>`)}, []string{"h4"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sip.NewResponse(200, "OK")
			for _, h := range tt.hdrs {
				res.AppendHeader(h)
			}
			var hosts []string
			for _, c := range regContacts(res) {
				hosts = append(hosts, c.Address.Host)
			}
			if fmt.Sprint(hosts) != fmt.Sprint(tt.hosts) {
				t.Errorf("%s: hosts %v, want %v", tt.name, hosts, tt.hosts)
			}
		})
	}
}

// Test hooks for register_udp_test.go. That test is in package phone_test
// because it needs phonetest, which imports phone.
type (
	RegConfigForTest   = regConfig
	RegDoerFuncForTest = regDoerFunc
)

// NewRegistrationForTest is newRegistration for package phone_test.
var NewRegistrationForTest = newRegistration
