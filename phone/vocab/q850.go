package vocab

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is the one Q.850 ↔ SIP table of the project. It is used to show
// why a call failed, to build the Reason headers we send (RFC 3326, and in
// responses RFC 6432) and to fill the journal's Q.850 column.

// Q.850 cause values used by name elsewhere in the project.
const (
	Q850UnallocatedNumber  = 1
	Q850NormalClearing     = 16
	Q850UserBusy           = 17
	Q850NoUserResponding   = 18
	Q850NoAnswer           = 19
	Q850SubscriberAbsent   = 20
	Q850CallRejected       = 21
	Q850NormalUnspecified  = 31
	Q850TemporaryFailure   = 41
	Q850RecoveryOnTimer    = 102
	Q850InterworkingUnspec = 127
	Q850MaxCause           = 127
)

// SIP causes a forking proxy puts in the Reason of a CANCEL (RFC 3326).
const (
	sipAnsweredElsewhere    = 200 // call completed elsewhere
	sipBusyEverywhereCancel = 600
	sipDeclinedElsewhere    = 603
)

// q850Names are the cause names of ITU-T Q.850 Table 1, in sentence case.
var q850Names = map[int]string{
	1:   "Unallocated number",
	2:   "No route to specified transit network",
	3:   "No route to destination",
	4:   "Send special information tone",
	5:   "Misdialled trunk prefix",
	6:   "Channel unacceptable",
	7:   "Call awarded and being delivered in an established channel",
	8:   "Preemption",
	9:   "Preemption, circuit reserved for reuse",
	14:  "Ported number",
	16:  "Normal call clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "No answer from user",
	20:  "Subscriber absent",
	21:  "Call rejected",
	22:  "Number changed",
	23:  "Redirection to new destination",
	25:  "Exchange routing error",
	26:  "Non-selected user clearing",
	27:  "Destination out of order",
	28:  "Invalid number format",
	29:  "Facility rejected",
	30:  "Response to status enquiry",
	31:  "Normal, unspecified",
	34:  "No circuit/channel available",
	38:  "Network out of order",
	39:  "Permanent frame mode connection out of service",
	40:  "Permanent frame mode connection operational",
	41:  "Temporary failure",
	42:  "Switching equipment congestion",
	43:  "Access information discarded",
	44:  "Requested circuit/channel not available",
	46:  "Precedence call blocked",
	47:  "Resource unavailable, unspecified",
	49:  "Quality of service not available",
	50:  "Requested facility not subscribed",
	53:  "Outgoing calls barred within CUG",
	55:  "Incoming calls barred within CUG",
	57:  "Bearer capability not authorized",
	58:  "Bearer capability not presently available",
	62:  "Inconsistency in outgoing access information and subscriber class",
	63:  "Service or option not available, unspecified",
	65:  "Bearer capability not implemented",
	66:  "Channel type not implemented",
	69:  "Requested facility not implemented",
	70:  "Only restricted digital information bearer capability is available",
	79:  "Service or option not implemented, unspecified",
	81:  "Invalid call reference value",
	82:  "Identified channel does not exist",
	83:  "A suspended call exists, but this call identity does not",
	84:  "Call identity in use",
	85:  "No call suspended",
	86:  "Call having the requested call identity has been cleared",
	87:  "User not member of CUG",
	88:  "Incompatible destination",
	90:  "Non-existent CUG",
	91:  "Invalid transit network selection",
	95:  "Invalid message, unspecified",
	96:  "Mandatory information element is missing",
	97:  "Message type non-existent or not implemented",
	98:  "Message not compatible with call state or message type non-existent or not implemented",
	99:  "Information element or parameter non-existent or not implemented",
	100: "Invalid information element contents",
	101: "Message not compatible with call state",
	102: "Recovery on timer expiry",
	103: "Parameter non-existent or not implemented, passed on",
	110: "Message with unrecognized parameter, discarded",
	111: "Protocol error, unspecified",
	127: "Interworking, unspecified",
}

// causeToSIP is RFC 3398 §7.2.4.1 (ISUP cause → SIP response). Cause 16
// (normal clearing) has no response: it ends a call with BYE or CANCEL.
var causeToSIP = map[int]int{
	1:   404,
	2:   404,
	3:   404,
	17:  486,
	18:  408,
	19:  480,
	20:  480,
	21:  403, // (+) 603 when the cause location is the user: see SIPForQ850AtUser
	22:  410,
	23:  410,
	26:  404,
	27:  502,
	28:  484,
	29:  510,
	31:  480,
	34:  503,
	38:  503,
	41:  503,
	42:  503,
	47:  503,
	55:  403,
	57:  403,
	58:  503,
	65:  488,
	70:  488,
	79:  501,
	87:  403,
	88:  503,
	102: 504,
	111: 500,
	127: 500,
}

