package cti

import "testing"

func TestTLSRegNotice(t *testing.T) {
	var n tlsNotices
	const err = "register: tls: server certificate verification failed (check [sip] tls_ca): x509: certificate signed by unknown authority"
	if got := n.regNotice("sip:a@pbx", err); got != "registration of sip:a@pbx refused: tls: server certificate verification failed (check [sip] tls_ca): x509: certificate signed by unknown authority" {
		t.Errorf("first: %q", got)
	}
	if got := n.regNotice("sip:a@pbx", err); got != "" {
		t.Errorf("repeated retry: %q, want no second notice", got)
	}
	if got := n.regNotice("sip:a@pbx", "register: 403 Forbidden"); got != "" {
		t.Errorf("other error: %q", got)
	}
}
