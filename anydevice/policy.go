package anydevice

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"
)

// Policy is a user's dial policy. The zero value allows national numbers,
// blocks premium and international numbers, allows 2 concurrent callbacks
// and 10 calls a minute.
type Policy struct {
	// Allow, if not empty, lists the only destinations allowed: glob
	// patterns over the E.164 number ("+4989*", "+49301234567").
	Allow []string `toml:"allow" json:"allow,omitempty"`
	// Deny lists destinations refused even when allowed otherwise.
	Deny []string `toml:"deny" json:"deny,omitempty"`
	// HomeCountry is the country prefix of national numbers (default +49).
	HomeCountry string `toml:"home_country" json:"home_country,omitempty"`
	// International allows numbers outside HomeCountry.
	International bool `toml:"international" json:"international,omitempty"`
	// Premium allows premium-rate numbers (PremiumPrefixes).
	Premium bool `toml:"premium" json:"premium,omitempty"`
	// PremiumPrefixes are the premium-rate ranges; default the German
	// ones: +49900 (premium), +49137/+49138 (mass calls), +49118 (directory
	// enquiries), +4919 (network services and dial-ups).
	PremiumPrefixes []string `toml:"premium_prefixes" json:"premium_prefixes,omitempty"`
	// URIs allows destinations that are SIP URIs without a number as
	// user part (off: everything must be a number the policy can judge).
	URIs bool `toml:"uris" json:"uris,omitempty"`
	// MaxConcurrent limits the user's sessions at once (0: 2).
	MaxConcurrent int `toml:"max_concurrent" json:"max_concurrent,omitempty"`
	// MaxPerMinute limits calls placed per minute (0: 10).
	MaxPerMinute int `toml:"max_per_minute" json:"max_per_minute,omitempty"`
}

var defaultPremium = []string{"+49900", "+49137", "+49138", "+49118", "+4919"}

func (p *Policy) validate() error {
	for _, pat := range append(append([]string{}, p.Allow...), p.Deny...) {
		if _, err := path.Match(pat, "+49"); err != nil {
			return fmt.Errorf("pattern %q: %w", pat, err)
		}
	}
	if p.HomeCountry != "" && !strings.HasPrefix(p.HomeCountry, "+") {
		return errors.New("home_country: must start with +")
	}
	if p.MaxConcurrent < 0 || p.MaxPerMinute < 0 {
		return errors.New("limits: negative")
	}
	return nil
}

func (p *Policy) home() string {
	if p.HomeCountry == "" {
		return "+49"
	}
	return p.HomeCountry
}

// Normalize turns a dialed string into E.164 under the policy's home
// country: 0049... and 0... become +49...; separators are dropped. It
// returns "" when s is not a number.
func (p *Policy) Normalize(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '/' || r == '(' || r == ')' || r == '.':
		default:
			return ""
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case strings.HasPrefix(n, "0"):
		n = p.home() + n[1:]
	default:
		return "" // extensions and short codes are not ours to judge
	}
	if !isNumber(n) {
		return ""
	}
	return n
}

// Check judges a destination number (E.164, "" for a non-number SIP URI).
// It returns the rule that refuses it, or "".
func (p *Policy) Check(number string) (rule string) {
	if number == "" {
		if p.URIs {
			return ""
		}
		return "not-a-number"
	}
	for _, pat := range p.Deny {
		if ok, _ := path.Match(pat, number); ok {
			return "deny"
		}
	}
	prem := p.PremiumPrefixes
	if len(prem) == 0 {
		prem = defaultPremium
	}
	for _, pre := range prem {
		if strings.HasPrefix(number, pre) && !p.Premium {
			return "premium"
		}
	}
	if !strings.HasPrefix(number, p.home()) && !p.International {
		return "international"
	}
	if len(p.Allow) > 0 {
		for _, pat := range p.Allow {
			if ok, _ := path.Match(pat, number); ok {
				return ""
			}
		}
		return "pattern"
	}
	return ""
}

func (p *Policy) maxConcurrent() int {
	if p.MaxConcurrent == 0 {
		return 2
	}
	return p.MaxConcurrent
}

func (p *Policy) maxPerMinute() int {
	if p.MaxPerMinute == 0 {
		return 10
	}
	return p.MaxPerMinute
}

// rateLimiter counts calls per user in a sliding minute.
type rateLimiter struct {
	mu    sync.Mutex
	calls map[string][]time.Time
}

// allow records a call at now for user and reports whether it stays within
// limit per minute.
func (r *rateLimiter) allow(user string, limit int, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]time.Time{}
	}
	ts := r.calls[user]
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= limit {
		r.calls[user] = ts
		return false
	}
	r.calls[user] = append(ts, now)
	return true
}