// sipToCause is RFC 3398 §8.2.6.1 (SIP response → ISUP cause). 487 has no
// mapping; 488 and 606 map "by Warning header" and so have none here either.
var sipToCause = map[int]int{
	400: 41,
	401: 21,
	402: 21,
	403: 21,
	404: 1,
	405: 63,
	406: 79,
	407: 21,
	408: 102,
	410: 22,
	413: 127,
	414: 127,
	415: 79,
	416: 127,
	420: 127,
	421: 127,
	423: 127,
	480: 18,
	481: 41,
	482: 25,
	483: 25,
	484: 28,
	485: 1,
	486: 17,
	500: 41,
	501: 79,
	502: 38,
	503: 41,
	504: 102,
	505: 127,
	513: 127,
	600: 17,
	603: 21,
	604: 1,
}

// sipPhrases are the RFC 3261 §21 reason phrases (plus the later codes we
// send or show).
var sipPhrases = map[int]string{
	180: "Ringing",
	181: "Call Is Being Forwarded",
	182: "Queued",
	183: "Session Progress",
	200: "OK",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Moved Temporarily",
	305: "Use Proxy",
	380: "Alternative Service",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	410: "Gone",
	413: "Request Entity Too Large",
	414: "Request-URI Too Long",
	415: "Unsupported Media Type",
	416: "Unsupported URI Scheme",
	420: "Bad Extension",
	421: "Extension Required",
	423: "Interval Too Brief",
	480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist",
	482: "Loop Detected",
	483: "Too Many Hops",
	484: "Address Incomplete",
	485: "Ambiguous",
	486: "Busy Here",
	487: "Request Terminated",
	488: "Not Acceptable Here",
	491: "Request Pending",
	493: "Undecipherable",
	500: "Server Internal Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Server Time-out",
	505: "Version Not Supported",
	510: "Not Implemented",
	513: "Message Too Large",
	600: "Busy Everywhere",
	603: "Decline",
	604: "Does Not Exist Anywhere",
	606: "Not Acceptable",
}

// SIPPhrase returns the standard reason phrase of a SIP status code, or ""
// for a code it does not know.
func SIPPhrase(code int) string { return sipPhrases[code] }

// Q850Text returns the Q.850 name of cause ("User busy"), or "cause N" for a
// value Q.850 does not define, or "" for 0 (no cause).
func Q850Text(cause int) string {
	if cause == 0 {
		return ""
	}
	if s, ok := q850Names[cause]; ok {
		return s
	}
	return "cause " + strconv.Itoa(cause)
}

// Q850ForSIP maps a final SIP status to a Q.850 cause by RFC 3398 §8.2.6.1:
// 486 → 17, 480 → 18, 603 → 21, 404 → 1, 503 → 41, 408 → 102. It returns 0
// when the RFC gives no mapping (2xx, 3xx, 487, 488, 606, unknown codes).
func Q850ForSIP(code int) int { return sipToCause[code] }

// SIPForQ850 maps a Q.850 cause to a SIP final response by RFC 3398
// §7.2.4.1: 17 → 486, 18 → 408, 19 → 480, 21 → 403, 1 → 404, 34/41 → 503,
// 102 → 504. A cause the table does not list falls back on its Q.850 class
// (normal event → 480, resource unavailable → 503, service not available →
// 503, not implemented → 501, invalid message → 400, protocol error and
// interworking → 500). Cause 16 (normal clearing) and values outside 1..127
// return 0: they are not a failure response.
func SIPForQ850(cause int) (code int, phrase string) {
	if cause <= 0 || cause > Q850MaxCause || cause == Q850NormalClearing {
		return 0, ""
	}
	code, ok := causeToSIP[cause]
	if !ok {
		switch {
		case cause < 32:
			code = 480
		case cause < 64:
			code = 503
		case cause < 80:
			code = 501
		case cause < 96:
			code = 400
		default:
			code = 500
		}
	}
	return code, SIPPhrase(code)
}

// SIPForQ850AtUser is SIPForQ850 for a cause whose location is the user
// itself: RFC 3398 §7.2.4.1 footnote (+) says a 6xx fits better then, so 21
// (call rejected) becomes 603 Decline.
func SIPForQ850AtUser(cause int) (code int, phrase string) {
	if cause == Q850CallRejected {
		return 603, SIPPhrase(603)
	}
	return SIPForQ850(cause)
}

// Reason protocols of RFC 3326.
const (
	ReasonSIP  = "SIP"
	ReasonQ850 = "Q.850"
)

// ReasonHeader is one reason-value of a Reason header (RFC 3326 §2):
// protocol, cause and optional text. Unknown extension parameters are
// dropped.
type ReasonHeader struct {
	Protocol string // "SIP" or "Q.850" (other tokens are kept as sent)
	Cause    int    // SIP status code or Q.850 cause; 0 if absent
	Text     string // the text parameter, unquoted
}

// ReasonForSIP builds the Reason we send with a final response (RFC 6432):
// the Q.850 cause RFC 3398 gives for code with its Q.850 name as text. It
// returns false when the code has no Q.850 mapping.
func ReasonForSIP(code int) (ReasonHeader, bool) {
	c := Q850ForSIP(code)
	if c == 0 {
		return ReasonHeader{}, false
	}
	return ReasonHeader{Protocol: ReasonQ850, Cause: c, Text: Q850Text(c)}, true
}

