package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// wideBaresipConfig: baresip answering on Opus by itself, recording what it
// hears (sndfile) under {{REC}}.
const wideBaresipConfig = `poll_method		epoll
sip_listen		127.0.0.1:{{SIP}}
net_interface		127.0.0.1
sip_transports		udp
call_max_calls		4
audio_player		aubridge,nil
audio_source		aubridge,nil
audio_alert		aubridge,nil
rtp_ports		{{RTP0}}-{{RTP1}}
module_path		/usr/lib/baresip/modules
module			g711.so
module			opus.so
module			aubridge.so
module			sndfile.so
snd_path		{{REC}}
module_tmp		account.so
module_app		menu.so
`

// TestTUIWidebandRate: the TUI with [audio] rate = 48000 and a 6 kHz tone
// as its "sound card" calls baresip on Opus; the call list shows opus and
// baresip's recording holds the 6 kHz tone, which an 8 kHz hub or a
// narrowband codec could not carry.
func TestTUIWidebandRate(t *testing.T) {
	bin, tmux := need(t)
	bs, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("CI") == "true" || !testing.Short() {
			t.Fatal("missing baresip (make test installs it)")
		}
		t.Skip("missing baresip (-short)")
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	if err := os.Mkdir(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	sip, rtp := freeUDPPort(t, 1), freeUDPPort(t, 20)
	cfg := strings.NewReplacer("{{SIP}}", strconv.Itoa(sip), "{{RTP0}}", strconv.Itoa(rtp), "{{RTP1}}", strconv.Itoa(rtp+19),
		"{{REC}}", rec).Replace(wideBaresipConfig)
	uri := fmt.Sprintf("sip:bob@127.0.0.1:%d", sip)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte("<"+uri+">;regint=0;audio_codecs=opus/48000/2;answermode=auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bs, "-f", dir, "-t", "60")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe() // kept open: the menu module reads it
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // the waiter: owned by this test, joined in the cleanup
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	conf := filepath.Join(dir, "anyphone.toml")
	if err := os.WriteFile(conf, []byte("[audio]\ndevice = \"tone:6000\"\nrate = 48000\ncodecs = [\"opus\", \"PCMU\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTUIWith(t, bin, tmux, "-- --config "+conf+" --no-builtins")
	tm.waitFor("the TUI", contains("no calls"))
	time.Sleep(500 * time.Millisecond) // baresip's socket is up by now
	tm.keys(false, "d")
	tm.keys(true, uri)
	tm.keys(false, "Enter")
	tm.waitFor("an active Opus call", func(s string) bool {
		r := callRow(s)
		return strings.Contains(r, "active") && strings.Contains(r, "opus")
	})
	time.Sleep(3 * time.Second)
	tm.keys(false, "e")
	tm.waitFor("the call gone", contains("no calls"))
	tm.quit()

	files, _ := filepath.Glob(filepath.Join(rec, "*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip recordings: %v", files)
	}
	f := audio.Format{SampleRate: 48000, Channels: 1}
	samples, err := audio.LoadWAV(files[0], f)
	if err != nil {
		t.Fatal(err)
	}
	det := audio.NewToneDetector(f, time.Second)
	if len(samples) > 48000 {
		samples = samples[len(samples)/2-24000 : len(samples)/2+24000] // the middle second
	}
	_ = det.WriteFrame(samples)
	if r := det.Ratio(6000); r < 0.5 {
		t.Errorf("baresip heard the TUI's 6 kHz at ratio %.3f (%d samples), want >= 0.5", r, len(samples))
	}
}
