package sipguard

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/emiago/sipgo/sip"
)

// The guard's fast path. Conn parses every datagram to learn whether
// sipgo will (sipgo drops what it cannot parse without a word), and sipgo
// then parses it again: under load (make bench) the guard's parse was a
// tenth of the endpoint's allocations. wellFormed recognises, without
// allocating, the plain messages every user agent sends (printable ASCII,
// sip: URIs with a host name or IPv4 address, one value per Via, Contact
// and Route line, a top Via with an RFC 3261 branch) in a grammar strictly
// narrower than sipgo's parser, so that what it accepts sipgo parses, and
// the guard has nothing to add (no URI headers in a Contact, no RFC 2543
// transaction). Everything else takes the full parse as before.
// FuzzGuardFastPath checks the claim against sipgo's parser.

// Kinds of header value sipgo parses (sip.DefaultHeadersParser), with the
// grammar wellFormed accepts for each.
const (
	hdrGeneric       = iota // no parser in sipgo: never fails
	hdrUnknown              // parsed by sipgo, no grammar here: full parse
	hdrVia                  // SIP/2.0/TRANSPORT host[:port];params
	hdrAddress              // From, To, Contact, Referred-By: name-addr or addr-spec
	hdrRoute                // Route, Record-Route, Refer-To: <URI>;params
	hdrCallID               // non-empty
	hdrCSeq                 // digits SP METHOD
	hdrNumber               // Max-Forwards: 1 to 5 digits
	hdrContentType          // non-empty
	hdrContentLength        // Content-Length: 1 to 5 digits, at most the body
)

// fastHeaderKinds maps the lower-case names sipgo parses to their kind;
// names sipgo parses that are not listed here become hdrUnknown, so a newer
// sipgo with more parsers only makes the fast path rarer.
var fastHeaderKinds, fastHeaderMaxName = func() (map[string]int, int) {
	known := map[string]int{
		"via": hdrVia, "v": hdrVia,
		"from": hdrAddress, "f": hdrAddress, "to": hdrAddress, "t": hdrAddress,
		"contact": hdrAddress, "m": hdrAddress, "referred-by": hdrAddress,
		"route": hdrRoute, "record-route": hdrRoute, "refer-to": hdrRoute,
		"call-id": hdrCallID, "i": hdrCallID,
		"cseq":         hdrCSeq,
		"max-forwards": hdrNumber,
		"content-type": hdrContentType, "c": hdrContentType,
		"content-length": hdrContentLength, "l": hdrContentLength,
	}
	kinds := map[string]int{}
	longest := 0
	for name := range sip.DefaultHeadersParser() {
		k, ok := known[name]
		if !ok {
			k = hdrUnknown
		}
		kinds[name] = k
		longest = max(longest, len(name))
	}
	return kinds, longest
}()

var crlf2 = []byte("\r\n\r\n")

// wellFormed reports whether sipgo's parser certainly accepts data and the
// guard would pass it on unchanged; false means "parse it to find out".
func wellFormed(data []byte) bool {
	if len(data) > sip.ParseMaxMessageLength {
		return false
	}
	head, body, ok := bytes.Cut(data, crlf2)
	if !ok {
		return false
	}
	for _, c := range head {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	// A string view of the header section, without copying it: wellFormed
	// only compares and slices, and keeps nothing once it returns (the
	// buffer is sipgo's, reused for the next datagram).
	h := unsafe.String(unsafe.SliceData(head), len(head))
	start, rest, _ := strings.Cut(h, "\r\n")
	if strings.ContainsAny(start, "\r\n") || !fastStartLine(start) {
		return false
	}
	request := !strings.HasPrefix(start, "SIP/")
	contentLength, lengths, topVia := -1, 0, false
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" || line[0] == ' ' || line[0] == '\t' || strings.ContainsAny(line, "\r\n") {
			return false // folded or bare CR/LF: the full parse knows
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = trimSPHT(name), trimSPHT(value)
		if !ok || !tokenString(name) {
			return false
		}
		kind := hdrGeneric
		if len(name) <= fastHeaderMaxName {
			var buf [32]byte
			kind = fastHeaderKinds[string(asciiLower(buf[:0], name))]
		}
		switch kind {
		case hdrGeneric:
			continue
		case hdrVia:
			if !fastVia(value, !topVia && request) {
				return false
			}
			topVia = true
		case hdrAddress:
			if !fastAddress(value) {
				return false
			}
		case hdrRoute:
			if !fastRoute(value) {
				return false
			}
		case hdrCallID, hdrContentType:
			if value == "" {
				return false
			}
		case hdrCSeq:
			if !fastCSeq(value) {
				return false
			}
		case hdrNumber:
			if _, ok := fastDigits(value, 5); !ok {
				return false
			}
		case hdrContentLength:
			n, ok := fastDigits(value, 5)
			if !ok {
				return false
			}
			contentLength, lengths = n, lengths+1
		default:
			return false
		}
	}
	if request && !topVia {
		return false // no Via: validation answers it, after the full parse
	}
	if lengths > 1 {
		return false
	}
	if contentLength >= 0 && (contentLength > len(body) || contentLength > sip.ParseMaxMessageLength-(len(head)+len(crlf2))) {
		return false
	}
	return true
}

