package vocab

import (
	"fmt"
	"log/slog"
)

// secretRedacted is what a non-empty Secret prints as.
const secretRedacted = "***"

// Secret is a password or other credential. Every way of printing,
// logging or marshalling it shows "***" (or "" when it is empty); only
// Reveal returns the value. Use it for every password the phone holds.
//
// Secret does not implement encoding.TextUnmarshaler on purpose: a
// TOML/JSON string decodes into it as a plain string kind, so loading
// configuration keeps working while writing it back out redacts.
type Secret string

// Reveal returns the secret value. Call it only where the value is used
// (digest computation), never to print it.
func (s Secret) Reveal() string { return string(s) }

// redacted returns what s prints as.
func (s Secret) redacted() string {
	if s == "" {
		return ""
	}
	return secretRedacted
}

// String implements fmt.Stringer and redacts the value.
func (s Secret) String() string { return s.redacted() }

// GoString implements fmt.GoStringer (the %#v verb) and redacts the value.
func (s Secret) GoString() string { return fmt.Sprintf("phone.Secret(%q)", s.redacted()) }

// Format implements fmt.Formatter so that every verb, including %s, %q,
// %x and %d, shows the redacted form and never the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(s.GoString()))
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", s.redacted())
	default:
		_, _ = f.Write([]byte(s.redacted()))
	}
}

// LogValue implements slog.LogValuer and redacts the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalText implements encoding.TextMarshaler and redacts the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// MarshalJSON implements json.Marshaler and redacts the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", s.redacted()), nil
}
