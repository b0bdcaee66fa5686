// Package sdpfence holds phone's SDP fences for diago v0.31.0.
//
// diago parses every SDP body itself (media/sdp.Unmarshal, MediaSession.RemoteSDP) and has no
// recover() anywhere, so phone/ cleans each body before diago sees it: in the server request
// middleware (incoming INVITE, re-INVITE, ACK) and in InviteClientOptions.OnResponse (183/200 to
// our INVITE), see LIBRARIES.md §2.16. Outgoing bodies diago generated go through the request
// and response hooks. The functions here are pure (no network, no diago state) and never panic.
//
// Which defect (LIBRARIES.md §3) each function fences:
//
//   - Normalize: #1, an LF-only empty line makes diago's nextLine index line[-1] and panic,
//     killing the process; #2 (diago issue #125), the last line is dropped when the body has no
//     trailing newline, so a final a=sendonly is lost. It also rejects, as *Error, the inputs
//     that crash diago further on: a c= line with fewer than three fields (ConnectionInformation
//     indexes fields[2]) and repeated a=rtpmap lines for one payload type (CodecsFromSDPRead
//     writes past its slice), or a repeated c= in one section (diago reads the first, we the
//     last); it drops session-level a=rtpmap lines, which diago merges into the audio
//     attributes, and rewrites o=, c= and m= with single spaces (diago finds the media type
//     of "m= audio" or "m=audio\t..." at the first space and loses the stream).
//   - StripExtraMedia, AddRejectedMedia: #3, an offer with more than one m= line fails
//     RemoteSDP ("more than 1 media line"): re-INVITE answered 487, Answer() fails. We hand diago
//     the audio section alone and put the other m= lines back, port 0, in its answer (RFC 3264
//     §6), in the offer's order. StripExtraMedia also drops a session-level c= shadowed by
//     the audio's own c=, because diago takes the first c= of the body (RFC 4566 §5.7 says the
//     media-level one wins).
//   - translateRemoteHold, Info.WeMaySend: #4, c=0.0.0.0 (RFC 2543 hold) is answered
//     a=sendrecv and a=inactive is answered but not enforced: diago keeps sending RTP, to
//     0.0.0.0, which Linux delivers to the local host. The translation gives diago a direction
//     it understands; the caller must still mute the uplink when WeMaySend is false (diago's
//     MediaSession.WriteRTP only blocks recvonly).
//   - ApplyHold, ApplyResume, RewriteHold: #9, diago's API only offers sendonly hold;
//     these turn our own SDP (or diago's a=sendonly re-INVITE, in the request hook) into the
//     dialect the peer expects (HoldDialect).
//   - FixOrigin: #10, diago's offers carry the 64-bit NTP timestamp as o= sess-id
//     (about 1.7e19 > MaxInt64) and strict peers answer 488 (fixed upstream in v0.32.0, fcf0ff5).
//   - setConnection: #5 (diago issue #150), the media fork of a re-INVITE drops
//     MediaExternalIP, so diago advertises the private address.
//
// FenceIncoming chains the fences for a foreign body; AddRejectedMedia then fixes our
// answer in the response hook.
//
// Foreign SDP is edited line by line, not through pion/sdp: pion refuses valid-but-odd bodies
// (lines out of RFC 4566 order, a= before t=, ...), and these edits only touch v=/o=/c=/m= and
// direction attributes. Nothing here needs pion to build SDP: diago generates ours.
package sdpfence

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Direction is an RFC 3264 media direction attribute.
type Direction int

const (
	DirNone  Direction = iota // no direction attribute written
	SendRecv                  // a=sendrecv (the default, RFC 3264 §5.1)
	SendOnly                  // a=sendonly
	RecvOnly                  // a=recvonly
	Inactive                  // a=inactive
)

// String returns the attribute name, "" for DirNone.
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return ""
	}
}

// parseDirection maps an attribute line value ("sendonly") to its direction; anything
// else is DirNone.
func parseDirection(attr string) Direction {
	switch attr {
	case "sendrecv":
		return SendRecv
	case "sendonly":
		return SendOnly
	case "recvonly":
		return RecvOnly
	case "inactive":
		return Inactive
	default:
		return DirNone
	}
}

// sdpDirectionAnswer is the direction an answerer that is willing to do everything uses for an
// offered direction (RFC 3264 §6.1): sendonly→recvonly, recvonly→sendonly, inactive→inactive,
// sendrecv (or none)→sendrecv.
func sdpDirectionAnswer(offer Direction) Direction {
	switch offer {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	default:
		return SendRecv
	}
}

// holdDirection is the direction a held offer in dialect d expresses.
func holdDirection(d vocab.HoldDialect) Direction {
	switch d {
	case vocab.HoldInactive, vocab.HoldZeroIP:
		return Inactive
	default:
		return SendOnly
	}
}

