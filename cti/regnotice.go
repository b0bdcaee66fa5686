package cti

import (
	"strings"
	"sync"

	"github.com/anyphone/anyphone/phone"
)

// regNotices remembers the registrations whose registrar stopped
// answering, so that the user is told once when it goes and once when
// it is back (the header shows the state all along).
type regNotices struct {
	mu          sync.Mutex
	unreachable map[string]bool // by AOR
}

// regNotice tells the user that a registrar stopped answering (the
// keepalive OPTIONS or a REGISTER got no answer at all: retrying with no
// code, phone/regkeepalive.go) and that the phone registered again.
func (s *Service) regNotice(r phone.RegInfo) {
	n := &s.regs
	n.mu.Lock()
	was := n.unreachable[r.AOR]
	now := r.State == phone.RegRetrying && r.Code == 0
	switch {
	case now && !was:
		if n.unreachable == nil {
			n.unreachable = map[string]bool{}
		}
		n.unreachable[r.AOR] = true
	case was && r.State == phone.RegRegistered:
		delete(n.unreachable, r.AOR)
	default:
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	if now {
		s.Notify(NoticeWarn, "registrar "+r.Registrar+" unreachable: "+strings.TrimPrefix(r.Err, "registrar unreachable: ")+"; retrying")
		return
	}
	s.Notify(NoticeInfo, "registered again at "+r.Registrar+" as "+r.AOR)
}
