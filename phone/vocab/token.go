package vocab

import "strings"

// IsToken reports whether b is an RFC 3261 §25.1 token: one or more
// alphanumerics or "-.!%*_+`'~". Header parameter names, Reason protocols
// and methods are tokens.
func IsToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