// Error is an SDP body we refuse. Code is the SIP status the caller should answer with:
// 400 when the body is not well-formed SDP, 488 when it is but offers nothing we can use.
type Error struct {
	Line   int    // 1-based line of the input, 0 when no single line is at fault
	Code   int    // 400 or 488
	Reason string // what is wrong, lowercase
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("phone: sdp line %d: %s", e.Line, e.Reason)
	}
	return "phone: sdp: " + e.Reason
}

// Payload is one payload type of the audio m= line.
type Payload struct {
	PT       int    // 0..127
	Name     string // encoding name from a=rtpmap or the RFC 3551 static table; "" if unknown
	Rate     int    // clock rate, 0 if unknown
	Channels int    // encoding parameters for audio, 1 when not given
}

// Media is one m= section, as listed on its m= line.
type Media struct {
	Index   int      // position among the m= lines of the SDP it came from, from 0
	Type    string   // "audio", "video", "image", ...
	Port    int      // 0 = rejected or disabled
	Proto   string   // "RTP/AVP", "UDP/TLS/RTP/SAVPF", ...
	Formats []string // the fmt list
}

// rejectedLine is the m= line that rejects this stream in an answer (RFC 3264 §6): port 0,
// same proto and formats.
func (m Media) rejectedLine() string {
	return "m=" + m.Type + " 0 " + m.Proto + " " + strings.Join(m.Formats, " ")
}

// Info is what phone/ needs to know about a remote SDP, read by Normalize.
type Info struct {
	OriginUser     string // o= username
	SessionID      uint64 // o= sess-id
	SessionVersion uint64 // o= sess-version
	OriginAddr     string // o= unicast-address

	AudioIndex int       // position of the chosen audio m= line among all m= lines
	AudioPort  int       // 0 = the audio stream is rejected
	AudioProto string    // e.g. "RTP/AVP"
	Payloads   []Payload // audio payload types in m= order
	ConnAddr   string    // audio connection address: media-level c= wins, then session level
	// ZeroAddr is true when ConnAddr is 0.0.0.0 or :: (RFC 2543 hold, RFC 3264 §8.4).
	ZeroAddr bool
	// Direction is the audio direction as written: the media-level attribute wins, then the
	// session-level one, then sendrecv (RFC 3264 §5.1). Never DirNone.
	Direction Direction
	// Effective folds in RFC 2543 hold: with ZeroAddr, sendonly stays sendonly and everything
	// else is inactive (the peer gave no address to send to).
	Effective Direction
	// RemoteSendsToUs: the peer will send audio (Effective sendrecv or sendonly, port ≠ 0).
	RemoteSendsToUs bool
	// WeMaySend: we may send audio (Effective sendrecv or recvonly, port ≠ 0, real address).
	// diago does not enforce this (LIBRARIES.md defect #4): mute the uplink when false.
	WeMaySend bool

	Extra []Media // the other m= sections (non-audio, or audio beyond the chosen one)
}

// payloadType returns the payload type the peer uses for an encoding name (case-insensitive)
// at a clock rate, e.g. ("telephone-event", 8000); rate 0 matches any rate.
func (i Info) PayloadType(name string, rate int) (int, bool) {
	for _, p := range i.Payloads {
		if strings.EqualFold(p.Name, name) && (rate == 0 || p.Rate == rate) {
			return p.PT, true
		}
	}
	return 0, false
}

// sdpStaticPayloads is the RFC 3551 §6 table of static audio payload types.
var sdpStaticPayloads = map[int]Payload{
	0: {0, "PCMU", 8000, 1}, 3: {3, "GSM", 8000, 1}, 4: {4, "G723", 8000, 1},
	5: {5, "DVI4", 8000, 1}, 6: {6, "DVI4", 16000, 1}, 7: {7, "LPC", 8000, 1},
	8: {8, "PCMA", 8000, 1}, 9: {9, "G722", 8000, 1}, 10: {10, "L16", 44100, 2},
	11: {11, "L16", 44100, 1}, 12: {12, "QCELP", 8000, 1}, 13: {13, "CN", 8000, 1},
	14: {14, "MPA", 90000, 1}, 15: {15, "G728", 8000, 1}, 16: {16, "DVI4", 11025, 1},
	17: {17, "DVI4", 22050, 1}, 18: {18, "G729", 8000, 1},
}

// sdpLine is one non-empty line without its line ending, and where it was in the input.
type sdpLine struct {
	text string
	no   int // 1-based line number in the input
}

// sdpDoc is an SDP split into lines: the session part, then one section per m= line.
type sdpDoc struct {
	lines []sdpLine
	media []int // index into lines of each m= line
}

