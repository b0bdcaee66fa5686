package phone

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRegistrationKeepalive (issue 13): while registered, OPTIONS go to
// the registrar every Keepalive; a registrar that stops answering is
// noticed within Keepalive + Timeout (RegRetrying, "registrar
// unreachable") although the binding is far from its refresh, and when it
// answers again a REGISTER binds us again. A Refresh is served while a
// probe is in flight (fire-and-track).
func TestRegistrationKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			keepalive = 30 * time.Second
			timeout   = 5 * time.Second
			downAt    = 100 * time.Second
			upAt      = 200 * time.Second
		)
		start := time.Now()
		f := &regFake{handle: func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
			now := time.Since(start)
			if now >= downAt && now < upAt {
				return nil, nil // silent until the request times out
			}
			if req.Method == sip.OPTIONS {
				return regRespond(req, 200, "OK"), nil
			}
			return regEcho(600)(req), nil
		}}
		cfg := regTestConfig()
		cfg.Keepalive, cfg.Timeout = keepalive, timeout
		var (
			mu    sync.Mutex
			infos []RegInfo
			when  []time.Duration
		)
		cfg.OnChange = func(i RegInfo) {
			mu.Lock()
			infos, when = append(infos, i), append(when, time.Since(start))
			mu.Unlock()
		}
		reg := newRegistration(f, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()
		time.Sleep(300 * time.Second)
		synctest.Wait()
		if got := reg.Info().State; got != RegRegistered {
			t.Errorf("state after the registrar came back = %v, want registered", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}

		reqs, times := f.requests()
		options, registers, lastRegister := 0, 0, time.Duration(0)
		for i, req := range reqs {
			at := times[i].Sub(start)
			switch req.Method {
			case sip.OPTIONS:
				options++
				if req.CallID().Value() == reqs[0].CallID().Value() {
					t.Errorf("request %d: OPTIONS with the REGISTER's Call-ID", i)
				}
			case sip.REGISTER:
				registers++
				if at >= upAt && lastRegister == 0 {
					lastRegister = at // the first after the registrar came back
				}
			}
		}
		if options < 3 {
			t.Errorf("%d OPTIONS in 300 s with keepalive %s, want at least 3", options, keepalive)
		}
		mu.Lock()
		defer mu.Unlock()
		noticed := time.Duration(-1)
		for i, in := range infos {
			if in.State == RegRetrying && strings.Contains(in.Err, "registrar unreachable") {
				noticed = when[i]
				break
			}
		}
		if noticed < 0 || noticed < downAt || noticed > downAt+keepalive+timeout {
			t.Fatalf("unreachable registrar noticed at %s, want between %s and %s; infos %+v", noticed, downAt, downAt+keepalive+timeout, infos)
		}
		if lastRegister == 0 {
			t.Errorf("no REGISTER after the registrar came back at %s", upAt)
		}
		t.Logf("%d OPTIONS, %d REGISTER; down at %s, noticed at %s, registered again by %s", options, registers, downAt, noticed, lastRegister)
	})
}

// TestRegistrationKeepaliveOff: without Keepalive no OPTIONS are sent.
func TestRegistrationKeepaliveOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &regFake{handle: func(_ *regFake, _ int, req *sip.Request) (*sip.Response, error) {
			return regEcho(600)(req), nil
		}}
		reg := newRegistration(f, regTestConfig())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()
		time.Sleep(100 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		reqs, _ := f.requests()
		for i, req := range reqs {
			if req.Method != sip.REGISTER {
				t.Errorf("request %d is %s, want only REGISTER", i, req.Method)
			}
		}
	})
}
