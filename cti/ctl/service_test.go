package ctl

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
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
	if err != nil || !jsonEqual(t, string(res), `{"calls":[],"registrations":[],"notices":[]}`) {
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
