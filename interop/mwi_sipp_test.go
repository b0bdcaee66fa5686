package interop

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mwiOf decodes the message-summary of an "mwi" event line.
type mwiState struct {
	Waiting      bool   `json:"waiting"`
	New          int    `json:"new"`
	Old          int    `json:"old"`
	NewUrgent    int    `json:"new_urgent"`
	Account      string `json:"account"`
	Subscription string `json:"subscription"`
}

func mwiOf(ev Event) (mwiState, bool) {
	if ev.Event != "mwi" {
		return mwiState{}, false
	}
	var v struct {
		MWI mwiState `json:"mwi"`
	}
	if json.Unmarshal([]byte(ev.Raw), &v) != nil {
		return mwiState{}, false
	}
	return v.MWI, true
}

// isMWI matches mwi events with these counts.
func isMWI(waiting bool, newMsgs, old int) func(Event) bool {
	return func(ev Event) bool {
		m, ok := mwiOf(ev)
		return ok && m.Waiting == waiting && m.New == newMsgs && m.Old == old
	}
}

// TestSippMWIUnsolicited: sipp sends an unsolicited NOTIFY message-summary
// (Messages-Waiting: yes, Voice-Message: 2/8) to the endpoint, which
// answers 200 and reports it; a NOTIFY with a broken body gets 400 and
// changes nothing.
func TestSippMWIUnsolicited(t *testing.T) {
	ep := startEndpoint(t, "--name", "alice", "--mwi-voicemail", "sip:*97@127.0.0.1")
	s := startSipp(t, "testdata/mwi/notify_uac.xml", ep.Addr, "-s", "alice", "-m", "1")
	if code, err := s.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp NOTIFY scenario: exit %d, %v (200 to the good NOTIFY, 400 to the broken one)\n%s", code, err, s.Output())
	}
	ev, err := ep.WaitEvent(isMWI(true, 2, 8), 3*time.Second)
	if err != nil {
		t.Fatalf("no mwi event 2/8: %v", err)
	}
	m, _ := mwiOf(ev)
	if m.NewUrgent != 1 || m.Subscription != "unsolicited" || m.Account != "sip:alice@127.0.0.1" {
		t.Errorf("mwi event %+v: want 1 urgent, unsolicited, account sip:alice@127.0.0.1", m)
	}
	if n := len(filterEvents(ep.Events(), func(ev Event) bool { _, ok := mwiOf(ev); return ok })); n != 1 {
		t.Errorf("%d mwi events, want 1 (the broken NOTIFY must change nothing)", n)
	}
}

// TestSippMWISubscribe: the endpoint with --mwi subscribes to
// message-summary at sipp acting as the voicemail server, shows its
// NOTIFYs (2/8, then 3/8), refreshes the 2 s subscription in the dialog
// before it lapses, and unsubscribes (Expires: 0) when it shuts down; the
// sipp scenario checks each step.
func TestSippMWISubscribe(t *testing.T) {
	s := startSipp(t, "testdata/mwi/notifier_uas.xml", "-m", "1")
	vm := fmt.Sprintf("sip:voicemail@127.0.0.1:%d", s.Port)
	ep := startEndpoint(t, "--name", "alice", "--mwi", "--mwi-voicemail", vm)
	if _, err := ep.WaitEvent(isMWI(true, 2, 8), 5*time.Second); err != nil {
		t.Fatalf("no mwi 2/8 from the subscription: %v\n%s", err, s.Output())
	}
	if _, err := ep.WaitEvent(isMWI(true, 3, 8), 5*time.Second); err != nil {
		t.Fatalf("no mwi 3/8 after the refresh: %v\n%s", err, s.Output())
	}
	if err := ep.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _, err := ep.Wait(10 * time.Second); err != nil || code != 0 {
		t.Errorf("endpoint after SIGTERM: exit %d, %v", code, err)
	}
	if code, err := s.Wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp notifier: exit %d, %v (subscribe, refresh before expiry, unsubscribe)\n%s", code, err, s.Output())
	}
}

// filterEvents returns the events that satisfy pred.
func filterEvents(evs []Event, pred func(Event) bool) []Event {
	var out []Event
	for _, ev := range evs {
		if pred(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// TestSippMWISubscribeAccount: without a voicemail URI the endpoint
// subscribes to message-summary at its own address of record, answers the
// notifier's digest challenge with the account's credentials, shows the
// NOTIFY (5/1) and unsubscribes on shutdown.
func TestSippMWISubscribeAccount(t *testing.T) {
	s := startSipp(t, "testdata/mwi/notifier_auth_uas.xml", "-m", "1")
	aor := fmt.Sprintf("sip:alice@127.0.0.1:%d", s.Port)
	ep := startEndpointEnv(t, []string{"INTEROP_ALICE_PW=secret"}, "--name", "alice", "--account", aor,
		"--password-env", "INTEROP_ALICE_PW", "--mwi")
	if _, err := ep.WaitEvent(isMWI(true, 5, 1), 5*time.Second); err != nil {
		t.Fatalf("no mwi 5/1 after the authenticated SUBSCRIBE: %v\n%s", err, s.Output())
	}
	if err := ep.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _, err := ep.Wait(10 * time.Second); err != nil || code != 0 {
		t.Errorf("endpoint after SIGTERM: exit %d, %v", code, err)
	}
	if code, err := s.Wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp notifier: exit %d, %v (digest, NOTIFY, unsubscribe)\n%s", code, err, s.Output())
	}
	if strings.Contains(ep.proc.Output(), "secret") {
		t.Error("the password appears in the endpoint's output")
	}
}
