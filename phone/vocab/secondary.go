package vocab

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// This file tells primary calls from secondary ones: a call that reaches us
// because someone else was called (team call, delegate, forwarding, response
// group, transfer). The caller's INVITE says so in History-Info (RFC 7044,
// with Microsoft's ms-retarget-reason), Diversion (RFC 5806) or Referred-By
// (RFC 3892). Secondary calls are never "missed calls" and have their own
// busy policy.

// SecondaryKind says why a secondary call reached us. The zero value means a
// primary call: we were the party the caller called.
type SecondaryKind int

const (
	SecondaryNone          SecondaryKind = iota // a primary call
	SecondaryTeamCall                           // we ring as a member of someone's team (ms-retarget-reason=team-call)
	SecondaryDelegate                           // we ring as someone's delegate (ms-retarget-reason=delegation)
	SecondaryForwarded                          // someone's calls are forwarded to us (forwarding, Diversion, RFC 7044 mp)
	SecondaryResponseGroup                      // we ring as an agent of a response group (ms-retarget-reason=acd)
	SecondaryTransfer                           // someone transferred the call to us (Referred-By only)
	SecondaryOther                              // retargeted for a reason we do not know; Secondary.Text has it
	// SecondaryForked: another identity's call rings us as one of its
	// contacts (RFC 7044 rc under an entry for another user): a follow-me
	// or simultaneous-ring leg of an AnyDevice controller or a forking
	// proxy. The call is that identity's; whoever serves it journals it.
	SecondaryForked
)

var secondaryKindNames = [...]string{
	SecondaryNone:          "none",
	SecondaryTeamCall:      "team-call",
	SecondaryDelegate:      "delegate",
	SecondaryForwarded:     "forwarded",
	SecondaryResponseGroup: "response-group",
	SecondaryTransfer:      "transfer",
	SecondaryOther:         "other",
	SecondaryForked:        "forked",
}

func (k SecondaryKind) String() string {
	if k >= 0 && int(k) < len(secondaryKindNames) {
		return secondaryKindNames[k]
	}
	return fmt.Sprintf("SecondaryKind(%d)", int(k))
}

// MarshalText makes kinds readable in JSON events and the journal.
func (k SecondaryKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses the names String returns; "" means SecondaryNone.
func (k *SecondaryKind) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = SecondaryNone
		return nil
	}
	for i, n := range secondaryKindNames {
		if n == string(b) {
			*k = SecondaryKind(i)
			return nil
		}
	}
	return fmt.Errorf("phone: unknown secondary kind %q", b)
}

// Secondary describes why a call reached us when we were not the party the
// caller called. Its zero value is a primary call.
type Secondary struct {
	Kind SecondaryKind `json:"kind"`
	// For is the party on whose behalf the call rings here: the team member,
	// the person we are a delegate of, the forwarding party, the response
	// group. Empty for a transfer.
	For Party `json:"for,omitzero"`
	// By is who sent the call on, from Referred-By (RFC 3892), when the
	// INVITE carries one (the transferor for a transfer).
	By Party `json:"by,omitzero"`
	// Cause is the SIP cause of the retargeting (RFC 4458 values: 302
	// unconditional, 486 busy, 408 no answer, 480 unavailable, 404, 487), 0
	// if none was given.
	Cause int `json:"cause,omitempty"`
	// Text is the reason as sent: a Reason text, the ms-retarget-reason
	// value or the Diversion reason ("user-busy").
	Text string `json:"text,omitempty"`
}

// IsSecondary reports whether the call is a secondary call.
func (s Secondary) IsSecondary() bool { return s.Kind != SecondaryNone }

// Describe is a line for people saying why the call arrives: "team call for
// Alice", "forwarded from +49 30 1234 (busy)", "transferred by Bob". It is
// "" for a primary call.
func (s Secondary) Describe() string {
	forName := partyName(s.For)
	why := causeWords(s.Cause)
	switch s.Kind {
	case SecondaryNone:
		return ""
	case SecondaryTeamCall:
		return "team call for " + orSomeone(forName)
	case SecondaryDelegate:
		return "delegated call for " + orSomeone(forName)
	case SecondaryResponseGroup:
		return "response group " + orSomeone(forName)
	case SecondaryForwarded:
		line := "forwarded from " + orSomeone(forName)
		if why != "" {
			line += " (" + why + ")"
		}
		return line
	case SecondaryTransfer:
		return "transferred by " + orSomeone(partyName(s.By))
	case SecondaryForked:
		return "rings for " + orSomeone(forName) + " on every device"
	default:
		line := "redirected"
		if s.Text != "" {
			line += " (" + s.Text + ")"
		}
		if forName != "" {
			line += " for " + forName
		}
		return line
	}
}

