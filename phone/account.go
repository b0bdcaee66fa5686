package phone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Register starts keeping the account's binding alive (it returns at once;
// progress arrives as RegistrationChanged events). It is a no-op when the
// registration already runs.
func (p *Phone) Register(ctx context.Context) error {
	a := p.cfg.Account
	if a == nil || a.Registrar == "" {
		return errors.New("phone: no registrar configured")
	}
	p.mu.Lock()
	if p.reg != nil {
		// Registered or trying: register again now (the user's
		// :register), checking first that the registrar still holds our
		// binding (regcheck.go).
		r := p.reg
		p.mu.Unlock()
		r.Refresh()
		return nil
	}
	aor, err := parseURI(a.AOR)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("account.aor: %w", err)
	}
	registrar, err := parseURI(a.Registrar)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("account.registrar: %w", err)
	}
	registrar = withTransport(registrar, p.cfg.Transport) // tls.go
	contact := sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: p.cfg.Name, Host: p.host, Port: p.port, UriParams: sip.NewParams(), Headers: sip.NewParams()},
		Params:  sip.NewParams(),
	}
	if p.cfg.Transport != "udp" {
		contact.Address.UriParams.Add("transport", p.cfg.Transport)
	}
	proxy := a.Proxy
	if proxy == "" && registrar.Port != 0 {
		proxy = registrar.HostPort()
	}
	r := newRegistration(regDoerFunc(func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
		res, err := p.cli.Do(ctx, req)
		return res, tlsVerifyError(err) // tls.go: a clear certificate error
	}), regConfig{
		AOR:       aor,
		Registrar: registrar,
		Proxy:     proxy,
		Contact:   contact,
		Username:  a.Username,
		Password:  a.Password,
		Expiry:    a.Expiry,
		UserAgent: "anyphone",
		OnChange:  func(ri RegInfo) { p.emit(RegistrationChanged{Reg: ri}) },
		// A phone notices a registrar that lost its binding (restart,
		// an admin's ul.rm) at the next refresh or :register.
		CheckBinding: true,
		OnLost:       func(ri RegInfo) { p.emit(BindingLost{Reg: ri}) },
		Keepalive:    keepaliveOf(a.Keepalive),
		Logger:       p.log,
	})
	rctx, stop := context.WithCancel(p.ctx)
	done := make(chan struct{})
	p.reg, p.regStop, p.regDone = r, stop, done
	p.mu.Unlock()
	go func() {
		// The registration goroutine: started here, joined by Unregister/Shutdown.
		defer close(done)
		if err := r.Run(rctx); err != nil {
			p.log.Info("unregister", "aor", aor.Addr(), "err", err)
		}
	}()
	return nil
}

// Unregister removes our own binding (only ours: never Contact: *) and
// waits for the registrar's answer until ctx ends.
func (p *Phone) Unregister(ctx context.Context) error {
	p.stopRegistration(ctx)
	return nil
}

func (p *Phone) stopRegistration(ctx context.Context) {
	p.mu.Lock()
	stop, done := p.regStop, p.regDone
	p.reg, p.regStop, p.regDone = nil, nil, nil
	p.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}

// Registration returns the account's registration state.
func (p *Phone) Registration() (RegInfo, bool) {
	p.mu.Lock()
	r := p.reg
	p.mu.Unlock()
	if r == nil {
		if a := p.cfg.Account; a != nil {
			return RegInfo{AOR: a.AOR, Registrar: a.Registrar, State: RegUnregistered}, true
		}
		return RegInfo{}, false
	}
	return r.Info(), true
}

// keepaliveOf is Account.Keepalive as regConfig takes it (0: off).
func keepaliveOf(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultKeepalive
	case d < 0:
		return 0
	}
	return d
}
