package sipguard

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Request validation (RFC 3261 §8.2, RFC 4475, RFC 5118). Two layers:
//
//   - Conn sits between the UDP socket and sipgo. sipgo drops every
//     datagram its parser refuses without a word; the guard parses first and
//     answers those requests statelessly (400, 416 for an unknown
//     Request-URI scheme, 505 for another SIP version), as RFC 3261 §18.3
//     and RFC 4475 §3.1.2 ask. It also catches what the parsed form hides
//     (a Contact addr-spec with URI headers, RFC 3261 §20.10).
//   - ValidateRequest runs first thing in the middleware on every transport
//     and applies the checks of RFC 3261 §8.2 in order: basic syntax (400),
//     version (505), method (405/501), Request-URI scheme (416), Require
//     (420), Content-Type (415), Accept (406).
//
// Nothing is ever answered to a source that is not a unicast address, and a
// response is never answered at all.

// Rejection is the final answer to a request that fails validation.
type Rejection struct {
	Code    int
	Reason  string
	Headers []sip.Header
	// ToTag, if set, is added to a To header without a tag (a final
	// response to an INVITE needs one: RFC 3261 §8.2.6.2).
	ToTag string
}

func reject(code int, reason string, hdrs ...sip.Header) *Rejection {
	return &Rejection{Code: code, Reason: reason, Headers: hdrs}
}

// Allowed is the Allow header value of the methods phone serves: what a
// 405 or 501 lists, and what our INVITEs advertise.
const Allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, SUBSCRIBE"

// routedMethods are the methods this phone serves (diago's handlers, UPDATE
// and INFO in the middleware).
var routedMethods = map[sip.RequestMethod]bool{
	sip.INVITE: true, sip.ACK: true, sip.CANCEL: true, sip.BYE: true, sip.OPTIONS: true,
	sip.REFER: true, sip.NOTIFY: true, sip.INFO: true, sip.UPDATE: true, sip.SUBSCRIBE: true,
}

// knownMethods are methods we recognise but do not serve: 405, not 501
// (RFC 3261 §8.2.1; a UA is not a registrar: RFC 4475 §3.3.7).
var knownMethods = map[sip.RequestMethod]bool{
	sip.REGISTER: true, sip.PRACK: true, sip.MESSAGE: true, sip.PUBLISH: true,
}

// singleHeaders may appear once only (RFC 3261 §7.3.1, §20; RFC 4475
// §3.3.8, §3.3.9).
var singleHeaders = []string{"To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// requiredHeaders must be present in every request (RFC 3261 §8.1.1;
// Max-Forwards is left out so that RFC 2543 requests are served: RFC 4475
// §3.4.1).
var requiredHeaders = []string{"Via", "From", "To", "Call-ID", "CSeq"}

// ValidateRequest checks a parsed request; nil means serve it.
func ValidateRequest(req *sip.Request) *Rejection {
	// Basic syntax first: a malformed message is not examined further.
	for _, name := range requiredHeaders {
		if req.GetHeader(name) == nil {
			return reject(400, "Bad Request - missing "+name)
		}
	}
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return reject(400, "Bad Request - more than one "+name)
		}
	}
	// sipgo upper-cases the method of the request line, not the CSeq's.
	if cs := req.CSeq(); cs == nil || !strings.EqualFold(string(cs.MethodName), string(req.Method)) {
		return reject(400, "Bad Request - CSeq method does not match")
	}
	if req.SipVersion != "SIP/2.0" {
		return reject(505, "Version Not Supported")
	}
	scheme := strings.ToLower(req.Recipient.Scheme)
	if (scheme == "sip" || scheme == "sips") && req.Recipient.Headers.Length() > 0 {
		// RFC 4475 §3.1.2.11: headers belong to no Request-URI.
		return reject(400, "Bad Request - headers in Request-URI")
	}
	// §8.2.1 method inspection.
	if !routedMethods[req.Method] {
		if knownMethods[req.Method] {
			return reject(405, "Method Not Allowed", sip.NewHeader("Allow", Allowed))
		}
		return reject(501, "Not Implemented", sip.NewHeader("Allow", Allowed))
	}
	// §8.2.2.1 Request-URI.
	switch scheme {
	case "sip", "sips", "tel":
	default:
		return reject(416, "Unsupported URI Scheme")
	}
	// §8.2.2.3 Require: the only extension we implement is RFC 4028
	// session timers (update.go), on INVITE and UPDATE.
	if req.Method != sip.ACK && req.Method != sip.CANCEL {
		timers := req.Method == sip.INVITE || req.Method == sip.UPDATE
		var opts []string
		for _, h := range req.GetHeaders("Require") {
			for _, opt := range strings.Split(h.Value(), ",") {
				if opt = strings.TrimSpace(opt); opt != "" && !(timers && strings.EqualFold(opt, "timer")) {
					opts = append(opts, opt)
				}
			}
		}
		if len(opts) > 0 {
			return reject(420, "Bad Extension", sip.NewHeader("Unsupported", strings.Join(opts, ", ")))
		}
	}
	// §8.2.3 content processing: offers and answers are SDP.
	if req.Method == sip.INVITE || req.Method == sip.UPDATE {
		if len(req.Body()) > 0 {
			ct := req.ContentType()
			if ct == nil || !mediaTypeIs(ct.Value(), "application/sdp") {
				return reject(415, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
			}
		}
		// RFC 3261 §21.4.7, RFC 4475 §3.3.15: our answer would be SDP.
		if !acceptsSDP(req) {
			return reject(406, "Not Acceptable",
				sip.NewHeader("Warning", `399 anyphone "Accept does not allow application/sdp"`))
		}
	}
	return nil
}

