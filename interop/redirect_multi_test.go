package interop

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// TestRedirectContactsInQOrder (issue 13, RFC 3261 §8.1.3.4): a sipp
// redirect server answers 302 with two Contacts, the voicemail (q=0.5)
// listed before a busy phone (q=0.9). The caller calls the busy phone
// first, gets 486, then calls the voicemail, which answers; each target is
// a redirected event, the second saying why, and the journal names both.
func TestRedirectContactsInQOrder(t *testing.T) {
	needInterop(t)
	busy := startSipp(t, filepath.Join("testdata", "redirect", "busy_uas.xml"), "-m", "1")
	vm := startSipp(t, filepath.Join("testdata", "redirect", "second_target_uas.xml"), "-m", "1")
	redir := startSipp(t, filepath.Join("testdata", "redirect", "multi_302_uas.xml"), "-m", "1",
		"-key", "busy_port", strconv.Itoa(busy.Port), "-key", "vm_port", strconv.Itoa(vm.Port))
	busyURI := "sip:busy@127.0.0.1:" + strconv.Itoa(busy.Port)
	vmURI := "sip:vm@127.0.0.1:" + strconv.Itoa(vm.Port)

	jpath := filepath.Join(t.TempDir(), "journal.db")
	caller := startEndpoint(t, "--name", "alice", "--dial", "sip:desk@127.0.0.1:"+strconv.Itoa(redir.Port),
		"--hangup-after", "1s", "--journal", jpath)
	evs, err := caller.WaitEvents(func(ev Event) bool { return ev.Event == "redirected" }, 2, 15*time.Second)
	if err != nil {
		t.Fatalf("want two redirected events: %v", err)
	}
	for i, ev := range evs {
		t.Logf("redirected %d: %s", i+1, ev.Raw)
	}
	if !strings.Contains(evs[0].Raw, `"to":"`+busyURI) || strings.Contains(evs[0].Raw, `"after"`) {
		t.Errorf("first target = %s, want the q=0.9 %s", evs[0].Raw, busyURI)
	}
	if !strings.Contains(evs[1].Raw, `"to":"`+vmURI) || !strings.Contains(evs[1].Raw, "answered 486 Busy Here") {
		t.Errorf("second target = %s, want %s after the 486", evs[1].Raw, vmURI)
	}
	code, sum, err := caller.Wait(20 * time.Second)
	if err != nil || code != 0 || sum == nil || sum.Answered != 1 {
		t.Fatalf("caller: exit %d, %v, summary %+v; want the second target to answer", code, err, sum)
	}
	for name, s := range map[string]*sipp{"busy": busy, "second target": vm, "redirect server": redir} {
		if c, err := s.Wait(10 * time.Second); err != nil || c != 0 {
			t.Errorf("sipp %s: exit %d, %v\n%s", name, c, err, tailString(s.Output(), 4<<10))
		}
	}
	rows := journalRows(t, jpath)
	if len(rows) != 1 {
		t.Fatalf("caller journal: %d rows, want 1", len(rows))
	}
	e := rows[0]
	t.Logf("journal: outcome %s, remote %s, note %q", e.Outcome, e.Remote.URI, e.Note)
	if e.Outcome != journal.OutcomeAnswered || !strings.Contains(e.Note, "redirected by 302 to "+busyURI) ||
		!strings.Contains(e.Note, "redirected by 302 to "+vmURI+" ("+busyURI) || !strings.Contains(e.Note, "answered by "+vmURI) {
		t.Errorf("journal note %q: want both targets, the 486 and the answer", e.Note)
	}
}

// TestRedirect305And380NotFollowed (issue 13): 305 Use Proxy is refused
// (a proxy chosen by a response is not trusted) and 380 Alternative
// Service is shown with its text, never called; the call's end note and
// the journal say so.
func TestRedirect305And380NotFollowed(t *testing.T) {
	needInterop(t)
	for _, tc := range []struct {
		scenario string
		code     int
		want     []string
	}{
		{"use_proxy_uas.xml", 305, []string{"not followed: Use Proxy", "proxy.evil.example", "not trusted"}},
		{"alternative_uas.xml", 380, []string{"not followed: Alternative Service", "helpdesk@127.0.0.1", "Office closed: call the help desk"}},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			s := startSipp(t, filepath.Join("testdata", "redirect", tc.scenario), "-m", "1")
			jpath := filepath.Join(t.TempDir(), "journal.db")
			caller := startEndpoint(t, "--name", "alice", "--dial", "sip:desk@127.0.0.1:"+strconv.Itoa(s.Port), "--journal", jpath)
			ev, err := caller.WaitEvent(func(ev Event) bool {
				return ev.Event == "call" && ev.Call != nil && ev.Call.State == "ended"
			}, 10*time.Second)
			if err != nil {
				t.Fatalf("%d: the call did not end: %v", tc.code, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ev.Raw, w) {
					t.Errorf("%d: ended call %s lacks %q", tc.code, ev.Raw, w)
				}
			}
			if _, err := caller.WaitEvent(func(ev Event) bool { return ev.Event == "redirected" }, 0); err == nil {
				t.Errorf("%d was followed", tc.code)
			}
			if c, err := s.Wait(10 * time.Second); err != nil || c != 0 {
				t.Errorf("sipp: exit %d, %v", c, err)
			}
			rows := journalRows(t, jpath)
			if len(rows) != 1 || rows[0].Code != tc.code || !strings.Contains(rows[0].Note, tc.want[len(tc.want)-1]) {
				t.Errorf("%d: journal %+v", tc.code, rows)
			}
			if len(rows) == 1 {
				t.Logf("%d: journal outcome %s, note %q", tc.code, rows[0].Outcome, rows[0].Note)
			}
		})
	}
}
