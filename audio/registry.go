package audio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Device describes a sound device a registered backend can open.
type Device struct {
	Backend           string  // registered backend name, e.g. "portaudio"
	Index             int     // backend's device index; usable as a device spec
	Name              string  // human-readable name; usable as a device spec
	HostAPI           string  // e.g. "ALSA", "Core Audio"
	MaxInputChannels  int     // 0 for an output-only device
	MaxOutputChannels int     // 0 for an input-only device
	DefaultSampleRate float64 // hertz
	DefaultInput      bool    // the host's default input device
	DefaultOutput     bool    // the host's default output device
}

// Backend is a device backend that a subpackage registers (audio/portaudio
// does so in its init), so that package audio needs no cgo.
type Backend struct {
	// Open opens the backend for format f. arg is the text after "NAME:" in
	// the spec ("" when absent, meaning default devices). Open returns an
	// error when no device opens; the caller decides whether to fall back.
	Open func(arg string, f Format, log *slog.Logger) (Source, Sink, io.Closer, error)
	// Devices lists the backend's devices. It may be nil.
	Devices func() ([]Device, error)
}

var registry struct {
	mu       sync.Mutex
	backends map[string]Backend
}

// builtinNames are the spec names Open handles itself.
var builtinNames = []string{"null", "tone", "wav", "wav-once", "echo", "pipe", "record", "auto"}

// RegisterBackend makes a backend available to Open, OpenDevice and Devices
// under name. It is meant to be called from an init function and panics on an
// empty, built-in or already registered name, or a nil Open.
func RegisterBackend(name string, b Backend) {
	if name == "" || strings.ContainsAny(name, ":+") || slices.Contains(builtinNames, name) || b.Open == nil {
		panic(fmt.Sprintf("audio: RegisterBackend(%q): bad name or nil Open", name))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.backends[name]; dup {
		panic(fmt.Sprintf("audio: RegisterBackend(%q): already registered", name))
	}
	if registry.backends == nil {
		registry.backends = make(map[string]Backend)
	}
	registry.backends[name] = b
}

// lookupBackend returns the backend registered under name.
func lookupBackend(name string) (Backend, bool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	b, ok := registry.backends[name]
	return b, ok
}

// Backends returns the names of the registered backends, sorted.
func Backends() []string {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	names := make([]string, 0, len(registry.backends))
	for n := range registry.backends {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// registeredList formats the registered names for an error message.
func registeredList() string {
	var b strings.Builder
	for _, n := range Backends() {
		b.WriteString(", ")
		b.WriteString(n)
	}
	return b.String()
}

// Devices lists the devices of every registered backend that can list them,
// in backend name order. With no such backend it returns ErrNoBackend.
// Errors of individual backends are joined; the devices found are returned.
func Devices() ([]Device, error) {
	var (
		all   []Device
		errs  []error
		found bool
	)
	for _, name := range Backends() {
		b, _ := lookupBackend(name)
		if b.Devices == nil {
			continue
		}
		found = true
		devs, err := b.Devices()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s devices: %w", name, err))
		}
		for _, d := range devs {
			d.Backend = name
			all = append(all, d)
		}
	}
	if !found {
		return nil, ErrNoBackend
	}
	return all, errors.Join(errs...)
}

// DefaultDeviceBackend is the backend OpenDevice tries for "auto".
const DefaultDeviceBackend = "portaudio"

// OpenDevice opens audio the way the softphone wants it. For spec "",
// "auto" or a bare registered backend name such as "portaudio" it opens that
// backend's default devices ("auto" means DefaultDeviceBackend), and when
// that fails (no backend built in, no sound card) it falls back to null audio
// and returns a notice for the user, e.g.
//
//	no audio device (portaudio: no default output device): using null audio
//
// logging the cause on log at warn level. Any other spec is opened as by
// Open, errors included: someone who names a file or a device wants to hear
// about a mistake. notice is empty when nothing fell back. A nil log means
// slog.Default().
func OpenDevice(spec string, f Format, log *slog.Logger) (src Source, sink Sink, closer io.Closer, notice string, err error) {
	if log == nil {
		log = slog.Default()
	}
	name := spec
	if spec == "" || spec == "auto" {
		name = DefaultDeviceBackend
	}
	b, registered := lookupBackend(name)
	fallback := spec == "" || spec == "auto" || registered
	if !fallback {
		src, sink, closer, err = openSpec(spec, f, log)
		return src, sink, closer, "", err
	}
	var cause error
	if !registered {
		cause = fmt.Errorf("%s not built in", name)
	} else {
		src, sink, closer, cause = b.Open("", f, log)
		if cause == nil {
			return src, sink, closer, "", nil
		}
	}
	log.Warn("audio device unavailable, using null audio", "backend", name, "err", cause)
	n := new(Null)
	return n, n, n, fmt.Sprintf("no audio device (%v): using null audio", cause), nil
}
