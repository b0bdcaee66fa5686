package vocab

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
	"time"
)

// TokenMatches compares a presented token with the expected one in
// constant time; the lengths leak nothing either (both are hashed first).
// An empty expected token matches nothing.
func TokenMatches(want, got string) bool {
	a := sha256.Sum256([]byte(want))
	b := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

// AuthGuard limits failed authentications per source address: after Max
// failures within Window, a source is refused without its token being
// looked at until the oldest failure leaves the window, so a token cannot
// be guessed at wire speed. The zero value allows 10 failures a minute. It
// is safe for concurrent use.
type AuthGuard struct {
	Max    int           // failures allowed per Window (0: 10)
	Window time.Duration // 0: one minute

	mu    sync.Mutex
	fails map[string][]time.Time
}

// maxSources bounds the memory one guard can hold.
const maxSources = 16384

func (g *AuthGuard) limits() (int, time.Duration) {
	n, w := g.Max, g.Window
	if n <= 0 {
		n = 10
	}
	if w <= 0 {
		w = time.Minute
	}
	return n, w
}

// SourceOf is the address part of host:port (the port changes per
// connection; the limit is per host).
func SourceOf(addr string) string {
	if strings.HasPrefix(addr, "[") {
		if i := strings.Index(addr, "]"); i > 0 {
			return addr[1:i]
		}
	}
	if i := strings.LastIndexByte(addr, ':'); i > 0 && strings.Count(addr, ":") == 1 {
		return addr[:i]
	}
	return addr
}

// Allow reports whether source may try to authenticate now.
func (g *AuthGuard) Allow(source string, now time.Time) bool {
	n, w := g.limits()
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.recentLocked(source, now, w)) < n
}

// Fail records a failed authentication from source.
func (g *AuthGuard) Fail(source string, now time.Time) {
	_, w := g.limits()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails == nil {
		g.fails = map[string][]time.Time{}
	}
	if len(g.fails) >= maxSources {
		for k, ts := range g.fails {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > w {
				delete(g.fails, k)
			}
		}
	}
	if _, known := g.fails[source]; !known && len(g.fails) >= maxSources {
		return // full of live sources: the ones already counted stay limited
	}
	g.fails[source] = append(g.recentLocked(source, now, w), now)
}

// Succeed forgets source's failures.
func (g *AuthGuard) Succeed(source string) {
	g.mu.Lock()
	delete(g.fails, source)
	g.mu.Unlock()
}

// recentLocked drops source's failures older than w and returns the rest.
// g.mu must be held.
func (g *AuthGuard) recentLocked(source string, now time.Time, w time.Duration) []time.Time {
	ts := g.fails[source]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > w {
		i++
	}
	if i == len(ts) {
		delete(g.fails, source)
		return nil
	}
	ts = ts[i:]
	g.fails[source] = ts
	return ts
}
