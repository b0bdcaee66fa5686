package cti_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestDialogsCommand (issue 13): after the service registered at a
// registrar, the dialogs control command lists the REGISTER dialog, and
// ladder with its SIP Call-ID returns its messages.
func TestDialogsCommand(t *testing.T) {
	// The first phone started turns on sipgo's tracing (a global): it
	// must be on before the registrar's server reads (race detector).
	phonetest.NewPhone(t, 0, &phone.Config{Name: "first"})
	r := phonetest.NewRegistrar(t, map[string]string{"alice": "wonderland"})
	s, sub := startService(t, phone.Config{Name: "alice", Listen: "127.0.0.1:0", Transport: "udp",
		Account: &phone.Account{AOR: "sip:alice@example.test", Registrar: r.URI(), Password: "wonderland"}})
	if err := s.Register(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, "registered", func(ev cti.Event) bool {
		rc, ok := ev.(cti.RegistrationChanged)
		return ok && rc.Reg.State == cti.RegRegistered
	})
	d := ctl.NewDispatcher(s, quietLog())
	var res struct {
		Dialogs []cti.Dialog `json:"dialogs"`
	}
	// the 200 OK may be traced after the event it caused
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := d.Handle(t.Context(), []byte(`{"cmd":"dialogs"}`))
		if err := json.Unmarshal(resp.Result, &res); err != nil {
			t.Fatalf("dialogs: %s (%v)", resp.Result, err)
		}
		if len(res.Dialogs) == 1 && res.Dialogs[0].Messages >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dialogs = %+v, want the REGISTER dialog with its 4 messages", res.Dialogs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dlg := res.Dialogs[0]
	if dlg.Method != "REGISTER" || dlg.Peer != r.Addr() {
		t.Errorf("dialog = %+v, want REGISTER to %s", dlg, r.Addr())
	}
	args, _ := json.Marshal(map[string]any{"cmd": "ladder", "args": map[string]string{"call_id": dlg.SIPCallID}})
	resp := d.Handle(t.Context(), args)
	var lad struct {
		Messages []cti.SIPMessage `json:"messages"`
	}
	// A registration refresh may add messages between the two reads.
	if err := json.Unmarshal(resp.Result, &lad); err != nil || len(lad.Messages) < dlg.Messages ||
		lad.Messages[0].Summary != "REGISTER" || !lad.Messages[0].Sent {
		t.Errorf("ladder of %s: %s (%v)", dlg.SIPCallID, resp.Result, err)
	}
}
