package sipguard

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzGuard feeds arbitrary datagrams to the UDP guard and the request
// validation: they must never panic; what the guard passes on (rewritten or
// not) must parse; what it answers must be one bounded status line with
// copied headers, never larger than the request plus the headers it adds.
// Seeds: the 61 RFC 4475 / RFC 5118 torture messages.
func FuzzGuard(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "torture", "*", "*.dat"))
	more, _ := filepath.Glob(filepath.Join("testdata", "torture", "*", "*", "*.dat"))
	for _, file := range append(files, more...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>\r\nTo: sip:b@h\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	g := &Conn{PacketConn: pc, log: slog.New(slog.DiscardHandler), parser: sip.NewParser()}
	// The guard answers to from; aim it at a socket nobody reads.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer sink.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 32768 {
			return // sipgo reads at most that much
		}
		// Load shedding (overload.go) answers well-formed new INVITEs from
		// their bytes before the guard: the 503 must parse too.
		if branch, _ := inviteKeys(data); branch != "" && bytes.HasPrefix(data, []byte("INVITE ")) && wellFormed(data) {
			rej := reject(503, "Service Unavailable", sip.NewHeader("Retry-After", "1"))
			rej.ToTag = "shed1"
			if res := statelessResponse(data, rej); res != nil {
				if _, err := sip.ParseMessage(res); err != nil {
					t.Fatalf("503 to a well-formed INVITE does not parse: %v\n%q", err, res)
				}
			}
		}
		buf := make([]byte, 32768)
		n := copy(buf, data)
		got, ok := g.admit(buf, n, sink.LocalAddr())
		if ok {
			if got != n || !bytes.Equal(buf[:n], data) {
				if _, err := sip.ParseMessage(buf[:got]); err != nil {
					t.Fatalf("rewritten datagram does not parse: %v\n%q", err, buf[:got])
				}
			}
			if m, err := sip.ParseMessage(buf[:got]); err == nil {
				if req, ok := m.(*sip.Request); ok {
					_ = ValidateRequest(req)
				}
			}
			return
		}
		if rej := classifyUnparsable(data); rej != nil {
			if res := statelessResponse(data, rej); res != nil {
				if !bytes.HasPrefix(res, []byte("SIP/2.0 ")) {
					t.Fatalf("answer does not start with a status line: %q", res)
				}
				if len(res) > len(data)+256 {
					t.Fatalf("answer of %d bytes to a request of %d", len(res), len(data))
				}
			}
		}
	})
}