func orSomeone(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// partyName is the shortest useful name of p: display name, else the user
// part, else the URI.
func partyName(p Party) string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.User != "":
		return p.User
	default:
		return p.URI
	}
}

// causeWords names the RFC 4458 retarget causes briefly.
func causeWords(cause int) string {
	switch cause {
	case 486, 600:
		return "busy"
	case 408:
		return "no answer"
	case 480, 503:
		return "unavailable"
	case 404:
		return "not found"
	case 487:
		return "deflected"
	default:
		return ""
	}
}

// HistoryInfoEntry is one hi-entry of a History-Info header (RFC 7044 §9).
type HistoryInfoEntry struct {
	Target Party  // the hi-targeted-to-uri, without parameters and headers
	Index  string // hi-index, e.g. "1.1"
	// Reason is the Reason header embedded in the target URI ("?Reason=..."):
	// the response the target gave before the call moved on.
	Reason ReasonHeader
	// RC, MP and NP are the RFC 7044 §9 tags; each holds the index of the
	// entry this one was retargeted from. MP means a different user
	// (forwarding), RC the same user on another contact.
	RC, MP, NP string
	// Cause is the RFC 4458 "cause" URI parameter of the target, 0 if none.
	Cause int
	// RetargetReason is Microsoft's ms-retarget-reason (team-call,
	// delegation, forwarding, acd, ...), lower case.
	RetargetReason string
	// Params are all header parameters, names lower case, values unquoted.
	Params map[string]string
}

// DiversionEntry is one diversion of a Diversion header (RFC 5806 §4).
type DiversionEntry struct {
	Party   Party  // the diverting party
	Reason  string // unconditional, user-busy, no-answer, ... (lower case)
	Counter int    // diversions this entry stands for, 1 if absent
	Params  map[string]string
}

// ParseHistoryInfo parses the values of one or more History-Info headers
// into entries in the order they appear. An entry that does not parse is
// skipped; the first such problem is returned with the entries that did.
func ParseHistoryInfo(values []string) ([]HistoryInfoEntry, error) {
	var out []HistoryInfoEntry
	err := eachNameAddr(values, func(na nameAddr) {
		e := HistoryInfoEntry{
			Target:         na.party,
			Index:          na.params["index"],
			RC:             na.params["rc"],
			MP:             na.params["mp"],
			NP:             na.params["np"],
			RetargetReason: strings.ToLower(na.params["ms-retarget-reason"]),
			Params:         na.params,
		}
		if c, err := strconv.Atoi(na.uriParams["cause"]); err == nil {
			e.Cause = c
		}
		if rv := embeddedReason(na.uriHeaders); rv != "" {
			if r, err := ParseReason(rv); err == nil {
				e.Reason = r
			}
		}
		out = append(out, e)
	})
	return out, err
}

// embeddedReason returns the Reason header embedded in a URI's headers. It
// accepts the encoded form (Reason=SIP%3Bcause%3D302%3Btext%3D%22...%22) and
// the unencoded form Lync's response group sends
// (Reason=SIP&cause=302&text=Accepted), which splits into separate headers.
func embeddedReason(h map[string]string) string {
	var rv string
	for k, v := range h {
		if strings.EqualFold(k, "Reason") {
			rv = v
		}
	}
	if rv == "" || strings.Contains(rv, ";") {
		return rv
	}
	if c, ok := h["cause"]; ok {
		rv += ";cause=" + c
	}
	if t, ok := h["text"]; ok {
		rv += ";text=" + quoteString(t)
	}
	return rv
}

// ParseDiversion parses the values of one or more Diversion headers (RFC
// 5806). The first entry is the most recent diversion. Entries that do not
// parse are skipped; the first problem is returned.
func ParseDiversion(values []string) ([]DiversionEntry, error) {
	var out []DiversionEntry
	err := eachNameAddr(values, func(na nameAddr) {
		d := DiversionEntry{
			Party:   na.party,
			Reason:  strings.ToLower(na.params["reason"]),
			Counter: 1,
			Params:  na.params,
		}
		if n, err := strconv.Atoi(na.params["counter"]); err == nil && n > 0 {
			d.Counter = n
		}
		out = append(out, d)
	})
	return out, err
}

