package portaudio

import "errors"

// Sentinel errors of package portaudio. Test them with errors.Is.
var (
	// ErrUnavailable is returned by Open and Devices in a binary built
	// without the "portaudio" build tag.
	ErrUnavailable = errors.New("portaudio: not in this build (needs -tags portaudio)")
	// ErrNoDevice is wrapped when a requested device (or the default one)
	// does not exist or lacks channels in the needed direction.
	ErrNoDevice = errors.New("portaudio: no such device")
	// ErrAmbiguousDevice is wrapped when a device name matches several devices.
	ErrAmbiguousDevice = errors.New("portaudio: ambiguous device name")
	// ErrBadArg is wrapped when a spec argument cannot be parsed.
	ErrBadArg = errors.New("portaudio: bad device argument")
)

// kindError carries its own message and matches a sentinel with errors.Is.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
