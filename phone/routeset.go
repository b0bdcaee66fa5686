package phone

import "github.com/emiago/sipgo/sip"

// fixRouteDestination makes an in-dialog request we send follow the
// dialog's route set (RFC 3261 §12.2.1.1): to the first Route, not to the
// remote target.
//
// diago v0.31.0 sends a caller-side re-INVITE (hold, resume, media
// update) as d.Do(ctx, req.Clone()), and sipgo v1.7.2's Clone freezes
// req.Destination() (SetDestination) while the request has no Route yet:
// the remote target's host:port. sipgo then adds the Route headers from
// Record-Route, but the frozen destination wins, so the re-INVITE skipped
// every record-routing proxy. Over UDP that went unnoticed (the peer's
// Contact answers directly, the proxy never sees the re-INVITE); over
// client-only TLS the Contact has no listener and hold failed with
// "dial tcp ...: connection refused" (LIBRARIES.md §3 #27).
//
// Only a destination equal to the Request-URI's host:port is cleared: one
// a caller set on purpose (an outbound proxy) stays.
func fixRouteDestination(req *sip.Request) {
	if req.IsAck() || req.IsCancel() || req.Route() == nil {
		return
	}
	to := req.To()
	if to == nil || to.Params == nil {
		return
	}
	if tag, ok := to.Params.Get("tag"); !ok || tag == "" {
		return
	}
	dest := req.Destination()
	if dest == req.Recipient.HostPort() || dest == hostPortDefault(req.Recipient, req.Transport()) {
		req.SetDestination("")
	}
}

// hostPortDefault is u's host:port with the transport's default port when
// u names none (sipgo's Destination form).
func hostPortDefault(u sip.Uri, transport string) string {
	if u.Port > 0 {
		return u.HostPort()
	}
	v := u
	v.Port = sip.DefaultPort(transport)
	return v.HostPort()
}
