package phone

import (
	"context"
	"time"
)

// requestCtx bounds a request made for a caller (a re-INVITE, a REFER, a
// BYE) by the caller's ctx, by d, and by the phone's life: Close cancels
// p.ctx and with it every request in flight, as before the caller's ctx was
// passed down.
func (p *Phone) requestCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, d)
	if ctx == p.ctx {
		return ctx, cancel
	}
	stop := context.AfterFunc(p.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
