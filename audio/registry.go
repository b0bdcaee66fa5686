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

// DefaultDeviceBackends are the backends "auto" tries, in order: the
// sound server's own protocol first (lowest latency, no cgo), then the
// sound card through portaudio (ALSA, Core Audio, ...).
var DefaultDeviceBackends = []string{"pulse", "portaudio"}

// openAuto opens the first of DefaultDeviceBackends that is registered and
// opens its default devices; the error joins every backend's cause.
func openAuto(f Format, log *slog.Logger) (Source, Sink, io.Closer, error) {
	var causes []error
	for _, name := range DefaultDeviceBackends {
		b, ok := lookupBackend(name)
		if !ok {
			continue
		}
		src, sink, c, err := b.Open("", f, log)
		if err == nil {
			return src, sink, c, nil
		}
		causes = append(causes, err)
	}
	if len(causes) == 0 {
		return nil, nil, nil, &kindError{
			msg:  fmt.Sprintf("auto: none of %s built in", strings.Join(DefaultDeviceBackends, ", ")),
			kind: ErrUnknownBackend,
		}
	}
	return nil, nil, nil, errors.Join(causes...)
}

// OpenDevice opens audio the way the softphone wants it. For spec "" or
// "auto" it opens the default devices of the first of
// DefaultDeviceBackends that works, and for a bare registered backend name
// such as "portaudio" that backend's; when that fails (no backend built
// in, no sound server, no sound card) it falls back to null audio and
// returns a notice for the user, e.g.
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
	var cause error
	switch b, registered := lookupBackend(spec); {
	case spec == "" || spec == "auto":
		src, sink, closer, cause = openAuto(f, log)
	case registered:
		src, sink, closer, cause = b.Open("", f, log)
	default:
		src, sink, closer, err = openSpec(spec, f, log)
		return src, sink, closer, "", err
	}
	if cause == nil {
		return src, sink, closer, "", nil
	}
	cause = errors.New(strings.ReplaceAll(cause.Error(), "\n", "; "))
	log.Warn("audio device unavailable, using null audio", "spec", spec, "err", cause)
	n := new(Null)
	return n, n, n, fmt.Sprintf("no audio device (%v): using null audio", cause), nil
}

// SplitDevices splits a device backend's spec argument into input and
// output device names: "" (the defaults), "NAME" (both), or
// "in=NAME;out=NAME" with either part optional. ok is false for a
// malformed argument (an unknown or repeated key).
func SplitDevices(arg string) (in, out string, ok bool) {
	arg = strings.TrimSpace(arg)
	if !strings.HasPrefix(arg, "in=") && !strings.HasPrefix(arg, "out=") {
		return arg, arg, true
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(arg, ";") {
		key, val, found := strings.Cut(part, "=")
		key = strings.TrimSpace(key)
		if !found || (key != "in" && key != "out") || seen[key] {
			return "", "", false
		}
		seen[key] = true
		if key == "in" {
			in = strings.TrimSpace(val)
		} else {
			out = strings.TrimSpace(val)
		}
	}
	return in, out, true
}
