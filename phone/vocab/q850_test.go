package vocab

import (
	"errors"
	"reflect"
	"testing"
)

func TestQ850ForSIP(t *testing.T) {
	tests := []struct {
		name string
		code int
		want int
	}{
		{"busy here", 486, 17},
		{"temporarily unavailable", 480, 18},
		{"decline", 603, 21},
		{"not found", 404, 1},
		{"service unavailable", 503, 41},
		{"request timeout", 408, 102},
		{"busy everywhere", 600, 17},
		{"forbidden", 403, 21},
		{"address incomplete", 484, 28},
		{"request terminated has none", 487, 0},
		{"ok has none", 200, 0},
		{"redirect has none", 302, 0},
		{"unknown code", 499, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Q850ForSIP(tc.code); got != tc.want {
				t.Errorf("Q850ForSIP(%d) = %d, want %d", tc.code, got, tc.want)
			}
		})
	}
}

func TestSIPForQ850(t *testing.T) {
	tests := []struct {
		name       string
		cause      int
		wantCode   int
		wantPhrase string
	}{
		{"user busy", 17, 486, "Busy Here"},
		{"no user responding", 18, 408, "Request Timeout"},
		{"no answer", 19, 480, "Temporarily Unavailable"},
		{"subscriber absent", 20, 480, "Temporarily Unavailable"},
		{"call rejected", 21, 403, "Forbidden"},
		{"unallocated", 1, 404, "Not Found"},
		{"no circuit", 34, 503, "Service Unavailable"},
		{"temporary failure", 41, 503, "Service Unavailable"},
		{"timer expiry", 102, 504, "Server Time-out"},
		{"interworking", 127, 500, "Server Internal Error"},
		{"normal clearing is not a failure", 16, 0, ""},
		{"zero", 0, 0, ""},
		{"out of range", 128, 0, ""},
		{"negative", -3, 0, ""},
		{"unlisted normal class", 8, 480, "Temporarily Unavailable"},
		{"unlisted resource class", 44, 503, "Service Unavailable"},
		{"unlisted not implemented class", 66, 501, "Not Implemented"},
		{"unlisted invalid message class", 81, 400, "Bad Request"},
		{"unlisted protocol class", 96, 500, "Server Internal Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, phrase := SIPForQ850(tc.cause)
			if code != tc.wantCode || phrase != tc.wantPhrase {
				t.Errorf("SIPForQ850(%d) = %d %q, want %d %q", tc.cause, code, phrase, tc.wantCode, tc.wantPhrase)
			}
		})
	}
}

func TestSIPForQ850AtUser(t *testing.T) {
	if code, phrase := SIPForQ850AtUser(21); code != 603 || phrase != "Decline" {
		t.Errorf("SIPForQ850AtUser(21) = %d %q, want 603 Decline", code, phrase)
	}
	if code, _ := SIPForQ850AtUser(17); code != 486 {
		t.Errorf("SIPForQ850AtUser(17) = %d, want 486", code)
	}
}

// TestQ850RoundTrip checks the causes we send survive a trip through both
// tables: what we put in a Reason header matches the status it rides on.
func TestQ850RoundTrip(t *testing.T) {
	for _, code := range []int{486, 404, 484} {
		cause := Q850ForSIP(code)
		if back, _ := SIPForQ850(cause); back != code {
			t.Errorf("code %d → cause %d → code %d", code, cause, back)
		}
	}
	for cause := range causeToSIP {
		if q850Names[cause] == "" {
			t.Errorf("cause %d mapped but has no name", cause)
		}
	}
	for _, cause := range sipToCause {
		if q850Names[cause] == "" {
			t.Errorf("cause %d mapped but has no name", cause)
		}
	}
	for code := range sipToCause {
		if SIPPhrase(code) == "" {
			t.Errorf("code %d mapped but has no phrase", code)
		}
	}
}

func TestQ850Text(t *testing.T) {
	tests := []struct {
		cause int
		want  string
	}{
		{17, "User busy"},
		{18, "No user responding"},
		{16, "Normal call clearing"},
		{0, ""},
		{12, "cause 12"},
	}
	for _, tc := range tests {
		if got := Q850Text(tc.cause); got != tc.want {
			t.Errorf("Q850Text(%d) = %q, want %q", tc.cause, got, tc.want)
		}
	}
}