// eachNameAddr calls f for every comma-separated name-addr in the header
// values (commas inside quotes and <> do not split). Items that do not
// parse are skipped; the first such problem is returned.
func eachNameAddr(values []string, f func(nameAddr)) error {
	var firstErr error
	for _, v := range values {
		for _, item := range splitOutsideQuotes(v, ',') {
			if strings.TrimSpace(item) == "" {
				continue
			}
			na, err := parseNameAddr(item)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			f(na)
		}
	}
	return firstErr
}

// ParseNameAddr parses a name-addr or addr-spec with header parameters, as
// in From, To, Referred-By: `"Bob" <sip:bob@example.org;user=phone>;tag=1`.
// It returns the party and the header parameters (names lower case).
func ParseNameAddr(value string) (Party, map[string]string, error) {
	na, err := parseNameAddr(value)
	if err != nil {
		return Party{}, nil, err
	}
	return na.party, na.params, nil
}

// HeaderSyntaxError reports a header value that does not parse.
type HeaderSyntaxError struct {
	Value string
	Msg   string
}

func (e *HeaderSyntaxError) Error() string {
	return fmt.Sprintf("phone: bad header value %q: %s", e.Value, e.Msg)
}

type nameAddr struct {
	party      Party
	params     map[string]string // header parameters
	uriParams  map[string]string // URI parameters, names lower case
	uriHeaders map[string]string // URI headers (?a=b&c=d), unescaped
}

// parseNameAddr implements ParseNameAddr. Without angle brackets every ';'
// starts a header parameter (RFC 3261 §20.10).
func parseNameAddr(s string) (nameAddr, error) {
	s = strings.TrimSpace(s)
	var (
		na      nameAddr
		rawURI  string
		rest    string
		display string
	)
	if lt := indexOutsideQuotes(s, '<'); lt >= 0 {
		display = strings.TrimSpace(s[:lt])
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			return na, &HeaderSyntaxError{Value: s, Msg: "missing '>'"}
		}
		rawURI = strings.TrimSpace(s[lt+1 : lt+gt])
		rest = s[lt+gt+1:]
	} else {
		parts := splitOutsideQuotes(s, ';')
		rawURI = strings.TrimSpace(parts[0])
		rest = s[len(parts[0]):]
	}
	if rawURI == "" || !strings.Contains(rawURI, ":") {
		return na, &HeaderSyntaxError{Value: s, Msg: "no URI"}
	}
	na.party.DisplayName = strings.TrimSpace(unquoteString(display))
	na.party.URI, na.party.User, na.uriParams, na.uriHeaders = splitURI(rawURI)
	na.params = make(map[string]string)
	for _, p := range splitOutsideQuotes(rest, ';') {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		na.params[name] = unquoteString(strings.TrimSpace(val))
	}
	return na, nil
}

// indexOutsideQuotes is strings.IndexByte that skips quoted strings.
func indexOutsideQuotes(s string, c byte) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case inQuote && s[i] == '\\':
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case !inQuote && s[i] == c:
			return i
		}
	}
	return -1
}

// splitURI takes a SIP, SIPS or tel URI apart: the URI without parameters
// and headers (scheme lower case), the user part without its own
// parameters, the URI parameters and the unescaped URI headers.
func splitURI(raw string) (uri, user string, params, headers map[string]string) {
	params = make(map[string]string)
	headers = make(map[string]string)
	scheme, rest, _ := strings.Cut(raw, ":")
	scheme = strings.ToLower(strings.TrimSpace(scheme))
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		for _, h := range strings.Split(rest[q+1:], "&") {
			k, v, _ := strings.Cut(h, "=")
			if uk, err := url.PathUnescape(k); err == nil {
				k = uk
			}
			if uv, err := url.PathUnescape(v); err == nil {
				v = uv
			}
			if k != "" {
				headers[k] = v
			}
		}
		rest = rest[:q]
	}
	var userPart, hostPart string
	if scheme == "tel" {
		hostPart = rest
	} else if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userPart, hostPart = rest[:at], rest[at+1:]
	} else {
		hostPart = rest
	}
	hostParams := strings.Split(hostPart, ";")
	for _, p := range hostParams[1:] {
		k, v, _ := strings.Cut(p, "=")
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			params[k] = v
		}
	}
	if scheme == "tel" {
		user = hostParams[0]
		return scheme + ":" + user, user, params, headers
	}
	user, _, _ = strings.Cut(userPart, ";")
	if uu, err := url.PathUnescape(user); err == nil {
		user = uu
	}
	uri = scheme + ":"
	if userPart != "" {
		uri += userPart + "@"
	}
	uri += hostParams[0]
	return uri, user, params, headers
}

