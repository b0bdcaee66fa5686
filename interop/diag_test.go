package interop

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSippByeReasonAndMSDiagnostics (issue 13): a BYE's Reason and an
// ms-diagnostics header (Lync / Skype for Business), and a 480 with
// ms-diagnostics 13014 and ms-diagnostics-public 5025, reach the ended
// call's end info (the call event) and the journal's note.
func TestSippByeReasonAndMSDiagnostics(t *testing.T) {
	needInterop(t)
	for _, tc := range []struct {
		name, scenario string
		wantEnd        []string // in the ended call event
		wantNote       []string // in the journal row's note
	}{
		{"bye", "bye_reason_uas.xml",
			[]string{`"cause":"remote-hangup"`, `"q850":31`, `"text":"Call ended by the mediation server"`, `"ms_diagnostics":{"code":52051,"reason":"Callee timeout on no response from caller","source":"pool.contoso.com"}`},
			[]string{"BYE Reason: Q.850 31", "Call ended by the mediation server", "ms-diagnostics 52051: Callee timeout on no response from caller (pool.contoso.com)"}},
		{"480", "reject_uas.xml",
			[]string{`"code":480`, `"ms_diagnostics":{"code":13014`, `"source":"pool.contoso.com"`},
			[]string{"ms-diagnostics 13014: The routing rules did not result in a final response"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uas := startSipp(t, filepath.Join("testdata", "diag", tc.scenario), "-m", "1")
			jpath := filepath.Join(t.TempDir(), "journal.db")
			ep := startEndpoint(t, "--dial", "sip:sfb@127.0.0.1:"+strconv.Itoa(uas.Port), "--journal", jpath)
			ev, err := ep.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.State == "ended" }, 15*time.Second)
			if err != nil {
				t.Fatalf("no ended call: %v", err)
			}
			for _, w := range tc.wantEnd {
				if !strings.Contains(ev.Raw, w) {
					t.Errorf("ended call event lacks %s:\n%s", w, ev.Raw)
				}
			}
			if c, err := uas.Wait(10 * time.Second); err != nil || c != 0 {
				t.Errorf("sipp: exit %d, %v", c, err)
			}
			rows := journalRows(t, jpath)
			if len(rows) != 1 {
				t.Fatalf("journal: %d rows", len(rows))
			}
			t.Logf("journal: outcome %s, code %d, q850 %d, note %q", rows[0].Outcome, rows[0].Code, rows[0].Q850, rows[0].Note)
			for _, w := range tc.wantNote {
				if !strings.Contains(rows[0].Note, w) {
					t.Errorf("journal note %q lacks %q", rows[0].Note, w)
				}
			}
		})
	}
}

// TestSippCancelMSDiagnostics (issue 13): Lync / Skype for Business puts
// a Reason and ms-diagnostics on the CANCEL of a call it withdraws; both
// reach the ended call's end info and the journal's note.
func TestSippCancelMSDiagnostics(t *testing.T) {
	needInterop(t)
	db := filepath.Join(t.TempDir(), "journal.db")
	ep := startEndpoint(t, "--answer", "manual", "--journal", db, "--user", "bob")
	cid, callID := sippCallID("cancel-diag")
	sc := busyScenario(t, "uac_cancel.xml", map[string]string{
		"FROM": "alice", "HEADERS": "",
		"CANCEL_REASON": headerLines(`Reason: Q.850;cause=31;text="Call withdrawn by the mediation server"`,
			`ms-diagnostics: 5025;reason="Callee declined on another endpoint";source="pool.contoso.com"`),
	})
	runSipp(t, sc, ep.Addr, cid...)
	ev, err := ep.WaitEvent(func(ev Event) bool { return ev.Call != nil && ev.Call.State == "ended" }, 10*time.Second)
	if err != nil {
		t.Fatalf("no ended call: %v", err)
	}
	for _, w := range []string{`"q850":31`, `"ms_diagnostics":{"code":5025,"reason":"Callee declined on another endpoint","source":"pool.contoso.com"}`} {
		if !strings.Contains(ev.Raw, w) {
			t.Errorf("ended call event lacks %s:\n%s", w, ev.Raw)
		}
	}
	e := journalRow(t, db, callID)
	t.Logf("journal: outcome %s, q850 %d, note %q", e.Outcome, e.Q850, e.Note)
	if !strings.Contains(e.Note, "ms-diagnostics 5025: Callee declined on another endpoint (pool.contoso.com)") {
		t.Errorf("journal note %q lacks the ms-diagnostics", e.Note)
	}
}