// mediaTypeIs compares a Content-Type value with type/subtype, ignoring
// parameters, case and white space.
func mediaTypeIs(v, want string) bool {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), want)
}

// acceptsSDP reports whether the request's Accept headers (if any) allow an
// application/sdp body. No Accept means application/sdp (RFC 3261 §20.1).
func acceptsSDP(req *sip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, r := range strings.Split(h.Value(), ",") {
			if i := strings.IndexByte(r, ';'); i >= 0 {
				r = r[:i]
			}
			switch strings.ToLower(strings.TrimSpace(r)) {
			case "application/sdp", "application/*", "*/*", "":
				return true
			}
		}
	}
	return false
}

// UnicastSource reports whether host:port is an address we may answer:
// not broadcast, multicast or unspecified (RFC 4475 §3.3.10).
func UnicastSource(src string) bool {
	host := src
	if h, _, err := net.SplitHostPort(src); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	return a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Conn screens datagrams before sipgo's UDP transport reads them.
type Conn struct {
	net.PacketConn
	allow  func(src string) bool // the source ACL; nil allows every source
	log    *slog.Logger
	parser *sip.Parser
	shed   *Shedder // load shedding (overload.go); nil when off
}

// NewConn puts the guard in front of pc. allow, if not nil, is the source
// ACL: an unparsable datagram from a source it refuses is dropped without
// an answer. Conn is read by one goroutine (sipgo's read loop); WriteTo is
// safe for concurrent use as pc's is.
func NewConn(pc net.PacketConn, allow func(src string) bool, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.Default()
	}
	return &Conn{PacketConn: pc, allow: allow, log: log, parser: sip.NewParser()}
}

// SetShedder turns on load shedding with s (NewShedder over the same
// socket). Call it before the first ReadFrom.
func (g *Conn) SetShedder(s *Shedder) { g.shed = s }

// Shedder returns the load shedder, nil when shedding is off.
func (g *Conn) Shedder() *Shedder { return g.shed }

// ReadFrom returns the next datagram sipgo may parse; the others are
// answered (or dropped) here.
func (g *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		var (
			n    int
			addr net.Addr
			err  error
		)
		if g.shed != nil {
			n, addr, err = g.shed.read(b)
		} else {
			n, addr, err = g.PacketConn.ReadFrom(b)
		}
		if err != nil {
			return n, addr, err
		}
		if g.shed != nil && g.shed.refuse(g, b[:n], addr) {
			continue
		}
		if n, ok := g.admit(b, n, addr); ok {
			return n, addr, nil
		}
	}
}

