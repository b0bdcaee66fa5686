//go:build portaudio

package portaudio

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"

	pa "github.com/gordonklaus/portaudio"

	"github.com/anyphone/anyphone/audio"
)

// captureFD2 runs fn with fd 2 pointed at a file and returns what was
// written to fd 2 meanwhile.
func captureFD2(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "fd2")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(saved)
	if err := dupTo(int(f.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if err := dupTo(saved, 2); err != nil {
				t.Fatalf("restore fd 2: %v", err)
			}
		}()
		fn()
	}()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNoSoundCard runs against the real PortAudio library. On a machine
// without a sound card (CI, this build host) Devices must work, Open must
// fail with an error and audio.OpenDevice must fall back to null audio; in
// every case nothing may reach fd 2. On a machine with a sound card Open
// succeeds and the stream is closed again.
func TestNoSoundCard(t *testing.T) {
	quietLog := slog.New(slog.DiscardHandler)

	// Control: the bare library is noisy here, which is why quiet exists.
	noise := captureFD2(t, func() {
		if err := pa.Initialize(); err == nil {
			pa.Terminate()
		}
	})
	t.Logf("bare Initialize wrote %d lines to fd 2", strings.Count(noise, "\n"))

	var (
		devs    []Device
		devsErr error
		stream  *Stream
		openErr error
		notice  string
		nullSrc audio.Source
		openDev error
	)
	out := captureFD2(t, func() {
		devs, devsErr = devices(quietLog)
		stream, openErr = open("", "", audio.Narrowband, quietLog)
		if stream != nil {
			openErr = stream.Close()
		}
		var closer interface{ Close() error }
		nullSrc, _, closer, notice, openDev = audio.OpenDevice("auto", audio.Narrowband, quietLog)
		if closer != nil {
			closer.Close()
		}
	})
	if out != "" {
		t.Errorf("fd 2 received %d bytes, want none:\n%s", len(out), out)
	}
	if devsErr != nil {
		t.Fatalf("Devices: %v", devsErr)
	}
	t.Logf("%d devices", len(devs))
	haveOutput := false
	for i, d := range devs {
		if d.Backend != Name || d.Name == "" {
			t.Errorf("device %d: %+v", i, d)
		}
		haveOutput = haveOutput || d.DefaultOutput
	}
	if openDev != nil {
		t.Fatalf("OpenDevice(auto): %v", openDev)
	}
	if haveOutput {
		t.Logf("a sound card is present: Open gave %v, notice %q", openErr, notice)
		return
	}
	if stream != nil || !errors.Is(openErr, ErrNoDevice) {
		t.Errorf("Open without a sound card: stream %v, err %v; want ErrNoDevice", stream, openErr)
	}
	if _, ok := nullSrc.(*audio.Null); !ok {
		t.Errorf("OpenDevice(auto) source %T, want *audio.Null", nullSrc)
	}
	if want := "no audio device (portaudio: no default output device): using null audio"; notice != want {
		t.Errorf("notice %q, want %q", notice, want)
	}
}

// TestQuietLogsCapturedOutput checks that what the C libraries print is not
// lost but logged at debug level.
func TestQuietLogsCapturedOutput(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	out := captureFD2(t, func() {
		_ = quiet(log, func() error {
			_, err := os.Stderr.WriteString("ALSA lib pcm.c: cannot find card '0'\n")
			return err
		})
	})
	if out != "" {
		t.Errorf("fd 2 received %q", out)
	}
	if !strings.Contains(buf.String(), "cannot find card") {
		t.Errorf("captured line not logged; log:\n%s", buf.String())
	}
}

func TestOpenNamedDeviceMissing(t *testing.T) {
	quietLog := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		in, out string
	}{
		{"index out of range", "", "9999"},
		{"unknown name", "no such card", "no such card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			out := captureFD2(t, func() { _, err = open(tt.in, tt.out, audio.Narrowband, quietLog) })
			if !errors.Is(err, ErrNoDevice) {
				t.Errorf("%s: err %v, want ErrNoDevice", tt.name, err)
			}
			if out != "" {
				t.Errorf("%s: fd 2 received %q", tt.name, out)
			}
		})
	}
}

func TestOpenRejectsStereo(t *testing.T) {
	f := audio.Narrowband
	f.Channels = 2
	if _, err := Open("", "", f); err == nil {
		t.Error("stereo format accepted")
	}
}
