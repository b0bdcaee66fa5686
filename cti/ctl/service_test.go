package ctl

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// TestClientAgainstRealService drives a real cti.Service (a phone on
// 127.0.0.1:0, no calls) through the network server.
func TestClientAgainstRealService(t *testing.T) {
	svc, err := cti.New(cti.Options{Phone: phone.Config{Listen: "127.0.0.1:0"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	s, err := ServerConfig{Logger: quiet()}.Listen(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := dial(t, s.Addr(), "")

	res, err := c.Do(t.Context(), "status", nil)
	if err != nil || !jsonEqual(t, string(res), `{"calls":[],"registrations":[],"notices":[],"transport":"udp"}`) {
		t.Errorf("status = %s, %v", res, err)
	}
	if _, err := c.Do(t.Context(), "hangup", map[string]string{"call_id": "nope"}); !errors.Is(err, &Error{Code: CodeNoSuchCall}) {
		t.Errorf("hangup of an unknown call = %v, want no_such_call", err)
	}
	if _, err := c.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc.Notify(cti.NoticeWarn, "hello")
	select {
	case ev := <-c.Events():
		var n struct{ Level, Text string }
		if err := json.Unmarshal(ev.Raw, &n); err != nil || ev.Name != EventNotice || n.Level != "warn" || n.Text != "hello" {
			t.Errorf("event %s (%v)", ev.Raw, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice event")
	}
}

// TestPolicyAndJournalAgainstRealService drives the policy and journal
// commands against a real cti.Service with a journal in a temp dir.
func TestPolicyAndJournalAgainstRealService(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	svc, err := cti.New(cti.Options{Phone: phone.Config{Listen: "127.0.0.1:0"}, Logger: quiet(), Journal: j, User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	d := NewDispatcher(svc, quiet())
	tests := []struct {
		name, line, want string
	}{
		{"set_policy", `{"cmd":"set_policy","args":{"on_busy":"busy","no_answer_seconds":25}}`,
			`{"ok":true,"result":{"policy":{"on_busy":"busy","no_answer_seconds":25}}}`},
		{"set_policy refused names the field", `{"cmd":"set_policy","args":{"no_answer_seconds":301}}`,
			`{"ok":false,"error":{"code":"bad_request","message":"args: no_answer_seconds: 301: must be 0..300"}}`},
		{"policy", `{"cmd":"policy"}`, `{"ok":true,"result":{"policy":{"on_busy":"busy","no_answer_seconds":25}}}`},
		{"let_through", `{"cmd":"let_through","args":{"until_call_ends":"c7"}}`,
			`{"ok":true,"result":{"override":{"until_call_ends":"c7"}}}`},
		{"clear_override", `{"cmd":"clear_override"}`, `{"ok":true}`},
		{"journal", `{"cmd":"journal","args":{"view":"missed"}}`, `{"ok":true,"result":{"entries":[]}}`},
		{"unread_missed", `{"cmd":"unread_missed"}`, `{"ok":true,"result":{"unread_missed":0}}`},
		{"mark_read", `{"cmd":"mark_read","args":{"all":true}}`, `{"ok":true,"result":{"unread_missed":0}}`},
		{"export_journal", `{"cmd":"export_journal","args":{"format":"json"}}`, `{"ok":true,"result":{"format":"json","data":"[]\n"}}`},
	}
	for _, tt := range tests {
		resp := d.Handle(t.Context(), []byte(tt.line))
		got, _ := json.Marshal(resp)
		if !jsonEqual(t, string(got), tt.want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
