package busy

import (
	"path"
	"strings"

	"github.com/anyphone/anyphone/cti/e164"
	"github.com/anyphone/anyphone/phone/vocab"
)

type vipEntryKind int

const (
	vipEmpty vipEntryKind = iota
	vipPattern
	vipNumber
	vipURI
)

func vipKind(v string) vipEntryKind {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return vipEmpty
	case strings.ContainsAny(v, "*?["):
		return vipPattern
	case looksLikeNumber(v):
		return vipNumber
	default:
		return vipURI
	}
}

// looksLikeNumber reports whether s is written as a phone number: digits
// with an optional leading + and the usual separators.
func looksLikeNumber(s string) bool { return e164.LooksLikeNumber(s) }

// NormalizeNumber returns s in E.164 (+4930123456) using libphonenumber
// rules, with region (e.g. "DE") for numbers without a country code. It
// reports false when s is not a phone number it can place. It is
// e164.Normalize, the rule cti/journal keys its numbers with.
func NormalizeNumber(s, region string) (string, bool) { return e164.Normalize(s, region) }

// caller is the caller's identity in the forms VIP entries compare with.
type caller struct {
	uri    string // lower case, without parameters; "" for a bare number
	number string // E.164, "" if the caller is not a number
	user   string // the user part as sent
}

func callerOf(from, region string) caller {
	from = strings.TrimSpace(from)
	if from == "" {
		return caller{}
	}
	if looksLikeNumber(from) {
		n, _ := NormalizeNumber(from, region)
		return caller{number: n, user: from}
	}
	p, _, err := vocab.ParseNameAddr(from)
	if err != nil {
		return caller{uri: strings.ToLower(from)}
	}
	c := caller{uri: strings.ToLower(p.URI), user: p.User}
	if n, ok := NormalizeNumber(p.User, region); ok {
		c.number = n
	}
	return c
}

// matchVIP returns the first VIP entry that matches from.
func matchVIP(vip []string, region, from string) (string, bool) {
	if len(vip) == 0 {
		return "", false
	}
	c := callerOf(from, region)
	for _, v := range vip {
		entry := strings.TrimSpace(v)
		switch vipKind(entry) {
		case vipPattern:
			pat := strings.ToLower(entry)
			for _, cand := range []string{c.uri, c.number} {
				if cand == "" {
					continue
				}
				if ok, _ := path.Match(pat, cand); ok {
					return v, true
				}
			}
		case vipNumber:
			if n, ok := NormalizeNumber(entry, region); ok && n == c.number {
				return v, true
			}
		case vipURI:
			if c.uri != "" && vocab.SameAOR(entry, c.uri) {
				return v, true
			}
		}
	}
	return "", false
}
