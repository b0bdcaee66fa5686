package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestDialogsListRegister (issue 13): a phone registering at a registrar
// keeps the REGISTER dialog (no call owns it): Dialogs lists it with its
// method, peer and messages, and Ladder reads it by its SIP Call-ID.
func TestDialogsListRegister(t *testing.T) {
	// The first phone started turns on sipgo's tracing (a global): it
	// must be on before the registrar's server reads (race detector).
	phonetest.NewPhone(t, 0, &phone.Config{Name: "first"})
	r := phonetest.NewRegistrar(t, map[string]string{"alice": "wonderland"})
	a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice", Account: &phone.Account{
		AOR: "sip:alice@example.test", Registrar: r.URI(), Password: "wonderland",
	}})
	if err := a.Register(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.Events.WaitFor(t, 5*time.Second, "registered", func(ev phone.Event) bool {
		rc, ok := ev.(phone.RegistrationChanged)
		return ok && rc.Reg.State == phone.RegRegistered
	})
	// REGISTER, 401, REGISTER with credentials, 200 OK; the 200 may be
	// traced after the event it caused.
	var d phone.Dialog
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := a.Dialogs()
		if len(ds) == 1 && ds[0].Messages >= 4 {
			d = ds[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dialogs = %+v, want the REGISTER dialog with 4 messages", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d.Method != "REGISTER" || d.Peer != r.Addr() || d.SIPCallID == "" || d.Last.IsZero() {
		t.Errorf("dialog = %+v, want a REGISTER to %s", d, r.Addr())
	}
	l := a.Ladder(phone.CallID(d.SIPCallID))
	if got := ladderSummary(l); len(l) < d.Messages || !hasMsg(l, "REGISTER", true) || !hasMsg(l, "401 Unauthorized", false) || !hasMsg(l, "200 OK", false) {
		t.Errorf("ladder of %s = %s, want REGISTER, 401, REGISTER, 200 (%d messages)", d.SIPCallID, got, d.Messages)
	}
	if d.Last.Before(l[0].Time) || d.Last.After(l[len(l)-1].Time) { // a refresh may add messages between the two reads
		t.Errorf("last %v, newest message at %v", d.Last, l[len(l)-1].Time)
	}
}
