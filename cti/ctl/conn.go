package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/anyphone/anyphone/cti/api"
)

// errSkip is returned by a transport's read for input that needs no
// response (a blank or comment line).
var errSkip = errors.New("ctl: skip")

// transport is one connection as serveConn sees it. read returns one
// message; an *Error means "answer with this and go on", any other error
// ends the connection. write sends one message; it is serialised by
// serveConn.
type transport struct {
	read  func(ctx context.Context) ([]byte, error)
	write func(ctx context.Context, msg []byte) error
}

// connOptions tune serveConn.
type connOptions struct {
	// events subscribes at once, before the first command.
	events bool
	// now stamps events; nil means time.Now.
	now func() time.Time
}

// serveConn runs one connection until read fails or ctx ends: it answers
// each command in order, one at a time (except that a command on a call
// that takes longer than slowCommand lets the next ones through, lanes.go),
// and streams events once the client
// subscribed (or from the start with o.events). Responses and events are
// written one at a time, so messages never interleave. It returns the error
// that ended the connection.
func (d *Dispatcher) serveConn(ctx context.Context, t transport, o connOptions) error {
	ctx, cancel := context.WithCancelCause(ctx)
	now := o.now
	if now == nil {
		now = time.Now
	}

	var wmu sync.Mutex
	send := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return t.write(ctx, b)
	}

	// The pump goroutines are owned by serveConn: started after the
	// subscribe response is written, joined below.
	var (
		wg      sync.WaitGroup
		smu     sync.Mutex
		sub     *api.Subscription
		started bool
	)
	var ln lanes // commands on calls (lanes.go)
	defer func() {
		cancel(nil)
		ln.wait()
		smu.Lock()
		if sub != nil {
			sub.Close()
		}
		smu.Unlock()
		wg.Wait()
	}()
	pump := func(s *api.Subscription) {
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-s.C:
				if !ok {
					return
				}
				b, err := MarshalEvent(ev, now())
				if err != nil {
					d.log.Warn("ctl event not sent", "err", err)
					continue
				}
				if err := send(b); err != nil {
					cancel(err)
					return
				}
			}
		}
	}
	startPump := func() {
		smu.Lock()
		defer smu.Unlock()
		if sub != nil && !started {
			started = true
			s := sub
			wg.Go(func() { pump(s) })
		}
	}
	sess := &session{
		d: d,
		c: d.c,
		subscribe: func() api.Snapshot {
			smu.Lock()
			if sub == nil {
				sub = d.c.Subscribe()
				started = false
			}
			smu.Unlock()
			// Snapshot after subscribing: no change falls between them.
			return d.c.Snapshot()
		},
		unsubscribe: func() {
			smu.Lock()
			if sub != nil {
				sub.Close() // the pump sees C closed and returns
				sub = nil
			}
			smu.Unlock()
		},
	}
	if o.events {
		sess.subscribe()
		startPump()
	}

	for {
		msg, err := t.read(ctx)
		var resp Response
		var werr *Error
		switch {
		case errors.Is(err, errSkip):
			continue
		case errors.As(err, &werr):
			resp = errorResponse(nil, werr)
		case err != nil:
			if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
				return c // a write failed
			}
			return err
		default:
			if call := laneOf(msg); call != "" {
				// A command on a call: on its call's lane, waited
				// for only slowCommand (lanes.go).
				msg := append([]byte(nil), msg...) // the reader may reuse its buffer
				done := ln.run(call, func() {
					r := d.handle(ctx, sess, msg)
					b, err := json.Marshal(r)
					if err == nil {
						err = send(b)
					}
					if err != nil {
						cancel(err)
					}
				})
				slow := time.NewTimer(slowCommand)
				select {
				case <-done:
				case <-slow.C:
				}
				slow.Stop()
				continue
			}
			resp = d.handle(ctx, sess, msg)
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		if err := send(b); err != nil {
			return err
		}
		startPump()
	}
}
