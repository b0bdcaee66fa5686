//go:build linux

package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAudioRoundTrip measures the audio round trip through a real
// sound server (PulseAudio in user mode, one null sink "spk" whose monitor
// is the default source): the speaker is fed back into the microphone, so
// a burst played once circulates, and the interval between its returns on
// the speaker is the round trip, read on one clock. Baselines: a plain
// `parec | pacat` loop at 20 ms latency, and the same loop moving whole
// 20 ms frames (`dd bs=320 iflag=fullblock` between them), which is what
// a call with 20 ms RTP frames must do. anyphone: the TUI (default
// audio, jitter buffer) in a call with sipp's RTP echo (-rtp_echo sends
// each packet straight back), so the loop is mouth → TUI → RTP → echo →
// RTP → TUI → ear, with echo cancellation off (the loop is an echo) and
// nothing of a second phone in it. The call's round trip is read again
// after ANYPHONE_BENCH_AUDIO_HOLD (default 60 s) in the same call: no
// frame may be added over time. All in one run.
func BenchmarkAudioRoundTrip(b *testing.B) {
	for _, tool := range []string{"pulseaudio", "parec", "pacat", "paplay", "tmux", "sipp"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s not installed (make test installs pulseaudio pulseaudio-utils tmux sip-tester): %v", tool, err)
		}
	}
	bin, err := anyphoneBin()
	if err != nil {
		b.Fatal(err)
	}
	hold := 60 * time.Second
	if d, err := time.ParseDuration(os.Getenv("ANYPHONE_BENCH_AUDIO_HOLD")); err == nil {
		hold = d
	}
	dir, err := os.MkdirTemp("", "pa")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	env := startBenchPulse(b, dir)
	burst := filepath.Join(dir, "burst.wav")
	writeBurst(b, burst)

	baseline := func(middle string) []time.Duration {
		loop := exec.Command("sh", "-c", "parec -d spk.monitor --rate=8000 --channels=1 --format=s16le --latency-msec=20 | "+middle+"pacat -d spk --rate=8000 --channels=1 --format=s16le --latency-msec=20")
		loop.Env = env
		loop.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := loop.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = syscall.Kill(-loop.Process.Pid, syscall.SIGKILL); _ = loop.Wait() }()
		time.Sleep(time.Second)
		return roundTrips(b, env, burst)
	}
	base := baseline("")
	// The same loop moving whole 20 ms frames (320 bytes), as a call
	// must: a frame leaves only once its last sample is captured.
	framed := baseline("dd bs=320 iflag=fullblock status=none | ")

	var late []time.Duration // the same call after hold
	phone := func() []time.Duration {
		sipPort, mediaPort := freeUDPPorts(b)
		echo := exec.Command("sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(sipPort),
			"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-rtp_echo", "-nostdin", "-m", "1")
		echo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := echo.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = syscall.Kill(-echo.Process.Pid, syscall.SIGKILL); _ = echo.Wait() }()
		sock := fmt.Sprintf("bench-audio-%d", os.Getpid())
		tmux := func(args ...string) (string, error) {
			o, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
			return string(o), err
		}
		home := filepath.Join(dir, "home")
		cmdline := fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s/state XDG_CONFIG_HOME=%s/config TERM=xterm-256color %s %s --no-builtins --no-echo-cancel",
			home, home, home, strings.Join(env[len(os.Environ()):], " "), bin)
		if o, err := tmux("new-session", "-d", "-s", "ui", "-x", "120", "-y", "30", cmdline); err != nil {
			b.Fatalf("tmux: %v: %s", err, o)
		}
		defer func() { _, _ = tmux("kill-server") }()
		waitScreen := func(what string) string {
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				if s, _ := tmux("capture-pane", "-p", "-t", "ui"); strings.Contains(s, what) {
					return s
				}
				time.Sleep(100 * time.Millisecond)
			}
			s, _ := tmux("capture-pane", "-p", "-t", "ui")
			b.Fatalf("waiting for %q:\n%s", what, s)
			return ""
		}
		screen := waitScreen("no calls")
		if head, _, _ := strings.Cut(screen, "\n"); true {
			b.Logf("header: %s", strings.TrimSpace(head))
		}
		_, _ = tmux("send-keys", "-t", "ui", "d")
		_, _ = tmux("send-keys", "-t", "ui", "-l", fmt.Sprintf("sip:echo@127.0.0.1:%d", sipPort))
		_, _ = tmux("send-keys", "-t", "ui", "Enter")
		waitScreen("active")
		time.Sleep(6 * time.Second) // the device settles: its first block, the backlog dropped, the playout phase learnt
		first := roundTrips(b, env, burst)
		time.Sleep(hold)
		late = roundTrips(b, env, burst)
		return first
	}()

	// The figure is the first 300 ms slice after the burst: the loop is
	// closed at 0 dB with no echo cancellation, and over its later cycles
	// a concealed or repeated frame can double the burst or make the loop
	// ring, which the envelope reads as a half or a tenth of the round
	// trip. Every slice is logged.
	med := func(d []time.Duration) float64 {
		if len(d) == 0 {
			return math.NaN()
		}
		return float64(d[0]) / 1e6
	}
	b.Logf("parec|pacat round trips %v", base)
	b.Logf("parec|20 ms frames|pacat round trips %v", framed)
	b.Logf("anyphone round trips %v, after %v more %v", phone, hold, late)
	results.Set("audio round trip via PulseAudio, anyphone + RTP echo (ms)", sutAnyphone, med(phone))
	results.Set(fmt.Sprintf("audio round trip, the same call %v later (ms)", hold), sutAnyphone, med(late))
	results.Set("audio round trip via PulseAudio, parec|pacat at 20 ms (ms)", sutAnyphone, med(base))
	results.Set("audio round trip via PulseAudio, parec|20 ms frames|pacat (ms)", sutAnyphone, med(framed))
	results.Note("audio round trip: anyphone's includes a 20 ms RTP frame, RTP both ways through sipp -rtp_echo and the jitter buffer")
	b.ReportMetric(med(phone), "anyphone-rtt-ms")
	b.ReportMetric(med(late), "anyphone-rtt-later-ms")
	b.ReportMetric(med(base), "parec-pacat-rtt-ms")
	b.ReportMetric(med(framed), "parec-framed-pacat-rtt-ms")
	if len(phone) < 3 || len(base) < 3 || len(late) < 3 || len(framed) < 3 {
		b.Errorf("too few round trips measured: anyphone %d (later %d), baselines %d and %d framed", len(phone), len(late), len(base), len(framed))
	}
}

