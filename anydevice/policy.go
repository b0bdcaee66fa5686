package anydevice

import (
	"errors"
	"fmt"
	"net/url"
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
	// AllowRefer lets the remote party of the user's bridged call transfer
	// it with REFER: the controller then calls the REFER's target, within
	// this policy and the channel limit, in place of the referrer. Off
	// (the default): every REFER on the user's legs is answered 403.
	AllowRefer bool `toml:"allow_refer" json:"allow_refer,omitempty"`
	// AllowSimring lets follow-me ring more than one device at once (as
	// Set-CsVoicePolicy -AllowSimulRing; default on). Off: one active
	// device only, and a second device leg is refused while one rings.
	AllowSimring *bool `toml:"allow_simring" json:"allow_simring,omitempty"`
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

// Judge judges a dial target in every form it can take: a number
// (0049…, 0…, +…), a SIP or SIPS URI whose user part is a number
// (percent-escaped, with visual separators, with user parameters such as
// ;isub or ;phone-context, or marked ;user=phone), a tel: URI, or a SIP
// URI naming someone. A target that is a number is judged as that number
// whatever URIs allows (a trunk dials sip:+49900…@anyhost as +49900…). It
// returns the rule that refuses it, or "".
func (p *Policy) Judge(target string) (rule string) {
	number, numeric := p.numberOf(target)
	if numeric && number == "" {
		return "not-e164" // digits the policy cannot place: a short code, an unknown prefix
	}
	return p.Check(number)
}

// numberOf returns the E.164 number target dials and whether target names
// a number at all; ("", true) is a number the policy cannot normalise.
func (p *Policy) numberOf(target string) (number string, numeric bool) {
	user, phone := dialedUser(target)
	if user == "" {
		return "", phone
	}
	if !looksNumeric(user) {
		return "", phone
	}
	return p.Normalize(user), true
}

// dialedUser extracts the user part a target dials, unescaped, without user
// parameters; phone reports a tel: URI or ;user=phone.
func dialedUser(target string) (user string, phone bool) {
	t := strings.TrimSpace(target)
	if i := strings.IndexByte(t, '<'); i >= 0 {
		if j := strings.IndexByte(t[i:], '>'); j > 0 {
			t = t[i+1 : i+j]
		}
	}
	lower := strings.ToLower(t)
	switch {
	case strings.HasPrefix(lower, "tel:"):
		user, phone = t[4:], true
		if i := strings.IndexByte(user, ';'); i >= 0 {
			user = user[:i]
		}
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"), strings.Contains(t, "@"):
		rest := t
		if i := strings.IndexByte(lower, ':'); i >= 0 && (strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:")) {
			rest = t[i+1:]
		}
		at := strings.LastIndexByte(rest, '@')
		if at < 0 {
			return "", false // sip:host names no one
		}
		user = rest[:at]
		hostPart := strings.ToLower(rest[at+1:])
		if i := strings.IndexByte(hostPart, '?'); i >= 0 {
			hostPart = hostPart[:i]
		}
		phone = strings.Contains(hostPart, ";user=phone")
		if i := strings.IndexByte(user, ':'); i >= 0 {
			user = user[:i] // user:password
		}
		if i := strings.IndexByte(user, ';'); i >= 0 {
			user = user[:i] // ;isub=, ;phone-context=, ;postd=
		}
	default:
		user = t
	}
	if dec, err := url.PathUnescape(user); err == nil {
		user = dec
	} else {
		return user, true // broken escapes: judged, and refused, as a number
	}
	return strings.TrimSpace(user), phone
}

// looksNumeric reports whether a user part is meant as a number: it starts
// with + or a digit and has nothing but digits and visual separators.
func looksNumeric(u string) bool {
	if u == "" {
		return false
	}
	if c := u[0]; c != '+' && (c < '0' || c > '9') {
		return false
	}
	digits := 0
	for i, r := range u {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" -./()", r):
		default:
			return true // "+49900abc", "0900*1": a number with garbage, judged (and refused) as one
		}
	}
	return digits > 0
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

// simring reports whether follow-me may ring several devices at once.
func (p *Policy) simring() bool { return p.AllowSimring == nil || *p.AllowSimring }

// judgeDevice judges a device target: a number (or a URI dialing one)
// under the dial policy, a SIP URI naming a device as configured by the
// administrator.
func (p *Policy) judgeDevice(target string) string {
	if _, numeric := p.numberOf(target); numeric {
		return p.Judge(target)
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