// sdpSplit splits body at CRLF, LF or lone CR, trims blanks around each line and drops empty
// lines. It never fails.
func sdpSplit(body []byte) sdpDoc {
	d := sdpDoc{lines: make([]sdpLine, 0, bytes.Count(body, []byte("\n"))+1)}
	s := string(body)
	no := 0
	for len(s) > 0 {
		no++
		i := strings.IndexAny(s, "\r\n")
		line := s
		if i < 0 {
			s = ""
		} else {
			line = s[:i]
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				s = s[i+2:]
			} else {
				s = s[i+1:]
			}
		}
		line = strings.Trim(line, " \t\v\f")
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "m=") {
			d.media = append(d.media, len(d.lines))
		}
		d.lines = append(d.lines, sdpLine{text: line, no: no})
	}
	return d
}

// sessionEnd is the index of the first m= line, or len(lines).
func (d *sdpDoc) sessionEnd() int {
	if len(d.media) == 0 {
		return len(d.lines)
	}
	return d.media[0]
}

// section returns the [start, end) line range of media section k.
func (d *sdpDoc) section(k int) (start, end int) {
	start = d.media[k]
	end = len(d.lines)
	if k+1 < len(d.media) {
		end = d.media[k+1]
	}
	return start, end
}

// bytes joins the lines with CRLF, ending with CRLF.
func (d *sdpDoc) bytes() []byte {
	n := 0
	for _, l := range d.lines {
		n += len(l.text) + 2
	}
	b := make([]byte, 0, n)
	for _, l := range d.lines {
		b = append(b, l.text...)
		b = append(b, "\r\n"...)
	}
	return b
}

// rebuild recomputes media from lines after an edit.
func (d *sdpDoc) rebuild() {
	d.media = d.media[:0]
	for i, l := range d.lines {
		if strings.HasPrefix(l.text, "m=") {
			d.media = append(d.media, i)
		}
	}
}

// sdpParseMediaLine parses the value of an m= line: <media> <port>[/<n>] <proto> <fmt> ...
func sdpParseMediaLine(value string) (Media, bool) {
	f := strings.Fields(value)
	p, ok := sdpMediaFields(f)
	if !ok {
		return Media{}, false
	}
	return Media{Type: f[0], Port: p, Proto: f[2], Formats: f[3:]}, true
}

// sdpMediaHead is sdpParseMediaLine without the fmt list, and without
// allocating for an m= line of up to 16 fields.
func sdpMediaHead(value string) (typ string, port int, ok bool) {
	var buf [16]string
	f := sdpFields(buf[:0], value)
	p, ok := sdpMediaFields(f)
	if !ok {
		return "", 0, false
	}
	return f[0], p, true
}

// sdpMediaFields checks the fields of an m= value and returns its port.
func sdpMediaFields(f []string) (int, bool) {
	if len(f) < 4 {
		return 0, false
	}
	port, n, hasN := strings.Cut(f[1], "/")
	p, ok := sdpParsePort(port)
	if !ok {
		return 0, false
	}
	if hasN {
		if c, err := strconv.Atoi(n); err != nil || c < 1 || len(n) > 5 {
			return 0, false
		}
	}
	return p, true
}

// sdpFields appends the fields of s, as strings.Fields splits them, to dst:
// without allocating when s is ASCII and dst has room (every SDP fence runs
// on every INVITE and response).
func sdpFields(dst []string, s string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.Fields(s)...)
		}
	}
	start := -1
	for i := 0; i < len(s); i++ {
		if sdpASCIISpace(s[i]) {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// sdpASCIISpace is unicode.IsSpace for an ASCII byte.
func sdpASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// sdpSingleSpaced reports whether strings.Join(strings.Fields(s), " ") == s
// for certain: ASCII, fields separated by single spaces, none around them.
func sdpSingleSpaced(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if c == ' ' {
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return false
			}
		} else if sdpASCIISpace(c) {
			return false
		}
	}
	return true
}

// sdpParsePort parses a decimal port 0..65535 (digits only, no sign).
func sdpParsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	p, _ := strconv.Atoi(s)
	return p, p <= 65535
}

// sdpParseUint parses an o= sess-id or version: digits only, fitting in a uint64.
func sdpParseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// sdpConnAddr returns the address of a c= value ("IN IP4 192.0.2.1/127" → "192.0.2.1"), or
// false when the value does not have exactly three fields.
func sdpConnAddr(value string) (addr string, ok bool) {
	var buf [4]string
	f := sdpFields(buf[:0], value)
	if len(f) != 3 {
		return "", false
	}
	a, _, _ := strings.Cut(f[2], "/")
	return a, true
}

// sdpUsableAddr parses an address we may write into c=: an IP without zone, not 0.0.0.0 or ::.
func sdpUsableAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == "" && !a.IsUnspecified()
}