func TestParseReason(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ReasonHeader
		wantErr bool
	}{
		{"q850 busy", `Q.850;cause=17;text="User busy"`, ReasonHeader{"Q.850", 17, "User busy"}, false},
		{"sip answered elsewhere", `SIP;cause=200;text="Call completed elsewhere"`, ReasonHeader{"SIP", 200, "Call completed elsewhere"}, false},
		{"no text", `SIP;cause=200`, ReasonHeader{"SIP", 200, ""}, false},
		{"lower case protocol and spaces", ` q.850 ; cause = 16 `, ReasonHeader{"Q.850", 16, ""}, false},
		{"token text", `SIP;cause=302;text=Accepted`, ReasonHeader{"SIP", 302, "Accepted"}, false},
		{"escaped quote in text", `SIP;cause=480;text="say \"hi\""`, ReasonHeader{"SIP", 480, `say "hi"`}, false},
		{"semicolon in text", `SIP;text="a;b";cause=486`, ReasonHeader{"SIP", 486, "a;b"}, false},
		{"extension params ignored", `Q.850;cause=31;location=LN`, ReasonHeader{"Q.850", 31, ""}, false},
		{"other protocol kept", `preemption;cause=1`, ReasonHeader{"preemption", 1, ""}, false},
		{"protocol only", `SIP`, ReasonHeader{"SIP", 0, ""}, false},
		{"bad cause", `SIP;cause=abc`, ReasonHeader{}, true},
		{"empty", ``, ReasonHeader{}, true},
		{"quoted protocol", `"SIP";cause=1`, ReasonHeader{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReason(tc.in)
			if tc.wantErr {
				var se *ReasonSyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("ParseReason(%q) err = %v, want *ReasonSyntaxError", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReason(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseReason(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestReasonHeaderString(t *testing.T) {
	tests := []struct {
		name string
		in   ReasonHeader
		want string
	}{
		{"busy", ReasonHeader{"Q.850", 17, "User busy"}, `Q.850;cause=17;text="User busy"`},
		{"no text", ReasonHeader{"SIP", 200, ""}, `SIP;cause=200`},
		{"escapes", ReasonHeader{"SIP", 603, `a "b" \c`}, `SIP;cause=603;text="a \"b\" \\c"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.String()
			if got != tc.want {
				t.Fatalf("String() = %s, want %s", got, tc.want)
			}
			back, err := ParseReason(got)
			if err != nil || back != tc.in {
				t.Errorf("ParseReason(String()) = %+v, %v; want %+v", back, err, tc.in)
			}
		})
	}
}

func TestReasonForSIP(t *testing.T) {
	r, ok := ReasonForSIP(486)
	if !ok || r.String() != `Q.850;cause=17;text="User busy"` {
		t.Errorf("ReasonForSIP(486) = %s, %v", r, ok)
	}
	r, ok = ReasonForSIP(480)
	if !ok || r.Cause != 18 {
		t.Errorf("ReasonForSIP(480) = %s, %v; want cause 18", r, ok)
	}
	if _, ok := ReasonForSIP(302); ok {
		t.Errorf("ReasonForSIP(302) ok, want none")
	}
}

func TestReasonDescribe(t *testing.T) {
	tests := []struct {
		in   ReasonHeader
		want string
	}{
		{ReasonHeader{"Q.850", 17, ""}, "User busy (Q.850 17)"},
		{ReasonHeader{"SIP", 200, "Call completed elsewhere"}, "SIP 200 Call completed elsewhere"},
		{ReasonHeader{"SIP", 486, ""}, "SIP 486 Busy Here"},
	}
	for i, tc := range tests {
		if got := tc.in.Describe(); got != tc.want {
			t.Errorf("%d: Describe() = %q, want %q", i, got, tc.want)
		}
	}
}

func TestParseReasons(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []ReasonHeader
		wantErr bool
	}{
		{"two protocols", `SIP;cause=200;text="Call completed elsewhere", Q.850;cause=16`,
			[]ReasonHeader{{"SIP", 200, "Call completed elsewhere"}, {"Q.850", 16, ""}}, false},
		{"comma in text", `SIP;cause=200;text="done, elsewhere",Q.850;cause=16`,
			[]ReasonHeader{{"SIP", 200, "done, elsewhere"}, {"Q.850", 16, ""}}, false},
		{"one bad one good", `SIP;cause=x, Q.850;cause=17`,
			[]ReasonHeader{{"Q.850", 17, ""}}, true},
		{"empty elements", ` , Q.850;cause=17,`, []ReasonHeader{{"Q.850", 17, ""}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReasons(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseReasons(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestCancelEndCause(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   EndCause
	}{
		{"plain cancel", nil, EndCallerCancelled},
		{"answered elsewhere with text", []string{`SIP;cause=200;text="Call completed elsewhere"`}, EndAnsweredElsewhere},
		{"answered elsewhere no text", []string{`SIP;cause=200`}, EndAnsweredElsewhere},
		{"lync accepted elsewhere", []string{`SIP ;cause=200 ;text="Accepted Elsewhere"`}, EndAnsweredElsewhere},
		{"q850 first then sip", []string{`Q.850;cause=16`, `SIP;cause=200`}, EndAnsweredElsewhere},
		{"q850 normal clearing only", []string{`Q.850;cause=16`}, EndCallerCancelled},
		{"declined elsewhere", []string{`SIP;cause=603;text="Declined"`}, EndRejected},
		{"garbage", []string{`;;;`}, EndCallerCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CancelEndCause(tc.values); got != tc.want {
				t.Errorf("CancelEndCause(%q) = %v, want %v", tc.values, got, tc.want)
			}
		})
	}
}
