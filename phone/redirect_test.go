package phone_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestRedirectRinging(t *testing.T) {
	for _, tc := range []struct {
		name     string
		target   string
		headers  [][2]string
		wantErr  bool
		wantWire []string // in the caller's trace
	}{
		{"voicemail with history-info", "sip:vm@127.0.0.1:5090",
			[][2]string{{"History-Info", "<sip:+4989100@ctl?Reason=SIP%3Bcause%3D486>;index=1, <sip:vm@127.0.0.1:5090>;index=1.1;rc=1"}},
			false, []string{"SIP/2.0 302 Moved Temporarily", "Contact: <sip:vm@127.0.0.1:5090>", "History-Info: <sip:+4989100@ctl"}},
		{"bare target", "vm@127.0.0.1:5091", nil, false, []string{"Contact: <sip:vm@127.0.0.1:5091>"}},
		{"bad target", "sip:", nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "a.trace")
			a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice", TraceFile: trace})
			b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a.Events.WaitState(t, id, phone.CallRinging)
			in := b.Events.WaitState(t, "", phone.CallIncoming)
			err = b.Redirect(in.ID, tc.target, tc.headers)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Redirect: no error for a bad target")
				}
				if ci, ok := b.Call(in.ID); !ok || ci.State != phone.CallIncoming {
					t.Fatalf("a failed Redirect changed the call: %+v", ci)
				}
				return
			}
			if err != nil {
				t.Fatalf("Redirect: %v", err)
			}
			end := a.Events.WaitState(t, id, phone.CallEnded)
			if end.End == nil || end.End.Code != 302 {
				t.Errorf("caller end = %+v, want 302", end.End)
			}
			bend := b.Events.WaitState(t, in.ID, phone.CallEnded)
			if bend.End == nil || bend.End.Cause != phone.EndRejected || bend.End.Code != 302 {
				t.Errorf("callee end = %+v, want rejected 302", bend.End)
			}
			deadline := time.Now().Add(3 * time.Second)
			for {
				raw, _ := os.ReadFile(trace)
				missing := ""
				for _, w := range tc.wantWire {
					if !strings.Contains(string(raw), w) {
						missing = w
					}
				}
				if missing == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("caller trace lacks %q:\n%s", missing, raw)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestRedirectNotRinging(t *testing.T) {
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	if err := b.Redirect("nope", "sip:vm@127.0.0.1", nil); err == nil {
		t.Error("Redirect of an unknown call: no error")
	}
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.Events.WaitState(t, "", phone.CallIncoming)
	if err := b.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitState(t, id, phone.CallActive)
	if err := b.Redirect(in.ID, "sip:vm@127.0.0.1", nil); err == nil {
		t.Error("Redirect of an answered call: no error")
	}
	if err := a.Redirect(id, "sip:vm@127.0.0.1", nil); err == nil {
		t.Error("Redirect of an outgoing call: no error")
	}
}
