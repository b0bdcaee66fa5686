package main

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

func TestAudioSwitchDevices(t *testing.T) {
	errList := errors.New("portaudio: no host api")
	tests := []struct {
		name    string
		devs    []audio.Device
		err     error
		want    []string
		wantErr error
	}{
		{name: "no listing backend: null only", err: audio.ErrNoBackend, want: []string{"null"}},
		{name: "no sound cards: null only", want: []string{"null"}},
		{name: "sound cards as specs", devs: []audio.Device{{Backend: "portaudio", Name: "default"}, {Backend: "portaudio", Name: "USB Headset"}},
			want: []string{"null", "portaudio:default", "portaudio:USB Headset"}},
		{name: "a listing error keeps what was found", devs: []audio.Device{{Backend: "portaudio", Name: "pulse"}}, err: errList,
			want: []string{"null", "portaudio:pulse"}, wantErr: errList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAudioSwitch(audio.NewHub(&audio.Null{}, &audio.Null{}, audio.Narrowband), &audio.Null{}, slog.New(slog.DiscardHandler))
			a.list = func() ([]audio.Device, error) { return tc.devs, tc.err }
			got, err := a.AudioDevices(t.Context())
			if !slices.Equal(got, tc.want) || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("%s: AudioDevices = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestAudioSwitch switches the hub of a live call from a pipe to another
// device: the call hears the new microphone, the old device is closed
// (and stays open when the new one fails).
func TestAudioSwitch(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		open       func(spec string, f audio.Format, log *slog.Logger) (audio.Source, audio.Sink, io.Closer, string, error)
		wantDevice string
		wantNotice bool
		wantErr    bool
		wantTone   bool // the call sends 440 Hz afterwards
	}{
		{name: "tone", spec: "tone:440", wantDevice: "tone:440", wantTone: true},
		{name: "null", spec: "null", wantDevice: "null"},
		{name: "no sound card falls back to null", spec: "auto", wantDevice: "null (no sound card)", wantNotice: true,
			open: func(string, audio.Format, *slog.Logger) (audio.Source, audio.Sink, io.Closer, string, error) {
				n := new(audio.Null)
				return n, n, n, "no audio device (portaudio: none): using null audio", nil
			}},
		{name: "a bad file keeps the device", spec: "wav:" + filepath.Join(t.TempDir(), "missing.wav"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := audio.NewPipe(0)
			hub := audio.NewHub(first, first, audio.Narrowband)
			a := newAudioSwitch(hub, first, slog.New(slog.DiscardHandler))
			if tc.open != nil {
				a.open = tc.open
			}
			port := hub.Port("c1")
			hub.SetLive("c1", true)
			dev, notice, err := a.SwitchAudio(t.Context(), tc.spec)
			if (err != nil) != tc.wantErr || dev != tc.wantDevice || (notice != "") != tc.wantNotice {
				t.Fatalf("%s: SwitchAudio(%q) = %q, %q, %v", tc.name, tc.spec, dev, notice, err)
			}
			firstClosed := first.Push([]int16{1}) != nil
			if firstClosed == tc.wantErr {
				t.Errorf("%s: first device closed = %v, want %v", tc.name, firstClosed, !tc.wantErr)
			}
			done := make(chan error, 1)
			go func() { done <- hub.Run(t.Context()) }()
			got := audio.NewCapture(0)
			buf := make([]int16, audio.Narrowband.Samples())
			for range 40 { // the call side, paced like RTP
				time.Sleep(audio.Narrowband.Frame)
				_ = port.ReadFrame(buf)
				_ = got.WriteFrame(buf)
			}
			_ = hub.Close()
			<-done
			if heard := audio.Goertzel(got.Samples(), 8000, 440) > 0.002; heard != tc.wantTone {
				t.Errorf("%s: the call sends 440 Hz = %v, want %v", tc.name, heard, tc.wantTone)
			}
			if err := a.Close(); err != nil && !tc.wantErr {
				t.Errorf("%s: Close: %v", tc.name, err)
			}
		})
	}
}
