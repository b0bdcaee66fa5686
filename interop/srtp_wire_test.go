package interop

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// wireCapture records UDP on the loopback with dumpcap (Debian tshark), to
// check what actually crossed the wire.
type wireCapture struct {
	t    *testing.T
	cmd  *exec.Cmd
	file string
	done chan struct{}
}

// startCapture captures UDP packets matching the BPF filter (e.g. "udp
// portrange 20000-20019") until Stop.
func startCapture(t *testing.T, filter string) *wireCapture {
	t.Helper()
	lookPeer(t, "tshark")
	bin := lookPeer(t, "dumpcap")
	c := &wireCapture{t: t, file: filepath.Join(t.TempDir(), "wire.pcapng"), done: make(chan struct{})}
	// dumpcap itself, not tshark -w: on SIGINT it writes what it buffered.
	c.cmd = exec.Command(bin, "-q", "-i", "lo", "-f", filter, "-w", c.file)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb strings.Builder
	c.cmd.Stderr = &errb
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("dumpcap: %v", err)
	}
	// The waiter goroutine is owned by c; Stop (or the cleanup) joins it.
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.Stop)
	// dumpcap writes the pcap header once it captures.
	if !waitFor(10*time.Second, func() bool {
		st, err := os.Stat(c.file)
		return err == nil && st.Size() > 0
	}) {
		c.Stop()
		t.Fatalf("dumpcap did not start capturing: %s", errb.String())
	}
	time.Sleep(200 * time.Millisecond) // the file exists a moment before the filter is live
	return c
}

// Stop ends the capture and waits until the file is complete.
func (c *wireCapture) Stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// Payloads stops the capture and returns the UDP payloads it holds.
func (c *wireCapture) Payloads() [][]byte {
	c.t.Helper()
	c.Stop()
	out, err := exec.Command("tshark", "-r", c.file, "-T", "fields",
		"-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload").Output()
	if err != nil {
		c.t.Fatalf("tshark -r: %v", err)
	}
	var ps [][]byte
	flows := map[string]int{} // "src->dst": packets, to tell whose packets a failure saw
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(l), "\t")
		if len(f) != 3 || f[2] == "" {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(f[2], ":", ""))
		if err != nil {
			c.t.Fatalf("tshark payload %q: %v", f[2], err)
		}
		flows[f[0]+"->"+f[1]]++
		ps = append(ps, b)
	}
	c.t.Logf("wire: flows (udp ports: packets) %v", flows)
	return ps
}

// rtpAudio returns the 160-byte G.711 payloads (20 ms) of RTP packets with
// payload type pt among ps, and the number of RTP packets seen; SRTP adds
// its authentication tag after the payload, which is not returned.
func rtpAudio(ps [][]byte, pt byte) (payloads [][]byte, rtpPackets int) {
	for _, p := range ps {
		if len(p) < 12+160 || p[0]>>6 != 2 || p[1]&0x7f != pt {
			continue
		}
		rtpPackets++
		hdr := 12 + 4*int(p[0]&0x0f)
		if len(p) < hdr+160 {
			continue
		}
		payloads = append(payloads, p[hdr:hdr+160])
	}
	return payloads, rtpPackets
}

// looksClear reports whether a G.711 payload is a clear steady tone: a sine
// at one level uses few distinct code words (a 1000 Hz or 440 Hz tone
// under 40 of 256), ciphertext about 120 of 160 bytes.
func looksClear(payload []byte) bool {
	var seen [256]bool
	n := 0
	for _, b := range payload {
		if !seen[b] {
			seen[b] = true
			n++
		}
	}
	return n < 80
}

// assertEncrypted fails unless the capture holds at least min audio RTP
// packets and none of them carries a clear tone.
func assertEncrypted(t *testing.T, ps [][]byte, min int) {
	t.Helper()
	audio, n := rtpAudio(ps, 0)
	clear := 0
	for _, p := range audio {
		if looksClear(p) {
			clear++
		}
	}
	t.Logf("wire: %d udp packets, %d PCMU RTP packets, %d with a clear tone payload", len(ps), n, clear)
	if len(audio) < min {
		t.Errorf("wire: %d PCMU RTP packets captured, want at least %d", len(audio), min)
	}
	if clear > 0 {
		t.Errorf("wire: %d of %d RTP packets carry the tone in clear", clear, len(audio))
	}
}

// ulaw is G.711 mu-law encoding of one sample (ITU-T G.711, the usual
// bias-and-segment form), for the helper test below.
func ulaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// TestWireHelpers: looksClear tells clear PCMU tones from ciphertext, so
// the SRTP tests cannot pass on a broken check.
func TestWireHelpers(t *testing.T) {
	for _, hz := range []float64{440, 1000} {
		tone := audio.NewTone(audio.Narrowband, hz, audio.DefaultToneAmplitude)
		frame := make([]int16, 160)
		for i := range 50 {
			if err := tone.ReadFrame(frame); err != nil {
				t.Fatal(err)
			}
			p := make([]byte, 160)
			for j, s := range frame {
				p[j] = ulaw(s)
			}
			if !looksClear(p) {
				t.Fatalf("%g Hz PCMU frame %d not seen as clear", hz, i)
			}
		}
	}
	for i := range 1000 {
		p := make([]byte, 160)
		_, _ = rand.Read(p)
		if looksClear(p) {
			t.Fatalf("random payload %d seen as a clear tone", i)
		}
	}
}
