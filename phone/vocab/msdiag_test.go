package vocab

import "testing"

// The codes of seed 001 (a Lync/SfB deployment's missed-call tests).
func TestParseDiagnostic(t *testing.T) {
	for _, tc := range []struct {
		in     string
		public bool
		want   Diagnostic
	}{
		{`52051; reason="Callee timeout on no response from caller"`, false, Diagnostic{Code: 52051, Reason: "Callee timeout on no response from caller"}},
		{`5002;reason="Request was cancelled`, false, Diagnostic{Code: 5002, Reason: "Request was cancelled"}},
		{`13014;reason="The routing rules did not result in a final response and callee is not enabled for Unified Messaging";source="pool.contoso.com"`, false,
			Diagnostic{Code: 13014, Reason: "The routing rules did not result in a final response and callee is not enabled for Unified Messaging", Source: "pool.contoso.com"}},
		{`5025;reason="Cancel sent by application for INVITE client transaction.";AppUri="http%3A%2F%2Fwww.microsoft.com%2FLCS%2FDefaultRouting"`, true,
			Diagnostic{Code: 5025, Reason: "Cancel sent by application for INVITE client transaction.", AppURI: "http://www.microsoft.com/LCS/DefaultRouting", Public: true}},
		{`2;source=edge.contoso.com;reason="a;b"`, false, Diagnostic{Code: 2, Reason: "a;b", Source: "edge.contoso.com"}},
	} {
		got, err := ParseDiagnostic(tc.in, tc.public)
		if err != nil || got != tc.want {
			t.Errorf("ParseDiagnostic(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "reason=x", "x;reason=y", "-1"} {
		if d, err := ParseDiagnostic(bad, false); err == nil {
			t.Errorf("ParseDiagnostic(%q) = %+v, want an error", bad, d)
		}
	}
}

func FuzzParseDiagnostic(f *testing.F) {
	f.Add(`5025;reason="Cancel sent";AppUri="http%3A%2F%2Fx"`)
	f.Add(`5002;reason="open`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDiagnostic(s, false)
		if err == nil && d.Code < 0 {
			t.Fatalf("negative code from %q", s)
		}
		_ = d.String()
	})
}
