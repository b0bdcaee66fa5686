package phone_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestAllowSources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		allow    []netip.Prefix
		wantCode int // the caller's end code; 0: the call rings
	}{
		{"no acl", nil, 0},
		{"loopback allowed", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 0},
		{"exact host allowed", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, 0},
		{"unknown source", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, 403},
		{"ipv6 only", []netip.Prefix{netip.MustParsePrefix("::1/128")}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "intruder"})
			b := phonetest.NewPhone(t, 0, &phone.Config{Name: "guarded", AllowSources: tc.allow})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCode == 0 {
				b.Events.WaitState(t, "", phone.CallIncoming)
				return
			}
			end := a.Events.WaitState(t, id, phone.CallEnded)
			if end.End == nil || end.End.Code != tc.wantCode {
				t.Fatalf("%s: caller end = %+v, want code %d", tc.name, end.End, tc.wantCode)
			}
			ev := b.Events.WaitFor(t, 0, "SourceRejected", func(ev phone.Event) bool {
				r, ok := ev.(phone.SourceRejected)
				return ok && r.Method == "INVITE" && r.Source != ""
			})
			_ = ev
			// Reported as a refused call (issue 13: the ACL's 403 left no
			// notice or journal row), never as one that rang.
			ref := b.Events.WaitFor(t, 5*time.Second, "CallRefused", func(ev phone.Event) bool {
				r, ok := ev.(phone.CallRefused)
				return ok && r.Call.Rule == phone.RuleSourceACL
			}).(phone.CallRefused)
			if ref.Call.End == nil || ref.Call.End.Code != 403 || ref.Call.State != phone.CallEnded {
				t.Errorf("%s: refusal = %+v end %+v", tc.name, ref, ref.Call.End)
			}
			for _, ev := range b.Events.All() {
				if cc, ok := ev.(phone.CallChanged); ok && cc.Call.State != phone.CallEnded {
					t.Errorf("%s: refused INVITE still made call %s (%s)", tc.name, cc.Call.ID, cc.Call.State)
				}
			}
		})
	}
}