// sdpIsZeroAddr reports whether a c= address is 0.0.0.0 or :: (RFC 2543 hold).
func sdpIsZeroAddr(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.IsUnspecified()
}

// pickAudio chooses the audio section we keep: the first m=audio with a non-zero port, else the
// first m=audio. It returns -1 when there is none.
func (d *sdpDoc) pickAudio() int {
	first := -1
	for k, i := range d.media {
		typ, port, ok := sdpMediaHead(d.lines[i].text[2:])
		if !ok || typ != "audio" {
			continue
		}
		if port != 0 {
			return k
		}
		if first < 0 {
			first = k
		}
	}
	return first
}

// lastDirection returns the last direction attribute among lines[start:end], or DirNone.
func (d *sdpDoc) lastDirection(start, end int) Direction {
	dir := DirNone
	for _, l := range d.lines[start:end] {
		if v, ok := strings.CutPrefix(l.text, "a="); ok {
			if x := parseDirection(v); x != DirNone {
				dir = x
			}
		}
	}
	return dir
}

// lastConn returns the address of the last c= line among lines[start:end], or "".
func (d *sdpDoc) lastConn(start, end int) string {
	addr := ""
	for _, l := range d.lines[start:end] {
		if v, ok := strings.CutPrefix(l.text, "c="); ok {
			if a, ok := sdpConnAddr(v); ok {
				addr = a
			}
		}
	}
	return addr
}

// sdpLineTypes are the RFC 4566 §5 type letters. RFC 4566 §5: a parser must ignore a whole
// description with a type letter it does not understand, so we refuse others.
const sdpLineTypes = "vosiuepcbzktram"

// Normalize cleans a foreign SDP body for diago and describes it. The clean body has CRLF
// line ends, no empty lines, no blanks around lines, single spaces between the fields of o=,
// c= and m= lines, a trailing CRLF, no session-level
// a=rtpmap and no repeated a=rtpmap for one payload type within a media section. A body that is
// not SDP, or not one diago could use, is refused with *Error (Code 400 or 488). It never
// panics; normalizing a clean body returns it unchanged.
func Normalize(body []byte) (clean []byte, info Info, err error) {
	d := sdpSplit(body)
	bad := func(no int, format string, args ...any) ([]byte, Info, error) {
		return nil, Info{}, &Error{Line: no, Code: 400, Reason: fmt.Sprintf(format, args...)}
	}
	if len(d.lines) == 0 {
		return bad(0, "empty body")
	}
	if d.lines[0].text != "v=0" {
		return bad(d.lines[0].no, "first line is not v=0")
	}
	origin := -1
	conns := 0 // c= lines in the current section
	for i, l := range d.lines {
		t := l.text
		if len(t) < 2 || t[1] != '=' || !strings.ContainsRune(sdpLineTypes, rune(t[0])) {
			return bad(l.no, "not an SDP <type>=<value> line")
		}
		if strings.IndexByte(t, 0) >= 0 {
			return bad(l.no, "NUL byte")
		}
		v := t[2:]
		if strings.ContainsRune("ocm", rune(t[0])) && !sdpSingleSpaced(v) {
			// diago splits m= at the first ASCII space (media/sdp MediaDescription): write
			// these field lists with single spaces, as RFC 4566 §5 has them.
			v = strings.Join(strings.Fields(v), " ")
			d.lines[i].text = t[:2] + v
		}
		switch t[0] {
		case 'v':
			if i != 0 {
				return bad(l.no, "v= after the first line")
			}
		case 'o':
			if origin >= 0 || i >= d.sessionEnd() {
				return bad(l.no, "o= repeated or inside a media section")
			}
			var buf [8]string
			f := sdpFields(buf[:0], v)
			if len(f) != 6 {
				return bad(l.no, "o= needs 6 fields")
			}
			id, ok1 := sdpParseUint(f[1])
			ver, ok2 := sdpParseUint(f[2])
			if !ok1 || !ok2 {
				return bad(l.no, "o= sess-id or version is not a 64-bit number")
			}
			origin = i
			info.OriginUser, info.SessionID, info.SessionVersion, info.OriginAddr = f[0], id, ver, f[5]
		case 'c':
			if _, ok := sdpConnAddr(v); !ok {
				return bad(l.no, "c= needs 3 fields")
			}
			// RFC 4566 §5: one c= per level. diago reads the first, RFC readers the only one.
			if conns++; conns > 1 {
				return bad(l.no, "c= repeated in one section")
			}
		case 'm':
			if _, _, ok := sdpMediaHead(v); !ok {
				return bad(l.no, "malformed m= line")
			}
			conns = 0
		}
	}
	if origin < 0 {
		return bad(0, "no o= line")
	}
	if len(d.media) == 0 {
		return bad(0, "no m= line")
	}
	k := d.pickAudio()
	if k < 0 {
		return nil, Info{}, &Error{Code: 488, Reason: "no audio stream"}
	}

	// diago merges the a= lines of all levels and writes one codec per matching a=rtpmap into a
	// slice sized by the m= fmt list: drop session-level rtpmaps (media-level only, RFC 4566
	// §6) and repeats within a section, or it panics.
	kept := make([]sdpLine, 0, len(d.lines))
	seen := map[string]bool{}
	for i, l := range d.lines {
		if strings.HasPrefix(l.text, "m=") {
			clear(seen)
		}
		if v, ok := strings.CutPrefix(l.text, "a=rtpmap:"); ok {
			pt, _, _ := strings.Cut(v, " ")
			if i < d.sessionEnd() || seen[pt] {
				continue
			}
			seen[pt] = true
		}
		kept = append(kept, l)
	}
	d.lines = kept
	d.rebuild()

	start, end := d.section(k)
	m, _ := sdpParseMediaLine(d.lines[start].text[2:])
	info.AudioIndex, info.AudioPort, info.AudioProto = k, m.Port, m.Proto
	info.ConnAddr = d.lastConn(start, end)
	if info.ConnAddr == "" {
		info.ConnAddr = d.lastConn(0, d.sessionEnd())
	}
	if info.ConnAddr == "" {
		return nil, Info{}, &Error{Line: d.lines[start].no, Code: 400, Reason: "no c= line for the audio stream"}
	}
	if reason := sdpCheckConn(d.audioConnLine(start, end)); reason != "" {
		return nil, Info{}, &Error{Code: 488, Reason: reason}
	}
	info.ZeroAddr = sdpIsZeroAddr(info.ConnAddr)
	info.Direction = d.lastDirection(start, end)
	if info.Direction == DirNone {
		info.Direction = d.lastDirection(0, d.sessionEnd())
	}
	if info.Direction == DirNone {
		info.Direction = SendRecv
	}
	info.Effective = info.Direction
	if info.ZeroAddr && info.Effective != SendOnly {
		info.Effective = Inactive
	}
	live := info.AudioPort != 0
	info.RemoteSendsToUs = live && (info.Effective == SendRecv || info.Effective == SendOnly)
	info.WeMaySend = live && (info.Effective == SendRecv || info.Effective == RecvOnly)
	info.Payloads = sdpPayloads(m.Formats, d.lines[start+1:end])
	for j, i := range d.media {
		if j == k {
			continue
		}
		x, _ := sdpParseMediaLine(d.lines[i].text[2:])
		x.Index = j
		info.Extra = append(info.Extra, x)
	}
	return d.bytes(), info, nil
}

