package portaudio

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/anyphone/anyphone/audio"
)

// Name is the name the backend registers under.
const Name = "portaudio"

// Device describes a PortAudio device; see audio.Device.
type Device = audio.Device

func init() {
	audio.RegisterBackend(Name, audio.Backend{Open: openBackend, Devices: Devices})
}

// Open opens the input device in and the output device out (an index, a
// name, or "" for the default) for format f, which must be mono. If a
// device refuses f's sample rate it is opened at its default rate and the
// stream resamples. Without the build tag it returns ErrUnavailable.
func Open(in, out string, f audio.Format) (*Stream, error) {
	return open(in, out, f, slog.Default())
}

// openBackend is the audio.Backend opener.
func openBackend(arg string, f audio.Format, log *slog.Logger) (audio.Source, audio.Sink, io.Closer, error) {
	in, out, err := ParseDevices(arg)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := open(in, out, f, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, s, s, nil
}

// ParseDevices splits a spec argument into input and output device
// specs: "" (defaults), "NAME" (both), or "in=NAME;out=NAME" with either
// part optional (see audio.SplitDevices).
func ParseDevices(arg string) (in, out string, err error) {
	in, out, ok := audio.SplitDevices(arg)
	if !ok {
		return "", "", &kindError{msg: fmt.Sprintf("portaudio: device argument %q: want NAME or in=NAME;out=NAME", arg), kind: ErrBadArg}
	}
	return in, out, nil
}
