// Package portaudio is the sound-card backend of package audio, built on
// github.com/gordonklaus/portaudio (cgo, PortAudio 19).
//
// The cgo code is compiled only with the build tag "portaudio"
// (go build -tags portaudio; needs portaudio19-dev and pkg-config). Without
// the tag a pure-Go stub takes its place: Open and Devices return
// ErrUnavailable, so CGO_ENABLED=0 builds keep working and audio.OpenDevice
// falls back to null audio with a notice.
//
// Importing the package (blank import in cmd/anyphone) registers the backend
// with audio.RegisterBackend under the name "portaudio". Its spec argument
// picks devices: "portaudio" for the defaults, "portaudio:NAME" for one
// device used both ways, or "portaudio:in=NAME;out=NAME" (either part may be
// left out). NAME is a device index or name as listed by Devices; a unique
// case-insensitive substring of a name also works.
//
// PortAudio's host libraries (ALSA, JACK) print dozens of lines to fd 2 when
// there is no sound card. Every call into PortAudio that can do so runs with
// fd 2 redirected to a temporary file, whose contents are logged at debug
// level, so nothing reaches a terminal running the TUI.
//
// Package portaudio imports only package audio of this module.
package portaudio
