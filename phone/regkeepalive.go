package phone

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Noticing an unreachable registrar. A binding refreshed every few minutes
// hides a registrar (or outbound proxy) that went away: the header says
// "registered" while calls to the AOR fail. With regConfig.Keepalive the
// registration sends OPTIONS (RFC 3261 §11) to the registrar while it
// waits for the next refresh. Any answer, whatever its code, shows the
// registrar alive; no answer within Timeout or a transport error makes the
// registration RegRetrying with "registrar unreachable", and the usual
// backoff registers again until the registrar answers, so a registrar
// that comes back gets a fresh REGISTER (and our binding, if it lost it).
//
// A probe is started and tracked, never awaited: the Run goroutine keeps
// serving Refresh (the user's :register) while an OPTIONS is in flight.

// DefaultKeepalive is how often a registered phone sends OPTIONS to its
// registrar when Account.Keepalive is 0.
const DefaultKeepalive = 30 * time.Second

// keepalive is the state of the OPTIONS probes of one registration; all
// of it is owned by the Run goroutine except probes (joined by Run).
type keepalive struct {
	callID string
	cseq   uint32
	gen    int // attempts so far: a probe result of an older one is ignored
	busy   bool
	done   chan keepaliveResult
	probes sync.WaitGroup
}

type keepaliveResult struct {
	gen int
	err error
}

// idle waits wait (or a Refresh, or ctx) before the next attempt, probing
// the registrar every Keepalive while registered.
func (r *registration) idle(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	var tick <-chan time.Time
	if r.cfg.Keepalive > 0 && r.Info().State == RegRegistered {
		k := time.NewTicker(r.cfg.Keepalive)
		defer k.Stop()
		tick = k.C
	}
	if r.ka.done == nil {
		r.ka.done = make(chan keepaliveResult, 1)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-r.refresh:
			return
		case <-tick:
			if !r.ka.busy {
				r.ka.busy = true
				req, gen := r.keepaliveRequest(), r.ka.gen
				r.ka.probes.Go(func() { // owner: Run, which joins probes
					r.ka.done <- keepaliveResult{gen: gen, err: r.probe(ctx, req)}
				})
			}
		case res := <-r.ka.done:
			r.ka.busy = false
			if res.err == nil || res.gen != r.ka.gen || ctx.Err() != nil {
				continue
			}
			msg := "registrar unreachable: " + res.err.Error()
			r.log.Warn("registrar unreachable", "registrar", r.cfg.Registrar.String(), "err", res.err)
			t.Reset(r.retry(time.Now(), 0, msg, 0))
			tick = nil // until registered again
		}
	}
}

// probe sends one OPTIONS and reports whether the registrar answered at
// all.
func (r *registration) probe(ctx context.Context, req *sip.Request) error {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	res, err := r.doer.Do(pctx, req)
	switch {
	case err == nil && res != nil:
		r.log.Debug("keepalive answered", "code", int(res.StatusCode))
		return nil
	case ctx.Err() != nil:
		return nil // shutting down: no verdict
	case err == nil, errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer to OPTIONS within %s", r.cfg.Timeout)
	default:
		return fmt.Errorf("OPTIONS: %w", err)
	}
}

// keepaliveRequest builds the next OPTIONS: one Call-ID for all probes of
// the registration (one dialog in the SIP view), CSeq increasing.
func (r *registration) keepaliveRequest() *sip.Request {
	if r.ka.callID == "" {
		r.ka.callID = rand.Text()
	}
	ruri := *r.cfg.Registrar.Clone()
	ruri.User, ruri.Password = "", ""
	req := sip.NewRequest(sip.OPTIONS, ruri)
	aor := sip.Uri{Scheme: r.cfg.AOR.Scheme, User: r.cfg.AOR.User, Host: r.cfg.AOR.Host, Port: r.cfg.AOR.Port}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: ruri})
	callID := sip.CallIDHeader(r.ka.callID)
	req.AppendHeader(&callID)
	r.ka.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.ka.cseq, MethodName: sip.OPTIONS})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	if r.cfg.UserAgent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", r.cfg.UserAgent))
	}
	req.SetBody(nil)
	if r.cfg.Proxy != "" {
		req.SetDestination(r.cfg.Proxy)
	}
	return req
}
