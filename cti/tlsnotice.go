package cti

import (
	"strings"
	"sync"
)

// tlsNotices turns a registration that fails TLS certificate verification
// into one error notice for the user (the header only says "retrying"),
// once per distinct error: the registration retries with backoff and must
// not repeat it.
type tlsNotices struct {
	mu   sync.Mutex
	last string
}

// regNotice returns the notice text for a registration error, or "".
func (t *tlsNotices) regNotice(aor, err string) string {
	if !strings.Contains(err, "certificate verification failed") {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == t.last {
		return ""
	}
	t.last = err
	return "registration of " + aor + " refused: " + strings.TrimPrefix(err, "register: ")
}
