package sdpfence

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/diago/media"
	diagosdp "github.com/emiago/diago/media/sdp"
	pionsdp "github.com/pion/sdp/v3"

	"github.com/anyphone/anyphone/phone/vocab"
)

// sdpSeedFixtures adds every testdata/sdp fixture, and a few hand-made edge cases, to the
// corpus; testdata/fuzz/<FuzzName> holds the inputs that once failed.
func sdpSeedFixtures(f *testing.F, add func(body []byte)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "sdp", "*.sdp"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no SDP fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	for _, s := range []string{"", "\n", "v=0\n\n", "v=0\r", "\r\n\r\n", "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 96 96\r\na=rtpmap:96 x/8000\r\na=rtpmap:96  x/8000"} {
		add([]byte(s))
	}
}

// diagoAnswerFor is the answer diago would send for an audio offer (shape of
// generateSDPForAudio), used to exercise AddRejectedMedia.
var diagoAnswerFor = []byte(crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=Sip Go Media", "c=IN IP4 127.0.0.1", "t=0 0",
	"m=audio 33810 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=maxptime:20", "a=recvonly"))

// FuzzSDPNormalize checks that Normalize never panics, refuses only with *Error, is
// idempotent, and that the fenced body is one diago parses without panicking and reads the way
// Info describes it.
func FuzzSDPNormalize(f *testing.F) {
	sdpSeedFixtures(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		clean, info, err := Normalize(body)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || (se.Code != 400 && se.Code != 488) || clean != nil {
				t.Fatalf("error %v (%T), clean %q", err, err, clean)
			}
			return
		}
		if !bytes.HasSuffix(clean, []byte("\r\n")) || bytes.Contains(clean, []byte("\r\n\r\n")) ||
			bytes.Count(clean, []byte("\n")) != bytes.Count(clean, []byte("\r\n")) ||
			bytes.Count(clean, []byte("\r")) != bytes.Count(clean, []byte("\r\n")) {
			t.Fatalf("bad line structure: %q", clean)
		}
		var ps pionsdp.SessionDescription
		_ = ps.Unmarshal(clean) // pion may refuse valid SDP in odd line order; it must not panic
		again, info2, err := Normalize(clean)
		if err != nil || !bytes.Equal(again, clean) || !sdpInfoEqual(info, info2) {
			t.Fatalf("not idempotent: %v\n%q\n%q", err, clean, again)
		}

		fenced, info3, removed, err := FenceIncoming(body)
		if err != nil || !sdpInfoEqual(info, info3) || len(removed) != len(info.Extra) {
			t.Fatalf("fence: err %v, %d removed, %d extra", err, len(removed), len(info.Extra))
		}
		// The fence reads the direction once; the chain of the separate fences reads it again.
		stripped, _ := StripExtraMedia(clean)
		if chain := FixOrigin(translateRemoteHold(stripped)); !bytes.Equal(fenced, chain) {
			t.Fatalf("fence differs from the chain of fences:\n%q\n%q", fenced, chain)
		}
		fi, fenceInfoErr := func() (Info, error) { _, i, err := Normalize(fenced); return i, err }()
		if fenceInfoErr != nil || fi.SessionID > math.MaxInt64 || fi.SessionVersion > math.MaxInt64 {
			t.Fatalf("fenced body: %v, o= %d %d\n%q", fenceInfoErr, fi.SessionID, fi.SessionVersion, fenced)
		}

		// diago reads the fenced body as Info describes it, and does not panic on it.
		sd := diagosdp.SessionDescription{}
		if err := diagosdp.Unmarshal(fenced, &sd); err != nil {
			t.Fatalf("diago Unmarshal: %v\n%q", err, fenced)
		}
		if got := sd.MediaDirection(); got != info.Effective.String() {
			t.Fatalf("diago reads direction %q, info says %v\n%q", got, info.Effective, fenced)
		}
		md, err := sd.MediaDescription("audio")
		if err != nil || md.Port != info.AudioPort {
			t.Fatalf("diago media: %v, port %d, info port %d\n%q", err, md.Port, info.AudioPort, fenced)
		}
		ci, err := sd.ConnectionInformation()
		want, _ := netip.ParseAddr(info.ConnAddr)
		if got, ok := netip.AddrFromSlice(ci.IP); err != nil || !ok || got.Unmap() != want.Unmap() {
			t.Fatalf("diago sends to %v (%v), info says %s\n%q", ci.IP, err, info.ConnAddr, fenced)
		}
		_ = (&media.MediaSession{}).RemoteSDP(fenced) // may refuse (codecs, proto), must not panic

		ans := AddRejectedMedia(diagoAnswerFor, removed)
		_, ai, err := Normalize(ans)
		if err != nil || len(ai.Extra) != len(removed) {
			t.Fatalf("answer: %v, %d extra, want %d\n%q", err, len(ai.Extra), len(removed), ans)
		}
		for i, m := range ai.Extra {
			if m.Port != 0 || m.Index != removed[i].Index || m.Type != removed[i].Type {
				t.Fatalf("answer m= %d is %+v, offer had %+v\n%q", i, m, removed[i], ans)
			}
		}
	})
}

// sdpInfoEqual compares two Info values field by field (nil and empty slices alike).
func sdpInfoEqual(a, b Info) bool {
	return sdpSummary(a) == sdpSummary(b) && a.OriginUser == b.OriginUser && a.OriginAddr == b.OriginAddr
}

