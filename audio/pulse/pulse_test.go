package pulse

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/jfreymuth/pulse/proto"
)

func TestServerAddrs(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		env, runtime, xdg string
		want              []serverAddr
	}{
		{env: "unix:/run/p.sock", want: []serverAddr{{"unix", "/run/p.sock"}}},
		{env: "/run/p.sock tcp:10.0.0.1", want: []serverAddr{{"unix", "/run/p.sock"}, {"tcp", "10.0.0.1:4713"}}},
		{env: "tcp4:127.0.0.1:4000 tcp6:[::1]", want: []serverAddr{{"tcp4", "127.0.0.1:4000"}, {"tcp6", "[::1]:4713"}}},
		{env: "{" + host + "}unix:/a {elsewhere}unix:/b", want: []serverAddr{{"unix", "/a"}}},
		{env: "bogus:thing", want: nil},
		{xdg: "/run/user/7", want: []serverAddr{{"unix", "/run/user/7/pulse/native"}}},
		{runtime: "/tmp/pr", xdg: "/run/user/7", want: []serverAddr{{"unix", "/tmp/pr/native"}}},
	}
	for _, tt := range tests {
		t.Setenv("PULSE_SERVER", tt.env)
		t.Setenv("PULSE_RUNTIME_PATH", tt.runtime)
		t.Setenv("XDG_RUNTIME_DIR", tt.xdg)
		if got := serverAddrs(); !slices.Equal(got, tt.want) {
			t.Errorf("PULSE_SERVER=%q runtime=%q xdg=%q: %v, want %v", tt.env, tt.runtime, tt.xdg, got, tt.want)
		}
	}
}

// TestOpenWithoutServer: no sound server answers at once with ErrNoServer
// (auto then tries portaudio, then null audio), and a bad argument names
// itself.
func TestOpenWithoutServer(t *testing.T) {
	t.Setenv("PULSE_SERVER", "unix:"+filepath.Join(t.TempDir(), "none.sock"))
	start := time.Now()
	_, err := Open("", "", audio.Narrowband)
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("Open without a server: %v, want ErrNoServer", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open without a server took %v", d)
	}
	if _, _, _, err := openBackend("in=a;in=b", audio.Narrowband, nil); !errors.Is(err, ErrBadArg) {
		t.Errorf("repeated in=: %v, want ErrBadArg", err)
	}
	if _, err := Devices(); !errors.Is(err, ErrNoServer) {
		t.Errorf("Devices without a server: %v, want ErrNoServer", err)
	}
}

// TestReadFrameWaitsForTheFirstAudio: a server that has just started sends
// its first audio late (PulseAudio: 2.3 s after it starts); ReadFrame waits
// firstReadTimeout for it, not readTimeout, so the stream opened when the
// server came back is not given up just before its audio. Once audio has
// come, a silence of readTimeout reports the server gone.
func TestReadFrameWaitsForTheFirstAudio(t *testing.T) {
	defer func(r, f time.Duration) { readTimeout, firstReadTimeout = r, f }(readTimeout, firstReadTimeout)
	readTimeout, firstReadTimeout = 100*time.Millisecond, time.Second
	s := newStream(audio.Narrowband, audio.Narrowband.Samples(), slog.New(slog.DiscardHandler))
	s.recIdx.Store(3)
	pkt := &proto.DataPacket{StreamIndex: 3, Data: make([]byte, 2*s.n)}
	go func() {
		time.Sleep(300 * time.Millisecond) // later than readTimeout
		s.onMessage(pkt)
	}()
	frame := make([]int16, s.n)
	start := time.Now()
	if err := s.ReadFrame(frame); err != nil {
		t.Fatalf("the first audio came after %v: %v, want it read", time.Since(start).Round(time.Millisecond), err)
	}
	start = time.Now()
	err := s.ReadFrame(frame)
	if !errors.Is(err, ErrServerGone) {
		t.Fatalf("silence after the first audio: %v, want ErrServerGone", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("silence after the first audio reported after %v, want about readTimeout (100ms)", d)
	}
}
