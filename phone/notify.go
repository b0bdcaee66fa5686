package phone

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// serveNotify routes a NOTIFY by its Event package (RFC 6665 §8.2.1) to
// the package's handler and reports whether it answered. refer (RFC 3515)
// and packages without a handler go on to diago, which matches REFER
// subscriptions and answers 481 to the rest. One line per package.
func (p *Phone) serveNotify(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.Method != sip.NOTIFY {
		return false
	}
	switch eventPackage(req) {
	case mwiEvent:
		p.serveMWINotify(req, tx) // mwi.go
	default:
		return false
	}
	return true
}

// eventPackage is the package name of a request's Event header (compact
// form "o"), lower case, without parameters; "" when there is none.
func eventPackage(req *sip.Request) string {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o")
	}
	if h == nil {
		return ""
	}
	name, _, _ := strings.Cut(h.Value(), ";")
	return strings.ToLower(strings.TrimSpace(name))
}