// SameAOR reports whether two URIs name the same address of record:
// sip and sips, case and parameters aside; a tel URI matches a SIP URI with
// the same global number as its user part.
func SameAOR(a, b string) bool {
	ka, kb := aorKey(a), aorKey(b)
	if ka == "" || kb == "" {
		return false
	}
	if ka == kb {
		return true
	}
	na, nb := numberKey(ka), numberKey(kb)
	return na != "" && na == nb
}

// sameUser reports whether two URIs name the same user (user parts equal,
// numbers compared as numbers), whatever their hosts: a registrar's
// contact of an AOR keeps its user part.
func sameUser(a, b string) bool {
	ka, kb := aorKey(a), aorKey(b)
	ua, _, _ := strings.Cut(ka, "@")
	ub, _, _ := strings.Cut(kb, "@")
	if ua == "" || ub == "" {
		return ka == kb
	}
	if ua == ub {
		return true
	}
	na, nb := numberKey(ua+"@x"), numberKey(ub+"@x")
	return na != "" && na == nb
}

func aorKey(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "<;?") {
		if na, err := parseNameAddr(s); err == nil {
			s = na.party.URI
		}
	}
	s = strings.ToLower(s)
	s = strings.TrimPrefix(s, "sips:")
	s = strings.TrimPrefix(s, "sip:")
	return s
}

