package interop

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sipp is a running sipp with its statistics file.
type sipp struct {
	*proc
	Port      int    // SIP port
	MediaPort int    // RTP port (sipp binds it and port+2)
	StatPath  string // -stf CSV
}

// startSipp runs sipp on 127.0.0.1 with a free SIP port and a free media
// port. scenario is a built-in name (uac, uas) or an XML file path; args come
// last (target address, -m, -r ...). sipp never reads stdin and gives up
// after 120 s at most.
func startSipp(t *testing.T, scenario string, args ...string) *sipp {
	t.Helper()
	bin := lookPeer(t, "sipp")
	dir := t.TempDir()
	s := &sipp{Port: freePort(t, 1), MediaPort: freePort(t, 4), StatPath: filepath.Join(dir, "stat.csv")}
	full := []string{}
	if strings.HasSuffix(scenario, ".xml") {
		abs, err := filepath.Abs(scenario) // sipp runs in its own temp dir
		if err != nil {
			t.Fatal(err)
		}
		full = append(full, "-sf", abs)
	} else {
		full = append(full, "-sn", scenario)
	}
	full = append(full,
		"-i", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(s.MediaPort),
		"-nostdin", "-buff_size", "4194304",
		"-trace_stat", "-stf", s.StatPath, "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-timeout", "120s", "-timeout_error",
	)
	full = append(full, args...)
	s.proc = startProc(t, bin, dir, nil, full...)
	// Wait for sipp's SIP socket, read from the kernel's table (binding the
	// port ourselves to find out could steal it from sipp).
	if !waitFor(5*time.Second, func() bool { return udpBound(s.Port) || tcpListening(s.Port) || s.Exited() }) {
		t.Fatalf("sipp never bound 127.0.0.1:%d", s.Port)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "errors.log")); err == nil {
				t.Logf("---- sipp errors.log:\n%s", tailString(string(b), 8<<10))
			}
		}
	})
	return s
}

// tailString returns the last n bytes of s.
func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Stats returns the last row of sipp's -stf CSV as column → value.
func (s *sipp) Stats() (map[string]string, error) {
	b, err := os.ReadFile(s.StatPath)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.StatPath, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: %d rows", s.StatPath, len(rows))
	}
	head, last := rows[0], rows[len(rows)-1]
	m := make(map[string]string, len(head))
	for i, h := range head {
		if i < len(last) {
			m[h] = last[i]
		}
	}
	return m, nil
}

// StatInt returns an integer column of the last statistics row.
func (s *sipp) StatInt(t *testing.T, col string) int {
	t.Helper()
	m, err := s.Stats()
	if err != nil {
		t.Fatalf("sipp stats: %v", err)
	}
	v, ok := m[col]
	if !ok {
		t.Fatalf("sipp stats: no column %q", col)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("sipp stats %s=%q: %v", col, v, err)
	}
	return n
}

// TestDialSippUASEcho: the endpoint calls sipp's UAS, which echoes RTP; our
// 440 Hz tone must come back and be detected by the endpoint.
func TestDialSippUASEcho(t *testing.T) {
	uas := startSipp(t, "uas", "-rtp_echo", "-m", "1")
	target := fmt.Sprintf("sip:service@127.0.0.1:%d", uas.Port)
	rec := filepath.Join(t.TempDir(), "heard-%c.wav")
	ep := startEndpoint(t, "--dial", target, "--audio", "tone:440", "--expect-tone", "440",
		"--hangup-after", "4s", "--expect-calls", "1", "--record", rec, "--exit-after", "20s")
	code, sum, err := ep.Wait(25 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if code != 0 || sum == nil || !sum.OK || sum.Answered != 1 {
		t.Fatalf("endpoint exit %d, summary %+v", code, sum)
	}
	if _, err := ep.WaitEvent(func(ev Event) bool { return ev.Event == "tone" && ev.Hz == 440 && ev.Detected }, time.Second); err != nil {
		t.Errorf("no tone event with 440 Hz detected: %v", err)
	}
	if c, err := uas.Wait(10 * time.Second); err != nil || c != 0 {
		t.Errorf("sipp uas exit %d, %v", c, err)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "heard-*.wav"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	assertTone(t, files[0], 440, time.Second)
}

// TestSippUACLoad: sipp's UAC places 500 calls at 50 calls/s against the
// auto-answering endpoint; every call must succeed on both sides.
func TestSippUACLoad(t *testing.T) {
	const calls = 500
	ep := startEndpoint(t, "--expect-calls", strconv.Itoa(calls), "--max-calls", "200", "--answer-keeps-others",
		"--no-trace", "--log-level", "warn", "--exit-after", "90s")
	uac := startSipp(t, "uac", ep.Addr, "-s", "service",
		"-r", "50", "-m", strconv.Itoa(calls), "-l", "200", "-d", "0")
	code, err := uac.Wait(90 * time.Second)
	if err != nil {
		t.Fatalf("sipp uac: %v", err)
	}
	ok, failed := uac.StatInt(t, "SuccessfulCall(C)"), uac.StatInt(t, "FailedCall(C)")
	t.Logf("sipp: exit %d, %d successful, %d failed, %s retransmissions", code, ok, failed, statOr(uac, "Retransmissions(C)"))
	if code != 0 || ok != calls || failed != 0 {
		t.Errorf("sipp uac: exit %d, %d successful, %d failed; want 0, %d, 0", code, ok, failed, calls)
	}
	ecode, sum, err := ep.Wait(30 * time.Second)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if ecode != 0 || sum == nil || sum.Answered != calls || sum.Ended != calls || sum.Failed != 0 {
		t.Errorf("endpoint exit %d, summary %+v; want answered=ended=%d, failed 0", ecode, sum, calls)
	}
}

// statOr returns a statistics column or "?".
func statOr(s *sipp, col string) string {
	m, err := s.Stats()
	if err != nil {
		return "?"
	}
	if v, ok := m[col]; ok {
		return v
	}
	return "?"
}

// udpBound reports whether a UDP socket is bound to port on this machine
// (/proc/net/udp, the local address column: hex IP:port).
func udpBound(port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 1 && strings.HasSuffix(fields[1]+" ", want) {
				return true
			}
		}
	}
	return false
}
