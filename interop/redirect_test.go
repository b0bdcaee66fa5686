package interop

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// TestRedirectFollowedToVoicemail (issue 13): an endpoint calls an anyphone
// in DND with --voicemail, which answers 302 to a sipp voicemail. The
// caller follows the 302 (RFC 3261 §8.1.3.4): the voicemail's INVITE
// carries History-Info and Diversion (the sipp scenario checks them), the
// caller reports a redirected event, and its journal says the call was
// redirected and answered by the voicemail. With --max-redirects 0 the
// call ends at the 302 and the journal says nobody was reached.
func TestRedirectFollowedToVoicemail(t *testing.T) {
	needInterop(t)
	vm := startSipp(t, filepath.Join("testdata", "redirect", "voicemail_uas.xml"), "-m", "1")
	vmURI := "sip:vm@127.0.0.1:" + strconv.Itoa(vm.Port)
	callee := startEndpoint(t, "--name", "bob", "--dnd", "--voicemail", vmURI)

	jpath := filepath.Join(t.TempDir(), "journal.db")
	caller := startEndpoint(t, "--name", "alice", "--dial", callee.URI, "--hangup-after", "1s", "--journal", jpath)
	ev, err := caller.WaitEvent(func(ev Event) bool { return ev.Event == "redirected" }, 10*time.Second)
	if err != nil {
		t.Fatalf("no redirected event: %v", err)
	}
	if !strings.Contains(ev.Raw, `"code":302`) || !strings.Contains(ev.Raw, vmURI) {
		t.Errorf("redirected event = %s, want code 302 to %s", ev.Raw, vmURI)
	}
	code, sum, err := caller.Wait(20 * time.Second)
	if err != nil || code != 0 || sum == nil || sum.Answered != 1 {
		t.Fatalf("caller: exit %d, %v, summary %+v; want the voicemail to answer", code, err, sum)
	}
	if c, err := vm.Wait(10 * time.Second); err != nil || c != 0 {
		t.Fatalf("sipp voicemail: exit %d, %v (History-Info or Diversion missing?)\n%s", c, err, tailString(vm.Output(), 4<<10))
	}
	rows := journalRows(t, jpath)
	if len(rows) != 1 {
		t.Fatalf("caller journal: %d rows, want 1", len(rows))
	}
	e := rows[0]
	t.Logf("journal: outcome %s, remote %s, note %q", e.Outcome, e.Remote.URI, e.Note)
	if e.Outcome != journal.OutcomeAnswered || !strings.Contains(e.Note, "redirected by 302 to "+vmURI) ||
		!strings.Contains(e.Note, "answered by "+vmURI) {
		t.Errorf("journal row: outcome %s, note %q; want answered, redirected by 302 to and answered by %s", e.Outcome, e.Note, vmURI)
	}

	// Not following: the call ends at the 302, nobody was reached.
	jpath2 := filepath.Join(t.TempDir(), "journal.db")
	caller2 := startEndpoint(t, "--name", "carol", "--dial", callee.URI, "--max-redirects", "0", "--journal", jpath2)
	if _, _, err := caller2.Wait(20 * time.Second); err != nil {
		t.Fatalf("caller with --max-redirects 0: %v", err)
	}
	rows = journalRows(t, jpath2)
	if len(rows) != 1 || rows[0].Outcome != journal.OutcomeUnavailable || rows[0].Code != 302 || !strings.Contains(rows[0].Note, "not followed") {
		t.Errorf("journal without following: %+v; want one unavailable row, code 302, note 'not followed'", rows)
	}
}

// journalRows waits up to 5 s for the journal at path to hold a row and
// returns all rows.
func journalRows(t *testing.T, path string) []journal.Entry {
	t.Helper()
	var rows []journal.Entry
	waitFor(5*time.Second, func() bool {
		j, err := journal.Open(path)
		if err != nil {
			return false
		}
		defer j.Close()
		rows, _ = j.List(t.Context(), journal.Filter{})
		return len(rows) > 0
	})
	return rows
}
