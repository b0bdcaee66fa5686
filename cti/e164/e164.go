// Package e164 is the one rule for telephone numbers in anyphone: whether a
// string is written as a number, and its E.164 form (+4930123456) under
// libphonenumber's rules. cti/busy matches VIP callers with it and
// cti/journal keys the journal's number column; both must agree, so neither
// has its own copy.
//
// The strict syntax check for configured numbers (+ and 4 to 15 digits) is
// vocab.IsE164: it needs no number metadata and phone and anydevice use it.
package e164

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// LooksLikeNumber reports whether s is written as a phone number: at least
// two digits, an optional leading +, and the separators space - . / ( ).
func LooksLikeNumber(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 2
}

// Normalize returns s in E.164 (+4930123456) using libphonenumber rules,
// with region (e.g. "DE") for numbers without a country code; "" accepts
// only international ones. It reports false when s is not written as a
// phone number or libphonenumber cannot parse it.
func Normalize(s, region string) (string, bool) {
	s = strings.TrimSpace(s)
	if !LooksLikeNumber(s) {
		return "", false
	}
	if region = strings.ToUpper(region); region == "" {
		region = "ZZ" // unknown: only +CC numbers parse
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}