// FuzzSDPHold checks that the hold, resume, translate, c= and o= editors never panic, keep
// a clean SDP clean, and mean what they say.
func FuzzSDPHold(f *testing.F) {
	sdpSeedFixtures(f, func(b []byte) {
		f.Add(b, uint8(vocab.HoldZeroIP), "192.0.2.99")
		f.Add(b, uint8(vocab.HoldInactive), "2001:db8::99")
		f.Add(b, uint8(vocab.HoldSendonly), "")
	})
	f.Fuzz(func(t *testing.T, body []byte, dialect uint8, addr string) {
		clean, info, err := Normalize(body)
		if err != nil {
			// The editors must survive any input too.
			ApplyResume(ApplyHold(body, vocab.HoldDialect(dialect%5)), addr)
			translateRemoteHold(body)
			setConnection(body, addr)
			FixOrigin(body)
			StripExtraMedia(body)
			AddRejectedMedia(body, []Media{{Index: int(dialect) - 3, Type: "video"}})
			return
		}
		real, aerr := netip.ParseAddr(addr)
		usable := aerr == nil && real.Zone() == "" && !real.IsUnspecified()

		h := vocab.HoldDialect(dialect % 5) // 4 is not a dialect: treated as sendonly
		held := ApplyHold(clean, h)
		_, hi, err := Normalize(held)
		if err != nil || hi.SessionVersion != info.SessionVersion+1 || hi.Effective != holdDirection(h) ||
			(!info.ZeroAddr && hi.ZeroAddr != (h == vocab.HoldZeroIP)) {
			t.Fatalf("hold %v: %v, version %d→%d, eff %v zero %t\n%q", h, err, info.SessionVersion, hi.SessionVersion, hi.Effective, hi.ZeroAddr, held)
		}
		if hi.OriginAddr != info.OriginAddr {
			t.Fatalf("hold %v changed the o= address", h)
		}

		if _, rwi, err := Normalize(RewriteHold(clean, h)); err != nil || rwi.SessionVersion != info.SessionVersion || rwi.Effective != holdDirection(h) {
			t.Fatalf("rewrite %v: %v, version %d, eff %v", h, err, rwi.SessionVersion, rwi.Effective)
		}

		resumed := ApplyResume(held, addr)
		_, ri, err := Normalize(resumed)
		if err != nil || ri.SessionVersion != info.SessionVersion+2 || ri.Direction != SendRecv {
			t.Fatalf("resume: %v, version %d, dir %v\n%q", err, ri.SessionVersion, ri.Direction, resumed)
		}
		if usable && (ri.Effective != SendRecv || ri.ConnAddr != real.Unmap().String()) {
			t.Fatalf("resume to %s: eff %v, c=%s", addr, ri.Effective, ri.ConnAddr)
		}

		tr := translateRemoteHold(clean)
		_, ti, err := Normalize(tr)
		if err != nil || ti.Effective != info.Effective || ti.ZeroAddr != info.ZeroAddr {
			t.Fatalf("translate changed the meaning: %v, %v→%v\n%q", err, info.Effective, ti.Effective, tr)
		}

		sc := setConnection(clean, addr)
		_, si, err := Normalize(sc)
		if err != nil {
			t.Fatalf("set connection %q: %v\n%q", addr, err, sc)
		}
		if usable && !info.ZeroAddr && si.ConnAddr != real.Unmap().String() {
			t.Fatalf("set connection %q: c=%s", addr, si.ConnAddr)
		}
		if !usable && !bytes.Equal(sc, clean) {
			t.Fatalf("set connection %q changed the body", addr)
		}

		fo := FixOrigin(clean)
		_, oi, err := Normalize(fo)
		if err != nil || oi.SessionID > math.MaxInt64 || oi.SessionVersion > math.MaxInt64 {
			t.Fatalf("fix origin: %v, %d %d", err, oi.SessionID, oi.SessionVersion)
		}
		if info.SessionID <= math.MaxInt64 && info.SessionVersion <= math.MaxInt64 && !bytes.Equal(fo, clean) {
			t.Fatalf("fix origin changed a valid o=")
		}
	})
}

// FuzzSDPFields checks the allocation-free field splitters against strings.Fields.
func FuzzSDPFields(f *testing.F) {
	for _, s := range []string{"", " ", "IN IP4 1.2.3.4", " a  b\tc ", "a\u00a0b", "x\u0085 y", "audio 1 RTP/AVP 0 8 101", "\v\f\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf [2]string
		if got, want := sdpFields(buf[:0], s), strings.Fields(s); !slices.Equal(got, want) {
			t.Fatalf("sdpFields(%q) = %q, strings.Fields %q", s, got, want)
		}
		if sdpSingleSpaced(s) && strings.Join(strings.Fields(s), " ") != s {
			t.Fatalf("sdpSingleSpaced(%q) but the fields join to %q", s, strings.Join(strings.Fields(s), " "))
		}
		m, ok := sdpParseMediaLine(s)
		typ, port, ok2 := sdpMediaHead(s)
		if ok != ok2 || typ != m.Type || port != m.Port {
			t.Fatalf("sdpMediaHead(%q) = %q %d %v, sdpParseMediaLine %+v %v", s, typ, port, ok2, m, ok)
		}
	})
}
