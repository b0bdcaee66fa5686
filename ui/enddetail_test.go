package ui

import (
	"testing"

	"github.com/anyphone/anyphone/cti/api"
)

func TestEndDetail(t *testing.T) {
	for _, tc := range []struct {
		e    api.EndInfo
		want string
	}{
		{api.EndInfo{Q850: 16, Text: "Normal call clearing"}, ""},
		{api.EndInfo{Q850: 31, Text: "Call ended by the mediation server",
			Diagnostic: api.Diagnostic{Code: 52051, Reason: "Callee timeout on no response from caller", Source: "pool.contoso.com"}},
			` "Call ended by the mediation server"; ms-diagnostics 52051: Callee timeout on no response from caller (pool.contoso.com)`},
		{api.EndInfo{Code: 302, Note: "not followed: redirect loop"}, " — not followed: redirect loop"},
	} {
		if got := endDetail(tc.e); got != tc.want {
			t.Errorf("endDetail(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
