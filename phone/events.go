package phone

// SIP-specific event notification (RFC 6665) routing: incoming SUBSCRIBEs,
// and NOTIFYs that belong to a subscription rather than to a transfer, go
// to the handler of their Event package. diago keeps the "refer" package
// (implicit subscriptions of REFER, RFC 3515); every other package
// registers here with one line, e.g.
//
//	p.handleEvent("dialog", eventHandler{Subscribe: p.serveDialogSubscribe}) // presence.go
//
// A SUBSCRIBE for a package nobody serves gets 489 Bad Event (RFC 6665
// §8.2.1) with Allow-Events listing the ones we do.

import (
	"slices"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// eventHandler serves one event package. Either func may be nil: then
// that method gets 489 (SUBSCRIBE) or 481 (NOTIFY) for the package.
type eventHandler struct {
	Subscribe func(req *sip.Request, tx sip.ServerTransaction)
	Notify    func(req *sip.Request, tx sip.ServerTransaction)
}

// eventRouter maps event packages to handlers.
type eventRouter struct {
	mu sync.RWMutex
	m  map[string]eventHandler
}

// handleEvent registers h for package pkg (case-insensitive), replacing
// any earlier handler.
func (p *Phone) handleEvent(pkg string, h eventHandler) {
	p.events.mu.Lock()
	defer p.events.mu.Unlock()
	if p.events.m == nil {
		p.events.m = map[string]eventHandler{}
	}
	p.events.m[strings.ToLower(pkg)] = h
}

// eventPackage returns the package of a request's Event header without
// its parameters, lower-cased; "" without one.
func eventPackage(req *sip.Request) string {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o") // compact form (RFC 6665 §8.2.1)
	}
	if h == nil {
		return ""
	}
	v := h.Value()
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// allowEvents is the Allow-Events value: the packages registered, sorted.
func (p *Phone) allowEvents() string {
	p.events.mu.RLock()
	defer p.events.mu.RUnlock()
	pkgs := []string{"refer"}
	for k := range p.events.m {
		pkgs = append(pkgs, k)
	}
	slices.Sort(pkgs)
	return strings.Join(slices.Compact(pkgs), ", ")
}

// serveEvent routes a SUBSCRIBE, or a NOTIFY of a registered package, to
// its handler; false leaves the request to diago (NOTIFYs of "refer").
// Called by the middleware after validation and the source checks.
func (p *Phone) serveEvent(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.Method != sip.SUBSCRIBE && req.Method != sip.NOTIFY {
		return false
	}
	pkg := eventPackage(req)
	p.events.mu.RLock()
	h, ok := p.events.m[pkg]
	p.events.mu.RUnlock()
	if req.Method == sip.NOTIFY {
		if !ok || h.Notify == nil {
			return false // diago: refer, or 481 for no dialog
		}
		h.Notify(req, tx)
		return true
	}
	if !ok || h.Subscribe == nil {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", p.allowEvents()))
		_ = tx.Respond(res)
		return true
	}
	h.Subscribe(req, tx)
	return true
}
