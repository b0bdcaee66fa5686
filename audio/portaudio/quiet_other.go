//go:build portaudio && !unix

package portaudio

import "log/slog"

// quiet runs fn. Only Unix host libraries are known to print on fd 2.
func quiet(_ *slog.Logger, fn func() error) error { return fn() }
