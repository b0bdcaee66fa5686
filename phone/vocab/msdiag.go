package vocab

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Diagnostic is a Lync / Skype for Business ms-diagnostics or
// ms-diagnostics-public header ([MS-SIPRE] 2.2.3): a diagnostic code, its
// reason text and the server that added it, e.g.
//
//	ms-diagnostics: 13014;reason="The routing rules did not result in a final response and callee is not enabled for Unified Messaging";source="pool.contoso.com"
type Diagnostic struct {
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
	Source string `json:"source,omitempty"`
	// AppURI names the server application that added it (AppUri, URL
	// decoded), e.g. http://www.microsoft.com/LCS/DefaultRouting.
	AppURI string `json:"app_uri,omitempty"`
	// Public: it came in ms-diagnostics-public (sent across the edge).
	Public bool `json:"public,omitempty"`
}

// IsZero reports an absent diagnostic.
func (d Diagnostic) IsZero() bool { return d.Code == 0 && d.Reason == "" }

// String is "ms-diagnostics 13014: reason (source)".
func (d Diagnostic) String() string {
	if d.IsZero() {
		return ""
	}
	name := "ms-diagnostics"
	if d.Public {
		name += "-public"
	}
	s := fmt.Sprintf("%s %d", name, d.Code)
	if d.Reason != "" {
		s += ": " + d.Reason
	}
	if d.Source != "" {
		s += " (" + d.Source + ")"
	}
	return s
}

var errBadDiagnostic = errors.New("vocab: bad ms-diagnostics")

// ParseDiagnostic parses one ms-diagnostics(-public) header value. It is
// lenient as the servers are: a quoted value left open runs to the end of
// the header, unknown parameters are ignored.
func ParseDiagnostic(value string, public bool) (Diagnostic, error) {
	d := Diagnostic{Public: public}
	s := strings.TrimSpace(value)
	i := strings.IndexByte(s, ';')
	codeStr := s
	if i >= 0 {
		codeStr, s = s[:i], s[i+1:]
	} else {
		s = ""
	}
	code, err := strconv.Atoi(strings.TrimSpace(codeStr))
	if err != nil || code < 0 || code > 1_000_000 {
		return Diagnostic{}, fmt.Errorf("%w: code %q", errBadDiagnostic, codeStr)
	}
	d.Code = code
	for s != "" {
		s = strings.TrimLeft(s, " \t;")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
		} else {
			end := strings.IndexByte(s, ';')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end], s[end:]
			}
		}
		val = strings.TrimSpace(val)
		switch name {
		case "reason":
			d.Reason = val
		case "source":
			d.Source = val
		case "appuri":
			if u, err := url.QueryUnescape(val); err == nil {
				val = u
			}
			d.AppURI = val
		}
	}
	return d, nil
}

// DiagnosticOf returns the first diagnostic in a message's headers
// (ms-diagnostics before ms-diagnostics-public); get returns a header's
// values by name.
func DiagnosticOf(get func(name string) []string) Diagnostic {
	for _, h := range []struct {
		name   string
		public bool
	}{{"ms-diagnostics", false}, {"ms-diagnostics-public", true}} {
		for _, v := range get(h.name) {
			if d, err := ParseDiagnostic(v, h.public); err == nil {
				return d
			}
		}
	}
	return Diagnostic{}
}
