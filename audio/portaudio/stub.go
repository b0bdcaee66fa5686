//go:build !portaudio

package portaudio

import (
	"log/slog"

	"github.com/anyphone/anyphone/audio"
)

// Devices lists the sound devices. Without the build tag it returns ErrUnavailable.
func Devices() ([]Device, error) { return nil, ErrUnavailable }

func open(in, out string, f audio.Format, log *slog.Logger) (*Stream, error) {
	return nil, ErrUnavailable
}