// WriteTo sends b to addr, a response with its Via values bracketed by
// bracketViaHosts first.
func (g *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if out, ok := bracketViaHosts(b); ok {
		if _, err := g.PacketConn.WriteTo(out, addr); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return g.PacketConn.WriteTo(b, addr)
}

// bracketViaHosts returns the response b with every IPv6 sent-by in its Via
// headers written as an IPv6 reference, and whether it changed any.
// sipgo v1.7.2 stores a Via host without its brackets and restores them only
// for addresses whose To4 is nil (sip.uriIP), so an IPv4-mapped sent-by
// (RFC 5118 §4.9: [::ffff:192.0.2.10]:19823) went back as
// ::ffff:192.0.2.10:19823, which no peer can split into host and port,
// where RFC 3261 §8.2.6.2 wants the request's own Via values.
func bracketViaHosts(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		return nil, false
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 || !bytes.Contains(b[:end], []byte("\nVia: ")) {
		return nil, false
	}
	var out []byte
	last := 0 // b[last:] not yet copied to out
	for i := 0; i < end; {
		nl := bytes.Index(b[i:end], []byte("\r\n"))
		if nl < 0 {
			nl = end - i
		}
		line := b[i : i+nl]
		if bytes.HasPrefix(line, []byte("Via: ")) {
			// Each value: SIP/2.0/transport sent-by[;params][, value...]
			for j := 0; ; {
				k := bytes.Index(line[j:], []byte("SIP/2.0/"))
				if k < 0 {
					break
				}
				sp := bytes.IndexByte(line[j+k:], ' ')
				if sp < 0 {
					break
				}
				from := j + k + sp + 1
				to := from + bytes.IndexAny(line[from:], ";, ")
				if to < from {
					to = len(line)
				}
				if fixed, ok := bracketSentBy(string(line[from:to])); ok {
					out = append(out, b[last:i+from]...)
					out = append(out, fixed...)
					last = i + to
				}
				j = to
			}
		}
		i += nl + 2
	}
	if out == nil {
		return nil, false
	}
	return append(out, b[last:]...), true
}

// bracketSentBy writes an unbracketed IPv6 host (with or without a port)
// as an IPv6 reference. An IPv4-mapped address ends in a dotted quad, so a
// port after it is told apart by its last colon.
func bracketSentBy(s string) (string, bool) {
	if strings.HasPrefix(s, "[") {
		return s, false
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
		return "[" + s + "]", true
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if a, err := netip.ParseAddr(s[:i]); err == nil && a.Is4In6() {
			if _, err := strconv.ParseUint(s[i+1:], 10, 16); err == nil {
				return "[" + s[:i] + "]" + s[i:], true
			}
		}
	}
	return s, false
}

// admit reports whether the datagram b[:n] goes on to sipgo, and its length
// then; if not, it has been answered when it deserves an answer.
func (g *Conn) admit(b []byte, n int, from net.Addr) (int, bool) {
	data := b[:n]
	if len(bytes.Trim(data, "\r\n\x00")) == 0 {
		return n, true // keep-alive: sipgo skips it
	}
	if wellFormed(data) {
		return n, true // sipgo parses it and there is nothing to fix (guardfast.go)
	}
	msg, err := g.parser.ParseSIP(data)
	if err == nil {
		req, ok := msg.(*sip.Request)
		if !ok {
			return n, true
		}
		if contactNeedsBrackets(req) && rawContactUnbracketed(data) {
			err = errContactAddrSpec
		} else {
			return g.rfc2543Compat(req, b, n), true
		}
	}
	rej := classifyUnparsable(data)
	src := from.String()
	if rej == nil || !UnicastSource(src) || (g.allow != nil && !g.allow(src)) {
		g.log.Info("dropped unparsable datagram", "peer", src, "err", err)
		return 0, false
	}
	res := statelessResponse(data, rej)
	if res == nil {
		g.log.Info("dropped unparsable datagram", "peer", src, "err", err)
		return 0, false
	}
	g.log.Info("unparsable request", "peer", src, "code", rej.Code, "err", err)
	_, _ = g.PacketConn.WriteTo(res, from)
	return 0, false
}

// rfc2543Compat lets sipgo and diago serve an RFC 2543 request (RFC 4475
// §3.4.1, §3.1.1.1). Without a z9hG4bK branch sipgo keys the transaction on
// the From tag and diago needs it for the dialog; such a request need not
// have one, or has it with LWS around '=' and ';' (legal, RFC 3261 §25.1),
// which sipgo does not read. For such a request the datagram in b is
// rewritten: LWS leaves the parameters of From and To, a From without a tag
// gets one derived from the request (Call-ID, CSeq number, From URI, top Via
// sent-by; stable across retransmissions and the ACK), and an INVITE
// without Contact gets the From URI (RFC 2543's default remote target). It
// returns the new length (n when nothing changed).
func (g *Conn) rfc2543Compat(req *sip.Request, b []byte, n int) int {
	via := req.Via()
	if via == nil || req.CSeq() == nil || req.CallID() == nil || req.From() == nil {
		return n // sipgo answers 400: a required header is missing
	}
	if br, ok := via.Params.Get("branch"); ok && strings.HasPrefix(br, sip.RFC3261BranchMagicCookie) && len(br) > len(sip.RFC3261BranchMagicCookie) {
		return n // RFC 3261
	}
	head, body, ok := bytes.Cut(b[:n], []byte("\r\n\r\n"))
	if !ok {
		return n
	}
	var out bytes.Buffer
	hasTag := false
	for k, h := range headerFields(head) {
		if k == 0 {
			out.Write(h)
			out.WriteString("\r\n")
			if req.IsInvite() && req.Contact() == nil {
				fmt.Fprintf(&out, "Contact: <%s>\r\n", req.From().Address.String())
			}
			continue
		}
		name, val, _ := bytes.Cut(h, []byte(":"))
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "from", "f":
			val = tightParams(val)
			hasTag = hasTag || bytes.Contains(val, []byte(";tag="))
			h = append([]byte("From: "), val...)
			if !hasTag {
				hh := fnv.New64a()
				fmt.Fprintf(hh, "%s|%d|%s|%s:%d", req.CallID().Value(), req.CSeq().SeqNo, req.From().Address.String(), via.Host, via.Port)
				h = fmt.Appendf(h, ";tag=2543-%x", hh.Sum64())
				hasTag = true
			}
		case "to", "t":
			h = append([]byte("To: "), tightParams(val)...)
		}
		out.Write(h)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body)
	if out.Len() > len(b) {
		return n
	}
	if _, err := g.parser.ParseSIP(out.Bytes()); err != nil {
		return n
	}
	return copy(b, out.Bytes())
}

