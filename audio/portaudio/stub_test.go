//go:build !portaudio

package portaudio

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/audio"
)

func TestStubUnavailable(t *testing.T) {
	if _, err := Devices(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Devices: %v, want ErrUnavailable", err)
	}
	if _, err := Open("", "", audio.Narrowband); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open: %v, want ErrUnavailable", err)
	}
	if _, err := audio.Devices(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("audio.Devices: %v, want ErrUnavailable", err)
	}
	src, _, closer, notice, err := audio.OpenDevice("auto", audio.Narrowband, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("OpenDevice(auto): %v", err)
	}
	defer closer.Close()
	if _, ok := src.(*audio.Null); !ok {
		t.Errorf("OpenDevice(auto) source %T, want *audio.Null", src)
	}
	if want := "no audio device (" + ErrUnavailable.Error() + "): using null audio"; notice != want {
		t.Errorf("notice %q, want %q", notice, want)
	}
	if !strings.Contains(notice, "-tags portaudio") {
		t.Errorf("notice %q does not say how to get portaudio", notice)
	}
}