// numberKey returns "+digits" when key (from aorKey) is a global number
// (tel:+49... or +49...@host).
func numberKey(key string) string {
	key = strings.TrimPrefix(key, "tel:")
	user, _, _ := strings.Cut(key, "@")
	if !strings.HasPrefix(user, "+") {
		return ""
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range user[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '.' || r == '(' || r == ')' || r == ' ':
		default:
			return ""
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return b.String()
}

// headerValues returns the values of header name from h, matching names
// case-insensitively and accepting the compact form.
func headerValues(h map[string][]string, name, compact string) []string {
	if v, ok := h[name]; ok {
		return v
	}
	var out []string
	for k, v := range h {
		if strings.EqualFold(k, name) || (compact != "" && strings.EqualFold(k, compact)) {
			out = append(out, v...)
		}
	}
	return out
}

// ClassifySecondary decides whether an incoming INVITE is a secondary call
// and why, from its raw header values keyed by header name ("History-Info",
// "Diversion", "Referred-By"; names match case-insensitively) and the AOR
// the call rang us on (our own address; "" if unknown). It never fails:
// headers that do not parse count as absent. The evidence is weighed in
// this order:
//
//  1. History-Info with ms-retarget-reason on an entry for someone else
//     (Lync/Skype for Business: team-call, delegation, forwarding, acd);
//  2. History-Info by RFC 7044: our entry is tagged mp (a different user was
//     called first), or an earlier entry names a different user and carries
//     a retargeting cause (RFC 4244 servers that do not tag);
//  3. Diversion (RFC 5806): the most recent diverting party other than us;
//  4. Referred-By alone (RFC 3892): a transfer.
//
// A retarget to our own AOR (our other devices, simultaneous ring) keeps the
// call primary.
func ClassifySecondary(headers map[string][]string, calledAOR string) Secondary {
	var by Party
	if rb := headerValues(headers, "Referred-By", "b"); len(rb) > 0 {
		if p, _, err := ParseNameAddr(rb[0]); err == nil {
			by = p
		}
	}
	hi, _ := ParseHistoryInfo(headerValues(headers, "History-Info", ""))
	if s, ok := classifyMicrosoft(hi, calledAOR); ok {
		s.By = by
		return s
	}
	if s, ok := classifyRFC7044(hi, calledAOR); ok {
		s.By = by
		return s
	}
	div, _ := ParseDiversion(headerValues(headers, "Diversion", ""))
	for _, d := range div {
		if calledAOR != "" && SameAOR(d.Party.URI, calledAOR) {
			continue
		}
		return Secondary{
			Kind:  SecondaryForwarded,
			For:   d.Party,
			By:    by,
			Cause: diversionCause(d.Reason),
			Text:  d.Reason,
		}
	}
	if by.URI != "" && (calledAOR == "" || !SameAOR(by.URI, calledAOR)) {
		return Secondary{Kind: SecondaryTransfer, By: by}
	}
	return Secondary{}
}

// classifyMicrosoft looks for the last entry with ms-retarget-reason that
// names someone other than us.
func classifyMicrosoft(hi []HistoryInfoEntry, calledAOR string) (Secondary, bool) {
	for i := len(hi) - 1; i >= 0; i-- {
		e := hi[i]
		if e.RetargetReason == "" || (calledAOR != "" && SameAOR(e.Target.URI, calledAOR)) {
			continue
		}
		s := Secondary{For: e.Target, Cause: e.Reason.Cause, Text: e.Reason.Text}
		switch e.RetargetReason {
		case "team-call":
			s.Kind = SecondaryTeamCall
		case "delegation":
			s.Kind = SecondaryDelegate
		case "forwarding":
			s.Kind = SecondaryForwarded
		case "acd":
			s.Kind = SecondaryResponseGroup
		default:
			s.Kind = SecondaryOther
			s.Text = e.RetargetReason
		}
		if s.Text == "" {
			s.Text = e.RetargetReason
		}
		return s, true
	}
	return Secondary{}, false
}

// classifyRFC7044 finds our entry (the last one when calledAOR is unknown
// or absent) and the entry it was retargeted from.
func classifyRFC7044(hi []HistoryInfoEntry, calledAOR string) (Secondary, bool) {
	if len(hi) < 2 {
		return Secondary{}, false
	}
	me := len(hi) - 1
	if calledAOR != "" {
		for i := len(hi) - 1; i >= 0; i-- {
			if SameAOR(hi[i].Target.URI, calledAOR) {
				me = i
				break
			}
		}
	}
	mine := hi[me]
	if mine.MP != "" {
		for _, e := range hi[:me] {
			if e.Index == mine.MP && !SameAOR(e.Target.URI, mine.Target.URI) {
				return forwardedFrom(e, mine), true
			}
		}
	}
	if mine.RC != "" {
		// Reached as a contact: of our own AOR (a registrar's fork to our
		// bindings) it is our call; of another user's, that user's call
		// rings here too (follow-me, simultaneous ring).
		for _, e := range hi[:me] {
			if e.Index == mine.RC && !sameUser(e.Target.URI, mine.Target.URI) {
				return Secondary{Kind: SecondaryForked, For: e.Target, Cause: e.Reason.Cause, Text: e.Reason.Text}, true
			}
		}
	}
	if mine.RC != "" || mine.NP != "" || mine.MP != "" {
		return Secondary{}, false
	}
	// Untagged (RFC 4244): the closest earlier entry for a different user
	// that records why it moved on.
	for i := me - 1; i >= 0; i-- {
		e := hi[i]
		if SameAOR(e.Target.URI, mine.Target.URI) {
			continue
		}
		if e.Reason.Cause >= 300 || mine.Cause != 0 {
			return forwardedFrom(e, mine), true
		}
	}
	return Secondary{}, false
}

func forwardedFrom(from, mine HistoryInfoEntry) Secondary {
	s := Secondary{Kind: SecondaryForwarded, For: from.Target, Cause: from.Reason.Cause, Text: from.Reason.Text}
	if mine.Cause != 0 {
		s.Cause = mine.Cause // RFC 4458: the cause parameter of the new target
	}
	return s
}

// diversionCause maps RFC 5806 diversion reasons to the RFC 4458 causes.
func diversionCause(reason string) int {
	switch reason {
	case "unconditional":
		return 302
	case "user-busy":
		return 486
	case "no-answer":
		return 408
	case "deflection":
		return 487
	case "unavailable", "out-of-service":
		return 503
	case "unknown":
		return 404
	default:
		return 0
	}
}
