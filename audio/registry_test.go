package audio

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// withBackends replaces the registry for one test. Tests using it must not
// run in parallel.
func withBackends(t *testing.T, backends map[string]Backend) {
	t.Helper()
	registry.mu.Lock()
	saved := registry.backends
	registry.backends = nil
	registry.mu.Unlock()
	t.Cleanup(func() {
		registry.mu.Lock()
		registry.backends = saved
		registry.mu.Unlock()
	})
	for name, b := range backends {
		RegisterBackend(name, b)
	}
}

var errNoCard = errors.New("fakecard: no default output device")

// fakeBackend opens a Tone/Capture pair, or fails with err.
func fakeBackend(err error, devs []Device, gotArg *string) Backend {
	return Backend{
		Open: func(arg string, f Format, _ *slog.Logger) (Source, Sink, io.Closer, error) {
			if gotArg != nil {
				*gotArg = arg
			}
			if err != nil {
				return nil, nil, nil, err
			}
			c := NewCapture(0)
			return NewTone(f, 440, 0.3), c, c, nil
		},
		Devices: func() ([]Device, error) { return devs, err },
	}
}

func TestOpenDevice(t *testing.T) {
	tests := []struct {
		name       string
		backends   map[string]Backend
		spec       string
		wantSource reflect.Type
		wantNotice string // substring; "" means no notice
		wantErr    error
	}{
		{
			name:       "auto without a device backend built in falls back",
			spec:       "auto",
			wantSource: reflect.TypeFor[*Null](),
			wantNotice: "no audio device (auto: none of pulse, portaudio built in): using null audio",
		},
		{
			name: "auto tries the sound server first, then the sound card",
			backends: map[string]Backend{
				"pulse":     fakeBackend(errors.New("pulse: no sound server"), nil, nil),
				"portaudio": fakeBackend(nil, nil, nil),
			},
			spec:       "auto",
			wantSource: reflect.TypeFor[*Tone](),
		},
		{
			name: "auto names every backend's cause",
			backends: map[string]Backend{
				"pulse":     fakeBackend(errors.New("pulse: no sound server"), nil, nil),
				"portaudio": fakeBackend(errNoCard, nil, nil),
			},
			spec:       "auto",
			wantSource: reflect.TypeFor[*Null](),
			wantNotice: "no audio device (pulse: no sound server; fakecard: no default output device): using null audio",
		},
		{
			name:       "empty spec means auto",
			spec:       "",
			wantSource: reflect.TypeFor[*Null](),
			wantNotice: "using null audio",
		},
		{
			name:       "auto with failing portaudio falls back naming the cause",
			backends:   map[string]Backend{"portaudio": fakeBackend(errNoCard, nil, nil)},
			spec:       "auto",
			wantSource: reflect.TypeFor[*Null](),
			wantNotice: "no audio device (fakecard: no default output device): using null audio",
		},
		{
			name:       "auto with working portaudio",
			backends:   map[string]Backend{"portaudio": fakeBackend(nil, nil, nil)},
			spec:       "auto",
			wantSource: reflect.TypeFor[*Tone](),
		},
		{
			name:       "bare registered name falls back too",
			backends:   map[string]Backend{"fake": fakeBackend(errNoCard, nil, nil)},
			spec:       "fake",
			wantSource: reflect.TypeFor[*Null](),
			wantNotice: "fakecard",
		},
		{
			name:     "registered name with device argument does not fall back",
			backends: map[string]Backend{"fake": fakeBackend(errNoCard, nil, nil)},
			spec:     "fake:USB headset",
			wantErr:  errNoCard,
		},
		{
			name:       "built-in spec opens as is",
			spec:       "tone:440",
			wantSource: reflect.TypeFor[*Tone](),
		},
		{
			name:    "bad spec is an error, not a fallback",
			spec:    "tone:x",
			wantErr: ErrBadSpec,
		},
		{
			name:    "unknown backend is an error",
			spec:    "jack",
			wantErr: ErrUnknownBackend,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withBackends(t, tt.backends)
			src, sink, closer, notice, err := OpenDevice(tt.spec, Narrowband, slog.New(slog.DiscardHandler))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: err %v, want %v", tt.name, err, tt.wantErr)
				}
				var se *SpecError
				if !errors.As(err, &se) || se.Spec != tt.spec {
					t.Errorf("%s: err %v does not name spec %q", tt.name, err, tt.spec)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			defer closer.Close()
			if sink == nil {
				t.Errorf("%s: nil sink", tt.name)
			}
			if got := reflect.TypeOf(src); got != tt.wantSource {
				t.Errorf("%s: source %v, want %v", tt.name, got, tt.wantSource)
			}
			switch {
			case tt.wantNotice == "" && notice != "":
				t.Errorf("%s: unexpected notice %q", tt.name, notice)
			case tt.wantNotice != "" && !strings.Contains(notice, tt.wantNotice):
				t.Errorf("%s: notice %q, want it to contain %q", tt.name, notice, tt.wantNotice)
			}
		})
	}
}

func TestOpenRegisteredPassesArg(t *testing.T) {
	var arg string
	withBackends(t, map[string]Backend{"fake": fakeBackend(nil, nil, &arg)})
	_, _, closer, err := Open("fake:in=2;out=USB: headset", Narrowband)
	if err != nil {
		t.Fatal(err)
	}
	closer.Close()
	if arg != "in=2;out=USB: headset" {
		t.Errorf("backend got arg %q", arg)
	}
}

func TestDevices(t *testing.T) {
	devs := []Device{{Index: 0, Name: "Mic"}, {Index: 1, Name: "Speaker"}}
	tests := []struct {
		name     string
		backends map[string]Backend
		want     []string // backend/name pairs
		wantErr  error
	}{
		{"none registered", nil, nil, ErrNoBackend},
		{"listed with backend name", map[string]Backend{"fake": fakeBackend(nil, devs, nil)}, []string{"fake/Mic", "fake/Speaker"}, nil},
		{"backend error reported", map[string]Backend{"fake": fakeBackend(errNoCard, nil, nil)}, nil, errNoCard},
		{"backend without lister skipped", map[string]Backend{
			"fake":   fakeBackend(nil, devs[:1], nil),
			"nolist": {Open: fakeBackend(nil, nil, nil).Open},
		}, []string{"fake/Mic"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withBackends(t, tt.backends)
			got, err := Devices()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: err %v, want %v", tt.name, err, tt.wantErr)
			}
			var names []string
			for _, d := range got {
				names = append(names, d.Backend+"/"+d.Name)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("%s: devices %v, want %v", tt.name, names, tt.want)
			}
		})
	}
}

func TestRegisterBackendPanics(t *testing.T) {
	ok := fakeBackend(nil, nil, nil)
	tests := []struct {
		name string
		reg  string
		b    Backend
	}{
		{"empty name", "", ok},
		{"built-in name", "tone", ok},
		{"auto", "auto", ok},
		{"colon", "a:b", ok},
		{"nil open", "fake2", Backend{}},
		{"duplicate", "fake", ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withBackends(t, map[string]Backend{"fake": ok})
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterBackend(%q) did not panic", tt.name, tt.reg)
				}
			}()
			RegisterBackend(tt.reg, tt.b)
		})
	}
}