// audioConnLine returns the value of the c= line that applies to the media section
// lines[start:end]: its own last c=, else the session's last c=.
func (d *sdpDoc) audioConnLine(start, end int) string {
	for _, r := range [][2]int{{start, end}, {0, d.sessionEnd()}} {
		v := ""
		for _, l := range d.lines[r[0]:r[1]] {
			if c, ok := strings.CutPrefix(l.text, "c="); ok {
				v = c
			}
		}
		if v != "" {
			return v
		}
	}
	return ""
}

// sdpCheckConn returns why diago could not use a c= value as the RTP destination, or "".
// diago parses it with net.ParseIP and To4 for IP4 (media/sdp ConnectionInformation).
func sdpCheckConn(v string) string {
	var buf [4]string
	f := sdpFields(buf[:0], v)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return fmt.Sprintf("unusable audio connection c=%s", v)
	}
	a, _, _ := strings.Cut(f[2], "/")
	ip, err := netip.ParseAddr(a)
	if err != nil || ip.Zone() != "" {
		return fmt.Sprintf("audio connection address %q is not an IP address", a)
	}
	if f[1] == "IP4" && !ip.Unmap().Is4() {
		return fmt.Sprintf("audio connection address %q is not IP4", a)
	}
	return ""
}

// sdpPayloads lists the payload types of an m= fmt list with their a=rtpmap (or static) names.
// Formats that are not RTP payload type numbers are skipped.
func sdpPayloads(formats []string, lines []sdpLine) []Payload {
	maps := map[string]Payload{}
	for _, l := range lines {
		v, ok := strings.CutPrefix(l.text, "a=rtpmap:")
		if !ok {
			continue
		}
		pt, enc, _ := strings.Cut(v, " ")
		if _, dup := maps[pt]; dup {
			continue
		}
		// <encoding name>/<clock rate>[/<channels>], as strings.Split at
		// "/" would read it, without the slice.
		name, rest, hasRate := strings.Cut(strings.TrimSpace(enc), "/")
		p := Payload{Name: name, Channels: 1}
		if hasRate {
			rate, rest2, hasCh := strings.Cut(rest, "/")
			p.Rate, _ = strconv.Atoi(rate)
			if hasCh {
				ch, _, _ := strings.Cut(rest2, "/")
				if c, err := strconv.Atoi(ch); err == nil {
					p.Channels = c
				}
			}
		}
		maps[pt] = p
	}
	var out []Payload
	for _, f := range formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		p, ok := maps[f]
		if !ok {
			p = sdpStaticPayloads[pt]
		}
		p.PT = pt
		out = append(out, p)
	}
	return out
}

