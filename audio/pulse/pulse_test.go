package pulse

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
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