// String formats r as a header value: Q.850;cause=17;text="User busy".
func (r ReasonHeader) String() string {
	var b strings.Builder
	b.WriteString(r.Protocol)
	if r.Cause != 0 {
		fmt.Fprintf(&b, ";cause=%d", r.Cause)
	}
	if r.Text != "" {
		b.WriteString(";text=")
		b.WriteString(quoteString(r.Text))
	}
	return b.String()
}

// Describe is a line for people: "User busy (Q.850 17)", "SIP 200 Call
// completed elsewhere".
func (r ReasonHeader) Describe() string {
	text := r.Text
	switch r.Protocol {
	case ReasonQ850:
		if text == "" {
			text = Q850Text(r.Cause)
		}
		return fmt.Sprintf("%s (Q.850 %d)", text, r.Cause)
	case ReasonSIP:
		if text == "" {
			text = SIPPhrase(r.Cause)
		}
		return strings.TrimSpace(fmt.Sprintf("SIP %d %s", r.Cause, text))
	default:
		return strings.TrimSpace(fmt.Sprintf("%s %d %s", r.Protocol, r.Cause, text))
	}
}

// ReasonSyntaxError reports a Reason header value that does not parse.
type ReasonSyntaxError struct {
	Value string // the offending reason-value
	Msg   string // what is wrong
}

func (e *ReasonSyntaxError) Error() string {
	return fmt.Sprintf("phone: bad Reason %q: %s", e.Value, e.Msg)
}

// ParseReason parses one reason-value (RFC 3326 §2), e.g.
// `Q.850;cause=16;text="Terminated"`. Protocol names compare
// case-insensitively and come back as "SIP" or "Q.850". A missing cause is
// allowed (0); a cause that is not a number is a *ReasonSyntaxError.
func ParseReason(value string) (ReasonHeader, error) {
	value = strings.TrimSpace(value)
	parts := splitOutsideQuotes(value, ';')
	proto := strings.TrimSpace(parts[0])
	if !IsToken([]byte(proto)) {
		// RFC 3326: protocol is a token. Anything else (a CR, a quote)
		// must never be echoed into a header we send.
		return ReasonHeader{}, &ReasonSyntaxError{Value: value, Msg: "protocol is not a token"}
	}
	r := ReasonHeader{Protocol: proto}
	switch {
	case strings.EqualFold(proto, ReasonSIP):
		r.Protocol = ReasonSIP
	case strings.EqualFold(proto, ReasonQ850):
		r.Protocol = ReasonQ850
	}
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		switch name {
		case "cause":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 999 {
				return ReasonHeader{}, &ReasonSyntaxError{Value: value, Msg: "cause is not a number"}
			}
			r.Cause = n
		case "text":
			r.Text = unquoteString(val)
		}
	}
	return r, nil
}

// ParseReasons parses a Reason header value that may hold several
// comma-separated reason-values (RFC 3326 allows one per protocol), e.g.
// `SIP;cause=200;text="Call completed elsewhere", Q.850;cause=16`. It returns
// the values that parse and the first error, if any.
func ParseReasons(value string) ([]ReasonHeader, error) {
	var (
		out      []ReasonHeader
		firstErr error
	)
	for _, v := range splitOutsideQuotes(value, ',') {
		if strings.TrimSpace(v) == "" {
			continue
		}
		r, err := ParseReason(v)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, r)
	}
	return out, firstErr
}

// FindReason returns the first reason with the given protocol among the
// values of one or more Reason headers; unparsable values are skipped.
func FindReason(values []string, protocol string) (ReasonHeader, bool) {
	for _, v := range values {
		rs, _ := ParseReasons(v)
		for _, r := range rs {
			if strings.EqualFold(r.Protocol, protocol) {
				return r, true
			}
		}
	}
	return ReasonHeader{}, false
}

// CancelEndCause says why a CANCEL ended an unanswered incoming call, from
// the CANCEL's Reason header values (RFC 3326):
//   - SIP;cause=200, with or without text: answered elsewhere (a forking
//     proxy cancels the other branches, RFC 3261 §16.7 item 10);
//   - SIP;cause=600 or 603: declined elsewhere, EndRejected;
//   - anything else, including no Reason at all: the caller gave up.
func CancelEndCause(reasonValues []string) EndCause {
	if r, ok := FindReason(reasonValues, ReasonSIP); ok {
		switch r.Cause {
		case sipAnsweredElsewhere:
			return EndAnsweredElsewhere
		case sipBusyEverywhereCancel, sipDeclinedElsewhere:
			return EndRejected
		}
	}
	return EndCallerCancelled
}

// splitOutsideQuotes splits s at sep where sep is outside double quotes and
// outside <...>. It always returns at least one element. A backslash inside
// quotes escapes the next byte (RFC 3261 quoted-pair).
func splitOutsideQuotes(s string, sep byte) []string {
	var (
		out     []string
		inQuote bool
		angle   int
		start   int
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == sep && angle == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquoteString removes the quotes and quoted-pair escapes of an RFC 3261
// quoted-string; a token comes back unchanged. An unterminated quote is
// tolerated.
func unquoteString(s string) string {
	if len(s) == 0 || s[0] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quoteString makes an RFC 3261 quoted-string of s.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}