// StripExtraMedia keeps the session part and the audio section Normalize chose, and
// returns the other m= sections (with their positions) for AddRejectedMedia. When the audio
// section has its own c=, the session-level c= is dropped too: diago reads the first c= of the
// body, RFC 4566 §5.7 says the media-level one applies. A body without an audio m= line is
// returned unchanged. Use it on a normalized body.
func StripExtraMedia(body []byte) (clean []byte, removed []Media) {
	d := sdpSplit(body)
	k := d.pickAudio()
	if k < 0 {
		return body, nil
	}
	start, end := d.section(k)
	mediaConn := d.lastConn(start, end) != ""
	var out []sdpLine
	for _, l := range d.lines[:d.sessionEnd()] {
		if mediaConn && strings.HasPrefix(l.text, "c=") {
			continue
		}
		out = append(out, l)
	}
	out = append(out, d.lines[start:end]...)
	for j, i := range d.media {
		if j == k {
			continue
		}
		m, ok := sdpParseMediaLine(d.lines[i].text[2:])
		if !ok {
			continue
		}
		m.Index = j
		removed = append(removed, m)
	}
	d.lines = out
	return d.bytes(), removed
}

// AddRejectedMedia puts the m= sections StripExtraMedia removed back into an answer, as
// rejected streams (port 0, RFC 3264 §6), at their offer positions, so the answer has as many
// m= lines as the offer, in the same order. If the answer has no session-level c=, each
// rejected stream gets a copy of the first media-level c= (RFC 4566 §5.7 requires one). With
// nothing removed the answer is returned unchanged.
func AddRejectedMedia(answer []byte, removed []Media) []byte {
	if len(removed) == 0 {
		return answer
	}
	d := sdpSplit(answer)
	sessionConn := d.lastConn(0, d.sessionEnd()) != ""
	var conn string
	if !sessionConn {
		for k := range d.media {
			s, e := d.section(k)
			for _, l := range d.lines[s:e] {
				if strings.HasPrefix(l.text, "c=") && conn == "" {
					conn = l.text
				}
			}
		}
	}
	byIndex := map[int]Media{}
	var late []Media
	for _, m := range removed {
		if _, dup := byIndex[m.Index]; dup || m.Index < 0 {
			late = append(late, m)
			continue
		}
		byIndex[m.Index] = m
	}
	rejected := func(m Media) []sdpLine {
		ls := []sdpLine{{text: m.rejectedLine()}}
		if conn != "" {
			ls = append(ls, sdpLine{text: conn})
		}
		return ls
	}
	out := append([]sdpLine(nil), d.lines[:d.sessionEnd()]...)
	total := len(d.media) + len(byIndex)
	next := 0 // next answer section to place
	for pos := 0; pos < total; pos++ {
		if m, ok := byIndex[pos]; ok {
			out = append(out, rejected(m)...)
			delete(byIndex, pos)
			continue
		}
		if next < len(d.media) {
			s, e := d.section(next)
			out = append(out, d.lines[s:e]...)
			next++
		}
	}
	for ; next < len(d.media); next++ {
		s, e := d.section(next)
		out = append(out, d.lines[s:e]...)
	}
	for pos := total; len(byIndex) > 0; pos++ { // indices beyond the offer's m= count
		if m, ok := byIndex[pos]; ok {
			out = append(out, rejected(m)...)
			delete(byIndex, pos)
		}
	}
	for _, m := range late {
		out = append(out, rejected(m)...)
	}
	d.lines = out
	return d.bytes()
}

// setDirection removes every direction attribute of the session part and of media sections
// ks, then, unless dir is DirNone, appends a=<dir> to the end of each of those sections.
func (d *sdpDoc) setDirection(dir Direction, ks []int) {
	want := map[int]bool{}
	for _, k := range ks {
		want[k] = true
	}
	var out []sdpLine
	k := -1
	flush := func() {
		if k >= 0 && want[k] && dir != DirNone {
			out = append(out, sdpLine{text: "a=" + dir.String()})
		}
	}
	for _, l := range d.lines {
		if strings.HasPrefix(l.text, "m=") {
			flush()
			k++
		}
		if v, ok := strings.CutPrefix(l.text, "a="); ok && parseDirection(v) != DirNone && (k < 0 || want[k]) {
			continue
		}
		out = append(out, l)
	}
	flush()
	d.lines = out
	d.rebuild()
}

