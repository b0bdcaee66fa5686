package interop

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/ctl"
)

// eventTime is the "time" of an endpoint event line.
func eventTime(t *testing.T, ev Event) time.Time {
	t.Helper()
	var v struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(ev.Raw), &v); err != nil || v.Time.IsZero() {
		t.Fatalf("event without time: %s", ev.Raw)
	}
	return v.Time
}

// TestChaosSilentTransferor (issue 17): the call-centre bot of seed 004
// sends the agent a held INVITE, then a REFER to the customer, and then
// answers nothing: not one NOTIFY. RFC 3515 does not make the transfer wait
// for the transferor: the customer must get the agent's call within a
// second of the REFER (diago alone waited on NOTIFY 100 for Timer F and
// never called), the referred leg must end as transferred, and a new call
// to the agent is answered at once while the NOTIFYs hang.
func TestChaosSilentTransferor(t *testing.T) {
	customer := startEndpoint(t, "--name", "customer")
	trace := filepath.Join(t.TempDir(), "agent.trace")
	agent := startEndpoint(t, "--name", "agent", "--trace-file", trace)
	bot := startSipp(t, filepath.Join("testdata", "chaos", "uac_refer_silent.xml"), agent.Addr, "-m", "1", "-s", "agent",
		"-key", "conn", "127.0.0.1", "-key", "dir", "sendonly", "-key", "target", customer.URI)

	ref, err := agent.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventReferReceived && m.Accepted }), 10*time.Second)
	if err != nil {
		t.Fatalf("no accepted refer: %v", err)
	}
	referAt := eventTime(t, ref)
	in, err := customer.WaitEvent(midPred(func(m midEvent) bool {
		return midCallIs("", "incoming")(m) || midCallIs("", "active")(m)
	}), 3*time.Second)
	if err != nil {
		t.Fatalf("the customer never got the transferred call: %v", err)
	}
	if d := eventTime(t, in).Sub(referAt); d > time.Second {
		t.Errorf("the customer's call came %s after the REFER, want within 1 s", d)
	} else {
		t.Logf("the customer's call came %s after the REFER", d.Round(time.Millisecond))
	}
	first := mid(ref).CallID
	end, err := agent.WaitEvent(midPred(midCallIs(first, "ended")), 10*time.Second)
	if err != nil {
		t.Fatalf("the referred leg never ended: %v", err)
	}
	if e := mid(end).Call.End; e == nil || e.Cause != "transferred" {
		t.Errorf("the referred leg ended %s, want transferred", end.Raw)
	}

	// While the NOTIFYs to the silent bot are still unanswered, a new
	// call to the agent is answered at once.
	caller := startEndpoint(t, "--name", "caller", "--dial", agent.URI, "--hangup-after", "1s")
	placed, err := caller.WaitEvent(isCall("dialing"), 5*time.Second)
	if err != nil {
		t.Fatalf("caller: %v", err)
	}
	up, err := caller.WaitEvent(isCall("active"), 3*time.Second)
	if err != nil {
		t.Fatalf("a new call to the agent was not answered while the transfer's NOTIFYs hang: %v", err)
	}
	if d := eventTime(t, up).Sub(eventTime(t, placed)); d > time.Second {
		t.Errorf("a new call was answered after %s, want within 1 s", d)
	}
	code, err := bot.Wait(40 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("the silent bot: exit %d, %v\n%s", code, err, tailString(bot.Output(), 4<<10))
	}
}
