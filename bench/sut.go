//go:build linux

package bench

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SUT is a running system under test: a SIP peer that answers calls.
type SUT struct {
	Name string
	Proc *Proc
	Addr string // SIP host:port on 127.0.0.1
	User string // request-URI user it expects
}

// Port is the SIP port.
func (s *SUT) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Stop stops the process by its PID.
func (s *SUT) Stop() { s.Proc.Stop(3 * time.Second) }

// StartAnyphone starts `anyphone endpoint` auto-answering with audio (an
// audio.Open spec: null, tone:440) and waits for its ready line.
// Extra arguments go to the endpoint as they are (--codecs G722).
func StartAnyphone(bin, dir, audio string, extra ...string) (*SUT, error) {
	first := make(chan string, 1)
	args := append([]string{"endpoint", "--log-level", "warn", "--no-trace", "--answer", "auto",
		"--max-calls", "100000", "--answer-keeps-others", "--listen", "127.0.0.1:0", "--audio", audio}, extra...)
	p, err := StartProc("anyphone", filepath.Join(dir, "anyphone.log"), first, bin, args...)
	if err != nil {
		return nil, err
	}
	select {
	case line, ok := <-first:
		var ready struct {
			Event string `json:"event"`
			Addr  string `json:"addr"`
		}
		if !ok || json.Unmarshal([]byte(line), &ready) != nil || ready.Event != "ready" {
			p.Stop(time.Second)
			return nil, fmt.Errorf("anyphone: no ready line (got %q): see %s", line, filepath.Join(dir, "anyphone.log"))
		}
		return &SUT{Name: "anyphone", Proc: p, Addr: ready.Addr, User: "endpoint"}, nil
	case <-time.After(10 * time.Second):
		p.Stop(time.Second)
		return nil, errors.New("anyphone: no ready line in 10 s")
	}
}

// StartSippUAS starts sipp's built-in UAS (180, 200 with SDP, 200 to BYE).
func StartSippUAS(dir string) (*SUT, error) {
	base, err := FreePorts(5) // SIP port, then media port, +1, +2 (sipp binds mp and mp+2)
	if err != nil {
		return nil, err
	}
	p, err := StartProc("sipp-uas", filepath.Join(dir, "sipp-uas.log"), nil, "sipp",
		"-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(base), "-mp", strconv.Itoa(base+1),
		"-buff_size", "4194304", "-nostdin", "-timeout", "3600s", "-max_socket", "60000")
	if err != nil {
		return nil, err
	}
	s := &SUT{Name: "sipp", Proc: p, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(base)), User: "bench"}
	if err := waitBound(p, base); err != nil {
		p.Stop(time.Second)
		return nil, fmt.Errorf("sipp uas: %w (see %s)", err, filepath.Join(dir, "sipp-uas.log"))
	}
	return s, nil
}

// BaresipConfig writes a baresip config dir that auto-answers calls to
// sip:bench@127.0.0.1:port without registration, plays tone (an 8 kHz mono
// WAV) and discards what it hears (BENCHMARKS.md).
func BaresipConfig(dir string, port int, tone string) error {
	cfg := strings.Join([]string{
		"poll_method\tepoll",
		"sip_listen\t127.0.0.1:" + strconv.Itoa(port),
		"net_interface\t127.0.0.1",
		"sip_transports\tudp",
		"call_max_calls\t100000",
		"audio_player\taubridge,nil",
		"audio_alert\taubridge,nil",
		"audio_source\taufile," + tone,
		"rtp_stats\tno",
		"module_path\t/usr/lib/baresip/modules",
		"module\tg711.so",
		"module\taufile.so",
		"module\taubridge.so",
		"module_tmp\taccount.so",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		return err
	}
	acc := fmt.Sprintf("<sip:bench@127.0.0.1:%d>;regint=0;answermode=auto;audio_codecs=PCMU\n", port)
	return os.WriteFile(filepath.Join(dir, "accounts"), []byte(acc), 0o644)
}

// StartBaresip starts baresip auto-answering on a free port, playing a
// 440 Hz tone of length toneLen. baresip 1.0.0's aufile loads the whole
// file into memory for every call and hangs the call up at its end, so
// toneLen must outlast the longest call and adds toneLen × 16 KB/s to
// each call's memory (ToneBytes).
func StartBaresip(dir string, toneLen time.Duration) (*SUT, error) {
	if _, err := exec.LookPath("baresip"); err != nil {
		return nil, err
	}
	cdir := filepath.Join(dir, "baresip")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return nil, err
	}
	tone := filepath.Join(dir, fmt.Sprintf("tone440-%ds.wav", int(toneLen.Seconds())))
	if _, err := os.Stat(tone); err != nil {
		if err := WriteToneWAV(tone, 440, toneLen); err != nil {
			return nil, err
		}
	}
	port, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	if err := BaresipConfig(cdir, port, tone); err != nil {
		return nil, err
	}
	p, err := StartProc("baresip", filepath.Join(dir, "baresip.log"), nil, "baresip", "-f", cdir, "-t", "3600")
	if err != nil {
		return nil, err
	}
	if err := waitBound(p, port); err != nil {
		p.Stop(time.Second)
		return nil, fmt.Errorf("baresip: %w (see %s)", err, filepath.Join(dir, "baresip.log"))
	}
	return &SUT{Name: "baresip", Proc: p, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), User: "bench"}, nil
}

// waitBound waits until a UDP port on 127.0.0.1 is taken (by p).
func waitBound(p *Proc, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.Done():
			return fmt.Errorf("exited: %v", p.ExitErr())
		default:
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			time.Sleep(200 * time.Millisecond) // bound; give it a moment to finish starting
			return nil
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("port never bound")
}

// ToneBytes is the PCM size of an 8 kHz mono 16-bit tone of length d.
func ToneBytes(d time.Duration) int64 { return 2 * int64(d.Seconds()*8000) }

// WriteToneWAV writes an 8 kHz mono 16-bit PCM WAV sine (baresip's ausine
// only does 48 kHz stereo, so its aufile source plays this).
func WriteToneWAV(path string, hz float64, d time.Duration) error {
	const rate = 8000
	n := int(ToneBytes(d) / 2)
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, data, 0o644)
}
