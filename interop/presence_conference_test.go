package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInConferenceBusyRule (issue 15): the endpoint places two calls, joins
// them in a local three-way conference and has a policy of on_busy busy
// (486) but in_conference unavailable (480). A third call from sipp must get
// the in_conference action, 480, journalled with the rule
// busy-in-conference; before the fix every conference leg counted as a
// plain active call and the caller got 486.
func TestInConferenceBusyRule(t *testing.T) {
	b := startEndpoint(t, "--name", "bob", "--answer", "auto")
	c := startEndpoint(t, "--name", "carol", "--answer", "auto")
	db := filepath.Join(t.TempDir(), "journal.db")
	ep := startEndpoint(t, "--name", "alice", "--journal", db, "--busy", "busy", "--dial", b.URI, "--dial", c.URI)
	active, err := ep.WaitEvents(isCall("active"), 2, 10*time.Second)
	if err != nil {
		t.Fatalf("two active calls: %v", err)
	}
	ids := map[string]bool{}
	for _, ev := range ep.Events() {
		if ev.Event == "call" && ev.Call != nil && ev.Call.Direction == "outgoing" {
			ids[ev.Call.ID] = true
		}
	}
	if len(ids) != 2 {
		t.Fatalf("want 2 outgoing calls, got %v (%d active events)", ids, len(active))
	}
	var two []string
	for id := range ids {
		two = append(two, id)
	}
	if err := ep.Send(map[string]any{"id": "p", "cmd": "set_policy", "args": map[string]any{"on_busy": "busy", "in_conference": "unavailable"}}); err != nil {
		t.Fatal(err)
	}
	if err := ep.Send(map[string]any{"id": "conf", "cmd": "conference", "args": map[string]any{"call_id": two[0], "other_id": two[1]}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.WaitEvent(func(ev Event) bool {
		return strings.Contains(ev.Raw, `"id":"conf"`) && strings.Contains(ev.Raw, `"ok":true`)
	}, 10*time.Second); err != nil {
		t.Fatalf("conference: %v\n%s", err, eventsRaw(ep))
	}
	cid, callID := sippCallID("inconf")
	sc := busyScenario(t, "uac_reject.xml", map[string]string{
		"FROM": "dave", "CODE": "480",
		"CHECKS": `      <ereg regexp="Q\.850;cause=" search_in="hdr" header="Reason:" check_it="true" assign_to="m0"/>` + "\n",
		"REFS":   `  <Reference variables="m0"/>`,
	})
	s := startSipp(t, sc, append([]string{ep.Addr, "-m", "1", "-s", "alice"}, cid...)...)
	if code, err := s.Wait(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v (the third call did not get 480)\n%s", code, err, tailString(s.Output(), 4<<10))
	}
	e := journalRow(t, db, callID)
	if e.Code != 480 || e.BusyRule != "busy-in-conference" {
		t.Errorf("journal row of the third call: code %d rule %q; want 480 busy-in-conference", e.Code, e.BusyRule)
	}
}

func eventsRaw(ep *Endpoint) string {
	var b strings.Builder
	for _, ev := range ep.Events() {
		fmt.Fprintln(&b, ev.Raw)
	}
	return b.String()
}
