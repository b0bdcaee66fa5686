package audio

import (
	"errors"
	"fmt"
)

// Sentinel errors of package audio. Test them with errors.Is.
var (
	// ErrUnknownBackend is wrapped by a SpecError whose backend name is not
	// built in and not registered.
	ErrUnknownBackend = errors.New("audio: unknown backend")
	// ErrBadSpec is wrapped by a SpecError whose arguments do not parse.
	ErrBadSpec = errors.New("audio: bad spec")
	// ErrNoBackend is returned by Devices when no device backend is registered
	// (the binary was built without blank-importing audio/portaudio).
	ErrNoBackend = errors.New("audio: no device backend registered")
	// ErrBadWAV is wrapped by errors for data that is not a well-formed WAV file.
	ErrBadWAV = errors.New("audio: malformed wav")
	// ErrUnsupportedWAV is wrapped by errors for WAV files that are well
	// formed but not 16-bit PCM, or that cannot be converted to the format asked for.
	ErrUnsupportedWAV = errors.New("audio: unsupported wav")
	// ErrWAVTooLarge is returned when a WAV file exceeds MaxWAVData bytes of
	// samples, when reading or when writing.
	ErrWAVTooLarge = errors.New("audio: wav too large")
	// ErrEmptyWAV is returned when a WAV file meant to be played holds no samples.
	ErrEmptyWAV = errors.New("audio: wav has no samples")
)

// SpecError reports a backend spec string that cannot be opened. Spec is the
// whole spec as given, so the message names what the user typed.
type SpecError struct {
	Spec string // the spec as given, e.g. "tone:abc"
	Err  error  // what went wrong; wraps ErrUnknownBackend, ErrBadSpec or an I/O error
}

// Error implements error.
func (e *SpecError) Error() string {
	return fmt.Sprintf("audio: spec %q: %v", e.Spec, e.Err)
}

// Unwrap returns the underlying error.
func (e *SpecError) Unwrap() error { return e.Err }

// kindError is an error with its own message that still matches a sentinel
// with errors.Is, so a SpecError does not repeat the "audio:" prefix.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// badSpec returns an error wrapping ErrBadSpec with the formatted message.
func badSpec(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrBadSpec}
}