// fastStartLine accepts "METHOD sip:URI SIP/2.0" and "SIP/2.0 NNN reason"
// where sipgo would read the same (a reason starting "SIP" without a space
// makes sipgo take the line for a request).
func fastStartLine(s string) bool {
	if reason, ok := strings.CutPrefix(s, "SIP/2.0 "); ok {
		code, reason, ok := strings.Cut(reason, " ")
		if !ok || len(code) != 3 || code[0] < '1' || code[0] > '6' {
			return false
		}
		if _, ok := fastDigits(code, 3); !ok {
			return false
		}
		if len(reason) >= 3 && !strings.Contains(reason, " ") && strings.EqualFold(reason[:3], "sip") {
			return false
		}
		return true
	}
	method, rest, ok := strings.Cut(s, " ")
	if !ok || method == "" {
		return false
	}
	for i := 0; i < len(method); i++ {
		if method[i] < 'A' || method[i] > 'Z' {
			return false
		}
	}
	uri, version, ok := strings.Cut(rest, " ")
	return ok && version == "SIP/2.0" && fastURI(uri)
}

// fastURI accepts sip:[user@]host[:port]*(;param): host a name or IPv4
// address, no IPv6, no '?' headers, no characters sipgo's URI states
// treat specially outside their place.
func fastURI(s string) bool {
	rest, ok := strings.CutPrefix(s, "sip:")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "sips:"); !ok {
			return false
		}
	}
	if user, host, ok := strings.Cut(rest, "@"); ok {
		if user == "" {
			return false
		}
		for i := 0; i < len(user); i++ {
			if !isAlnum(user[i]) && strings.IndexByte("-_.!~*'()&=+$%", user[i]) < 0 {
				return false
			}
		}
		rest = host
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if !fastHostPort(hostport) {
		return false
	}
	for i := 0; i < len(params); i++ {
		if !isAlnum(params[i]) && strings.IndexByte("-_.!~*'()%=+$/:;&", params[i]) < 0 {
			return false
		}
	}
	return true
}

// fastHostPort accepts a host name or IPv4 address with an optional port.
func fastHostPort(s string) bool {
	host, port, hasPort := strings.Cut(s, ":")
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if !isAlnum(host[i]) && host[i] != '.' && host[i] != '-' {
			return false
		}
	}
	if hasPort {
		_, ok := fastDigits(port, 5)
		return ok
	}
	return true
}

// fastVia accepts one Via value: SIP/2.0/TRANSPORT SP host[:port]*(;param).
// For the top Via of a request the branch must be RFC 3261's, as
// rfc2543Compat asks.
func fastVia(v string, top bool) bool {
	rest, ok := strings.CutPrefix(v, "SIP/2.0/")
	if !ok {
		return false
	}
	transport, rest, ok := strings.Cut(rest, " ")
	if !ok || transport == "" {
		return false
	}
	for i := 0; i < len(transport); i++ {
		if !isAlnum(transport[i]) {
			return false
		}
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if !fastHostPort(hostport) {
		return false
	}
	branches := 0
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		key, val, _ := strings.Cut(p, "=")
		if !tokenString(key) {
			return false
		}
		for i := 0; i < len(val); i++ {
			if !isAlnum(val[i]) && strings.IndexByte("-_.!~*'()%+:", val[i]) < 0 {
				return false
			}
		}
		if key == "branch" {
			branches++
			if top && !(strings.HasPrefix(val, sip.RFC3261BranchMagicCookie) && len(val) > len(sip.RFC3261BranchMagicCookie)) {
				return false
			}
		}
	}
	return !top || branches == 1
}

// fastAddress accepts a From, To, Contact or Referred-By value:
// ["display"|display] <URI>;params, or URI;params.
func fastAddress(v string) bool {
	if v == "" || strings.ContainsAny(v, ",\\") {
		return false
	}
	if v[0] == '"' {
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return false
		}
		v = trimSPHT(v[end+2:])
		if v == "" || v[0] != '<' {
			return false
		}
		return fastBracketed(v)
	}
	i := strings.IndexAny(v, "\"<;")
	switch {
	case i < 0:
		return fastURI(v)
	case v[i] == '<':
		return fastBracketed(v[i:])
	case v[i] == ';':
		return fastURI(v[:i]) && !strings.Contains(v[i:], "\"")
	}
	return false
}

// fastRoute accepts a Route, Record-Route or Refer-To value: <URI>;params.
func fastRoute(v string) bool {
	if v == "" || v[0] != '<' || strings.ContainsAny(v, ",\"") {
		return false
	}
	return fastBracketed(v)
}

// fastBracketed accepts <URI> followed by header parameters.
func fastBracketed(v string) bool {
	end := strings.IndexByte(v, '>')
	return end > 0 && fastURI(v[1:end])
}

// fastCSeq accepts "NUMBER METHOD" with NUMBER at most 2**31-1.
func fastCSeq(v string) bool {
	num, method, ok := strings.Cut(v, " ")
	if !ok || method == "" {
		return false
	}
	if n, ok := fastDigits(num, 10); !ok || n > 2147483647 {
		return false
	}
	for i := 0; i < len(method); i++ {
		if method[i] < 'A' || method[i] > 'Z' {
			return false
		}
	}
	return true
}

// fastDigits parses 1 to maxLen decimal digits.
func fastDigits(s string, maxLen int) (int, bool) {
	if s == "" || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// tokenString is isToken for a string.
func tokenString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && strings.IndexByte("-.!%*_+`'~", s[i]) < 0 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func trimSPHT(s string) string { return strings.Trim(s, " \t") }

// asciiLower appends s in ASCII lower case to dst.
func asciiLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