// setConn points every well-formed c= line whose address skip does not select at addr, with
// the matching address type. It reports whether a line changed.
func (d *sdpDoc) setConn(addr netip.Addr, skip func(old string) bool) bool {
	typ := "IP4"
	if addr.Is6() && !addr.Is4In6() {
		typ = "IP6"
	}
	changed := false
	for i, l := range d.lines {
		v, ok := strings.CutPrefix(l.text, "c=")
		if !ok {
			continue
		}
		old, ok := sdpConnAddr(v)
		if !ok || skip(old) {
			continue
		}
		nt := strings.Fields(v)[0]
		text := "c=" + nt + " " + typ + " " + addr.Unmap().String()
		if text != l.text {
			d.lines[i].text = text
			changed = true
		}
	}
	return changed
}

// bumpVersion adds one to the o= sess-version (RFC 3264 §8: exactly one per changed offer).
func (d *sdpDoc) bumpVersion() {
	for i, l := range d.lines[:d.sessionEnd()] {
		v, ok := strings.CutPrefix(l.text, "o=")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 6 {
			return
		}
		ver, ok := sdpParseUint(f[2])
		if !ok {
			return
		}
		f[2] = strconv.FormatUint(ver+1, 10)
		d.lines[i].text = "o=" + strings.Join(f, " ")
		return
	}
}

// allMedia lists the indices of all media sections.
func (d *sdpDoc) allMedia() []int {
	ks := make([]int, len(d.media))
	for i := range ks {
		ks[i] = i
	}
	return ks
}

// ApplyHold turns an SDP we generated into a held offer in dialect h, for every media
// section, and adds one to the o= version. HoldSendonly/HoldDefault write a=sendonly,
// HoldInactive a=inactive; HoldZeroIP sets every c= to 0.0.0.0 (:: for IP6) and removes the
// direction attributes, as RFC 2543 peers expect, leaving the o= address real. The result has
// CRLF line ends. For the re-INVITE diago's own Hold sends, whose version diago already bumped,
// use RewriteHold.
func ApplyHold(body []byte, h vocab.HoldDialect) []byte {
	d := sdpHold(body, h)
	d.bumpVersion()
	return d.bytes()
}

// RewriteHold is ApplyHold without the version bump: it turns the a=sendonly offer diago's
// Hold generated (LIBRARIES.md defect #9, the only form diago offers) into dialect h, in the
// request hook. RFC 3264 §8 wants the version one above the previous SDP, which diago already
// did. With HoldSendonly or HoldDefault and a body already in that form, the body is returned
// unchanged.
func RewriteHold(body []byte, h vocab.HoldDialect) []byte {
	d := sdpHold(body, h)
	out := d.bytes()
	if bytes.Equal(out, body) {
		return body
	}
	return out
}

// sdpHold edits the direction and c= lines of body for dialect h.
func sdpHold(body []byte, h vocab.HoldDialect) sdpDoc {
	d := sdpSplit(body)
	switch h {
	case vocab.HoldZeroIP:
		d.setDirection(DirNone, d.allMedia())
		for i, l := range d.lines {
			v, ok := strings.CutPrefix(l.text, "c=")
			if !ok {
				continue
			}
			f := strings.Fields(v)
			if len(f) != 3 {
				continue
			}
			zero := "0.0.0.0"
			if f[1] == "IP6" {
				zero = "::"
			}
			d.lines[i].text = "c=" + f[0] + " " + f[1] + " " + zero
		}
	case vocab.HoldInactive:
		d.setDirection(Inactive, d.allMedia())
	default:
		d.setDirection(SendOnly, d.allMedia())
	}
	return d
}

// ApplyResume undoes ApplyHold: a=sendrecv on every media section, every c= set to
// realAddr (left alone unless sdpUsableAddr accepts it, so "" keeps the c= lines), and one
// added to the o= version.
func ApplyResume(body []byte, realAddr string) []byte {
	d := sdpSplit(body)
	d.setDirection(SendRecv, d.allMedia())
	if a, ok := sdpUsableAddr(realAddr); ok {
		d.setConn(a, func(string) bool { return false })
	}
	d.bumpVersion()
	return d.bytes()
}

// translateRemoteHold rewrites an incoming offer so that diago reads the direction RFC 3264
// and RFC 2543 mean (Info.Effective). diago takes the last direction attribute of the whole
// body and ignores c=0.0.0.0, so an RFC 2543 hold (c=0.0.0.0, no direction) becomes
// a=inactive, c=0.0.0.0 with a=sendonly stays sendonly, and a session-level direction shadowed
// in diago's reading is made explicit on the audio section. The 0.0.0.0 address is kept: diago
// then sends RTP to 0.0.0.0 (delivered to the local host) unless the caller mutes the uplink
// according to Info.WeMaySend, which it must do anyway because diago does not enforce
// a=inactive. A body that needs no change, or that is not SDP, is returned unchanged. Use it
// after StripExtraMedia: direction attributes of other m= sections also reach diago.
func translateRemoteHold(body []byte) []byte {
	_, info, err := Normalize(body)
	if err != nil {
		return body
	}
	return sdpTranslateRemoteHoldTo(body, info.Effective)
}