// freeUDPPorts returns two free ports on 127.0.0.1 below the ephemeral
// range: SIP, and media with the three after it (sipp binds mp and mp+2).
func freeUDPPorts(b *testing.B) (int, int) {
	base, err := freeRange(6)
	if err != nil {
		b.Fatal(err)
	}
	return base, base + 2
}

// startBenchPulse starts PulseAudio in user mode in dir and returns the
// environment its clients need. It is killed when the benchmark ends. The
// null sink runs without rewinds: with them its monitor replays re-rendered
// fragments and a looped burst comes back cut to 1-2 ms.
func startBenchPulse(b *testing.B, dir string) []string {
	sock := filepath.Join(dir, "pulse.sock")
	script := fmt.Sprintf("load-module module-native-protocol-unix auth-anonymous=1 socket=%s\nload-module module-null-sink sink_name=spk norewinds=1\nset-default-sink spk\nset-default-source spk.monitor\nload-module module-always-sink\n", sock)
	if err := os.WriteFile(filepath.Join(dir, "pa.pa"), []byte(script), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.conf"), []byte("autospawn = no\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n", "-F", filepath.Join(dir, "pa.pa"))
	cmd.Env = append(os.Environ(), "PULSE_RUNTIME_PATH="+dir, "PULSE_STATE_PATH="+dir, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	env := append(os.Environ(), "PULSE_SERVER=unix:"+sock, "PULSE_CLIENTCONFIG="+filepath.Join(dir, "client.conf"))
	for deadline := time.Now().Add(10 * time.Second); ; {
		pa := exec.Command("pactl", "info")
		pa.Env = env
		if pa.Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("pulseaudio did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the null sink's first 2 s block pass.
	time.Sleep(2500 * time.Millisecond)
	return env
}

// writeBurst writes 10 ms of 1 kHz at half scale as an 8 kHz mono WAV.
func writeBurst(b *testing.B, path string) {
	const n = 80
	var data []byte
	for i := range n {
		v := int16(16384 * math.Sin(2*math.Pi*1000*float64(i)/8000))
		data = binary.LittleEndian.AppendUint16(data, uint16(v))
	}
	h := []byte("RIFF")
	h = binary.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint32(h, 8000)
	h = binary.LittleEndian.AppendUint32(h, 16000)
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	if err := os.WriteFile(path, append(h, data...), 0o600); err != nil {
		b.Fatal(err)
	}
}

// roundTrips plays the burst once into the speaker, records the speaker
// for 3 s and returns the intervals between the burst's returns.
func roundTrips(b *testing.B, env []string, burst string) []time.Duration {
	rec := exec.Command("parec", "-d", "spk.monitor", "--rate=8000", "--channels=1", "--format=s16le", "--latency-msec=10")
	rec.Env = env
	out, err := rec.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := rec.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan []byte, 1)
	go func() { // the recorder's reader: ends when parec is killed
		all, _ := io.ReadAll(out)
		done <- all
	}()
	time.Sleep(300 * time.Millisecond)
	play := exec.Command("paplay", "-d", "spk", "--latency-msec=10", burst)
	play.Env = env
	if o, err := play.CombinedOutput(); err != nil {
		b.Fatalf("paplay: %v: %s", err, o)
	}
	time.Sleep(3 * time.Second)
	_ = rec.Process.Kill()
	raw := <-done
	_ = rec.Wait()
	s := make([]int16, len(raw)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return onsetIntervals(s)
}

// onsetIntervals returns the round trip of the circulating burst in s:
// the lag of the first strong peak of the autocorrelation of its envelope
// (1 ms means of |x|) over the 1.5 s after the burst first sounds, read
// once per 300 ms slice so the spread shows. A loop shorter than 10 ms or
// longer than 500 ms is not found (a lag under 10 ms is the envelope of
// a loop that rings on, not a round trip: 20 ms frames alone exceed it).
func onsetIntervals(s []int16) []time.Duration {
	const ms = 8
	env := make([]float64, len(s)/ms)
	for i := range env {
		var sum float64
		for _, v := range s[i*ms : (i+1)*ms] {
			sum += math.Abs(float64(v))
		}
		env[i] = sum / ms
	}
	start := -1
	for i, v := range env {
		if v > 0.03*32768 {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	var d []time.Duration
	for slice := 0; slice < 5; slice++ {
		from := start + slice*300
		to := from + 300
		if to+500 > len(env) {
			break
		}
		ac := func(lag int) float64 {
			var sum float64
			for i := from; i < to; i++ {
				sum += env[i] * env[i+lag]
			}
			return sum
		}
		best := 0.0
		for lag := 10; lag <= 500; lag++ {
			best = max(best, ac(lag))
		}
		for lag := 10; lag <= 500; lag++ {
			if a := ac(lag); a >= 0.6*best && a >= ac(lag-1) && a >= ac(lag+1) {
				d = append(d, time.Duration(lag)*time.Millisecond)
				break
			}
		}
	}
	return d
}
