package cti

import (
	"strings"
	"testing"

	"github.com/anyphone/anyphone/phone"
)

// TestRegistrarUnreachableNotice (issue 13): a registration that gets no
// answer at all (retrying without a code: the keepalive OPTIONS or a
// REGISTER timed out) is one warning notice, however many retries follow,
// and registering again is one more; a registrar that answers 503 is no
// such notice (the header shows its code).
func TestRegistrarUnreachableNotice(t *testing.T) {
	s := newTestSvc(t, "alice", Options{})
	reg := func(st phone.RegState, code int, err string) {
		s.onPhoneEvent(phone.RegistrationChanged{Reg: phone.RegInfo{AOR: "sip:alice@example.test", Registrar: "sip:127.0.0.1:5060", State: st, Code: code, Err: err}})
	}
	reg(phone.RegRegistered, 200, "")
	reg(phone.RegRetrying, 503, "503 Service Unavailable")
	reg(phone.RegRegistered, 200, "")
	reg(phone.RegRetrying, 0, "registrar unreachable: no answer to OPTIONS within 10s")
	reg(phone.RegRegistering, 0, "registrar unreachable: no answer to OPTIONS within 10s")
	reg(phone.RegRetrying, 0, "no response from registrar within 10s")
	reg(phone.RegRegistered, 200, "")
	var got []string
	for _, n := range s.Snapshot().Notices {
		if strings.Contains(n.Text, "registrar") || strings.Contains(n.Text, "registered") {
			got = append(got, n.Text)
		}
	}
	want := []string{
		"registrar sip:127.0.0.1:5060 unreachable: no answer to OPTIONS within 10s; retrying",
		"registered again at sip:127.0.0.1:5060 as sip:alice@example.test",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