// sdpTranslateRemoteHoldTo is translateRemoteHold for a normalized body whose
// Info.Effective is known.
func sdpTranslateRemoteHoldTo(body []byte, effective Direction) []byte {
	d := sdpSplit(body)
	diagoView := d.lastDirection(0, len(d.lines))
	if diagoView == DirNone {
		diagoView = SendRecv
	}
	if diagoView == effective {
		return body
	}
	d.setDirection(effective, []int{d.pickAudio()})
	return d.bytes()
}

// FixOrigin makes the o= sess-id and version fit in an int64, as strict peers require
// (RFC 4566 §5.2 allows 64 bits, many parsers use signed integers). diago offers the 64-bit
// NTP timestamp as sess-id; it becomes id>>32 (the NTP seconds) and the version becomes
// newID + (version − id), so later versions of the same session stay monotonic. A body whose
// o= already fits, or has no usable o=, is returned unchanged, byte for byte; otherwise only
// the o= line changes.
func FixOrigin(body []byte) []byte {
	// Find the o= line in the session part, by bytes, so everything else stays as it is.
	off := 0
	for off < len(body) {
		end := bytes.IndexAny(body[off:], "\r\n")
		if end < 0 {
			end = len(body)
		} else {
			end += off
		}
		line := body[off:end]
		trimmed := bytes.Trim(line, " \t\v\f")
		if bytes.HasPrefix(trimmed, []byte("m=")) {
			return body
		}
		if bytes.HasPrefix(trimmed, []byte("o=")) {
			fixed, ok := sdpFixOriginLine(string(trimmed[2:]))
			if !ok {
				return body
			}
			out := make([]byte, 0, len(body))
			out = append(out, body[:off]...)
			out = append(out, "o="+fixed...)
			return append(out, body[end:]...)
		}
		off = end + 1
	}
	return body
}

// sdpFixOriginLine returns the fixed o= value, or false when it needs no fix or is unusable.
func sdpFixOriginLine(v string) (string, bool) {
	f := strings.Fields(v)
	if len(f) != 6 {
		return "", false
	}
	id, ok1 := sdpParseUint(f[1])
	ver, ok2 := sdpParseUint(f[2])
	if !ok1 || !ok2 || (id <= math.MaxInt64 && ver <= math.MaxInt64) {
		return "", false
	}
	newID := id
	if id > math.MaxInt64 {
		newID = id >> 32
	}
	var newVer uint64
	switch {
	case ver >= id:
		newVer = newID + (ver - id)
		if newVer < newID || newVer > math.MaxInt64 {
			newVer = math.MaxInt64
		}
	case ver > math.MaxInt64:
		newVer = ver >> 32
	default:
		newVer = ver
	}
	f[1] = strconv.FormatUint(newID, 10)
	f[2] = strconv.FormatUint(newVer, 10)
	return strings.Join(f, " "), true
}

// setConnection points every c= line (session and media level) at addr, with the matching
// address type, for NAT (LIBRARIES.md defect #5). Lines holding 0.0.0.0 or :: are left alone
// so an RFC 2543 hold survives. The o= version is not changed: the rewrite is applied the same
// way to every SDP of the session. When sdpUsableAddr refuses addr or nothing changes, the body
// is returned unchanged.
func setConnection(body []byte, addr string) []byte {
	a, ok := sdpUsableAddr(addr)
	if !ok {
		return body
	}
	d := sdpSplit(body)
	if !d.setConn(a, sdpIsZeroAddr) {
		return body
	}
	return d.bytes()
}

// FenceIncoming is the whole clean-up for a foreign offer or answer before diago parses it:
// Normalize, StripExtraMedia, translateRemoteHold, FixOrigin. info describes the
// original body; removed goes to AddRejectedMedia for our answer.
func FenceIncoming(body []byte) (clean []byte, info Info, removed []Media, err error) {
	clean, info, err = Normalize(body)
	if err != nil {
		return nil, Info{}, nil, err
	}
	clean, removed = StripExtraMedia(clean)
	// Stripping keeps the audio section, its c= and the session's direction:
	// the effective direction is the one just read (FuzzSDPNormalize checks
	// this against translateRemoteHold, which normalizes once more).
	clean = sdpTranslateRemoteHoldTo(clean, info.Effective)
	return FixOrigin(clean), info, removed, nil
}