// headerFields splits a header section into its start line and header
// fields, each with folded continuation lines joined by one space.
func headerFields(head []byte) [][]byte {
	var fields [][]byte
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(fields) > 1 && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			last := fields[len(fields)-1]
			fields[len(fields)-1] = append(append(last, ' '), bytes.TrimLeft(line, " \t")...)
			continue
		}
		fields = append(fields, append([]byte(nil), line...))
	}
	return fields
}

// tightParams removes white space from the URI and parameters of a From or
// To value (after the '>' of a name-addr, everywhere in an addr-spec, which
// cannot hold any), keeping quoted strings intact.
func tightParams(val []byte) []byte {
	val = bytes.TrimSpace(val)
	start := 0
	if i := bytes.LastIndexByte(val, '>'); i >= 0 {
		start = i + 1
	}
	out := append([]byte(nil), val[:start]...)
	quoted := false
	for _, c := range val[start:] {
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && (c == ' ' || c == '\t') {
			continue
		}
		out = append(out, c)
	}
	return out
}

var errContactAddrSpec = errors.New("phone: contact with uri headers outside <>")

// contactNeedsBrackets reports whether a parsed Contact carries URI headers,
// which are legal only inside <> (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
func contactNeedsBrackets(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok && c.Address.Headers.Length() > 0 {
			return true
		}
	}
	return false
}

// rawContactUnbracketed reports whether a Contact header line of the raw
// message holds a '?' without any '<'.
func rawContactUnbracketed(data []byte) bool {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\n")) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		n := strings.ToLower(string(bytes.TrimSpace(name)))
		if (n == "contact" || n == "m") && bytes.IndexByte(val, '?') >= 0 && bytes.IndexByte(val, '<') < 0 {
			return true
		}
	}
	return false
}

// classifyUnparsable decides the answer to a datagram sipgo cannot parse:
// nil (drop) for responses, ACKs and anything that is not a request line.
func classifyUnparsable(data []byte) *Rejection {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if bytes.HasPrefix(line, []byte("SIP/")) {
		return nil // a response: never answered
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return nil // not a request line: garbage is dropped
	}
	if string(line[:sp]) == "ACK" {
		return nil
	}
	fields := strings.Fields(string(line[sp:]))
	if len(fields) > 0 {
		if v := fields[len(fields)-1]; strings.HasPrefix(v, "SIP/") && v != "SIP/2.0" {
			return reject(505, "Version Not Supported")
		}
		if scheme, _, ok := strings.Cut(fields[0], ":"); ok && isScheme(scheme) {
			switch strings.ToLower(scheme) {
			case "sip", "sips", "tel":
			default:
				return reject(416, "Unsupported URI Scheme")
			}
		}
	}
	return reject(400, "Bad Request")
}

// isToken reports whether b is a non-empty RFC 3261 token.
func isToken(b []byte) bool { return vocab.IsToken(b) }

// isScheme reports whether s is an RFC 3986 scheme.
func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// maxCopiedLines bounds what a stateless answer copies from a request.
const maxCopiedLines = 16

// statelessResponse builds the answer to a request sipgo cannot parse from
// its raw Via, From, To, Call-ID and CSeq lines (RFC 3261 §8.2.6.2); nil when
// the request has no Via (nothing to answer to).
func statelessResponse(data []byte, rej *Rejection) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\n"))
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", rej.Code, rej.Reason)
	copied, vias := 0, 0
	for _, line := range lines[1:] {
		line = bytes.TrimRight(line, "\r")
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(line) > 1024 || copied >= maxCopiedLines {
			continue
		}
		isTo := false
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "via", "v":
			vias++
		case "to", "t":
			isTo = true
		case "from", "f", "call-id", "i", "cseq":
		default:
			continue
		}
		b.Write(line)
		if isTo && rej.ToTag != "" && !bytes.Contains(line, []byte(";tag=")) {
			b.WriteString(";tag=" + rej.ToTag)
		}
		b.WriteString("\r\n")
		copied++
	}
	if vias == 0 {
		return nil
	}
	for _, h := range rej.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name(), h.Value())
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}
