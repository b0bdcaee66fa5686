package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// Issue 4 against real peers: secondary calls and CANCEL reasons from sipp,
// busy-on-busy and voicemail during a call with baresip, kamailio forking
// one call to two anyphone instances. The endpoint journals every call
// with --journal; the tests open that SQLite file (WAL: readable while the
// endpoint runs) and check the rows.

// busyScenario writes testdata/busy/name with the placeholders filled in
// to a temp file and returns its path.
func busyScenario(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "busy", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: unfilled placeholder at %q", name, s[i:min(len(s), i+20)])
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// xmlAttr escapes s for a double-quoted XML attribute.
func xmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// headerLines renders SIP header lines for a scenario (indented like the
// rest of its message; sipp strips the indentation).
func headerLines(hs ...string) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString("      " + h + "\n")
	}
	return b.String()
}

// sippCallID returns sipp arguments that make its one call's Call-ID
// unique and known: prefix-1@127.0.0.1 (sipp maps responses by the
// Call-ID it generates, so scenarios must use [call_id]).
func sippCallID(prefix string) (args []string, callID string) {
	prefix = fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	return []string{"-cid_str", prefix + "-%u@%s"}, prefix + "-1@127.0.0.1"
}

// runSipp runs a one-call sipp scenario against target and fails t unless
// sipp exits 0.
func runSipp(t *testing.T, scenario, target string, args ...string) {
	t.Helper()
	s := startSipp(t, scenario, append([]string{target, "-m", "1", "-s", "bob"}, args...)...)
	code, err := s.Wait(30 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("sipp %s: exit %d, %v\n%s", filepath.Base(scenario), code, err, tailString(s.Output(), 4<<10))
	}
}

// journalRow waits up to 5 s for the journal at path to hold the call with
// this SIP Call-ID and returns it.
func journalRow(t *testing.T, path, sipCallID string) journal.Entry {
	t.Helper()
	j, err := journal.Open(path)
	if err != nil {
		t.Fatalf("open journal: %v", err)
	}
	defer j.Close()
	var found journal.Entry
	ok := waitFor(5*time.Second, func() bool {
		rows, err := j.List(context.Background(), journal.Filter{})
		if err != nil {
			t.Fatalf("journal list: %v", err)
		}
		for _, e := range rows {
			if e.SIPCallID == sipCallID {
				found = e
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("journal %s has no row for Call-ID %s", path, sipCallID)
	}
	return found
}

// TestSippSecondaryCallsJournal: sipp sends withdrawn calls to an endpoint
// that never answers: secondary calls (History-Info with each
// ms-retarget-reason) cancelled without a Reason, and primary calls
// cancelled with Reason: SIP;cause=200 (with and without text) and with no
// Reason. The journal must say: not missed for the withdrawn secondary
// calls, answered elsewhere for cause 200, missed for the plain CANCEL.
func TestSippSecondaryCallsJournal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "journal.db")
	ep := startEndpoint(t, "--answer", "manual", "--journal", db, "--user", "bob")
	hi := func(reason string) []string {
		return []string{fmt.Sprintf("History-Info: <sip:carol@127.0.0.1>;index=1;ms-retarget-reason=%s,<sip:bob@%s>;index=1.1", reason, ep.Addr)}
	}
	tests := []struct {
		name      string
		headers   []string
		reason    string // the CANCEL's Reason header value, "" for none
		outcome   journal.Outcome
		missed    bool
		secondary phone.SecondaryKind
		why       string // in the row's secondary text
	}{
		{"team call withdrawn", hi("team-call"), "", journal.OutcomeCallerCancelled, false, phone.SecondaryTeamCall, "team call for carol"},
		{"delegate call withdrawn", hi("delegation"), "", journal.OutcomeCallerCancelled, false, phone.SecondaryDelegate, "delegated call for carol"},
		{"forwarded call withdrawn", hi("forwarding"), "", journal.OutcomeCallerCancelled, false, phone.SecondaryForwarded, "forwarded from carol"},
		{"response group call withdrawn", hi("acd"), "", journal.OutcomeCallerCancelled, false, phone.SecondaryResponseGroup, "response group carol"},
		{"team call answered by a colleague", hi("team-call"), `SIP;cause=200;text="Call completed elsewhere"`, journal.OutcomeAnsweredElsewhere, false, phone.SecondaryTeamCall, "team call"},
		{"cause 200 with text", nil, `SIP;cause=200;text="Call completed elsewhere"`, journal.OutcomeAnsweredElsewhere, false, phone.SecondaryNone, ""},
		{"cause 200 without text", nil, "SIP;cause=200", journal.OutcomeAnsweredElsewhere, false, phone.SecondaryNone, ""},
		{"plain cancel", nil, "", journal.OutcomeCallerCancelled, true, phone.SecondaryNone, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cid, callID := sippCallID(fmt.Sprintf("busy-sec-%d", i))
			reason := ""
			if tc.reason != "" {
				reason = headerLines("Reason: " + tc.reason)
			}
			sc := busyScenario(t, "uac_cancel.xml", map[string]string{
				"FROM": "alice", "HEADERS": headerLines(tc.headers...), "CANCEL_REASON": reason,
			})
			runSipp(t, sc, ep.Addr, cid...)
			e := journalRow(t, db, callID)
			if e.Outcome != tc.outcome || e.Missed != tc.missed || e.Secondary != tc.secondary || !strings.Contains(e.SecondaryText, tc.why) {
				t.Errorf("row: outcome %s missed %v secondary %s %q; want %s %v %s %q", e.Outcome, e.Missed, e.Secondary, e.SecondaryText,
					tc.outcome, tc.missed, tc.secondary, tc.why)
			}
			if e.User != "bob" || e.Direction != phone.Incoming || e.Remote.URI == "" || e.Ended.IsZero() {
				t.Errorf("row: %+v", e)
			}
		})
	}
}

// TestBusyDuringBaresipCall: baresip calls the endpoint, which answers;
// during that call (answered by a stdin command) sipp calls too. Under --busy busy sipp must get 486 with
// Reason: Q.850;cause=17, under --busy voicemail a 302 to the voicemail URI
// with Diversion and History-Info (sipp checks the headers of the 302 with
// ereg; it does not follow the redirect), and a VIP caller must still be
// alerted (180, shown as call waiting) in both.
func TestBusyDuringBaresipCall(t *testing.T) {
	const vm = "sip:vm@127.0.0.1:15999"
	tests := []struct {
		name   string
		flags  []string
		code   string
		checks []string // header: regexp pairs for the final response
		rule   string
	}{
		{"busy", []string{"--busy", "busy"}, "486", []string{"Reason:", `Q\.850;cause=17`}, "busy-policy"},
		{"voicemail", []string{"--busy", "voicemail", "--voicemail", vm}, "302", []string{
			"Contact:", `<sip:vm@127\.0\.0\.1:15999;target=`,
			"Diversion:", `<sip:service@127\.0\.0\.1:[0-9]+>;reason=user-busy`,
			"History-Info:", `index=1\.1;mp=1`,
		}, "busy-policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "journal.db")
			// Manual answer, so the VIP call below keeps ringing.
			args := append([]string{"--answer", "manual", "--journal", db, "--vip", "sip:vip@*"}, tc.flags...)
			ep := startEndpoint(t, args...)
			bs := startBaresip(t, baresipOpts{Tone: 440})
			if _, err := bs.Command("dial", ep.URI, 3*time.Second); err != nil {
				t.Fatal(err)
			}
			in, err := ep.WaitEvent(isCall("incoming"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := ep.Send(map[string]any{"id": "1", "cmd": "answer", "args": map[string]any{"call_id": in.Call.ID}}); err != nil {
				t.Fatal(err)
			}
			if _, err := bs.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
				t.Fatal(err)
			}

			cid, callID := sippCallID("busy-" + tc.name)
			var (
				checks strings.Builder
				refs   []string
			)
			for i := 0; i < len(tc.checks); i += 2 {
				refs = append(refs, fmt.Sprintf(`  <Reference variables="m%d"/>`, i/2))
				fmt.Fprintf(&checks, "      <ereg regexp=\"%s\" search_in=\"hdr\" header=\"%s\" check_it=\"true\" assign_to=\"m%d\"/>\n",
					xmlAttr(tc.checks[i+1]), xmlAttr(tc.checks[i]), i/2)
			}
			sc := busyScenario(t, "uac_reject.xml", map[string]string{
				"FROM": "alice", "CODE": tc.code, "CHECKS": checks.String(), "REFS": strings.Join(refs, "\n"),
			})
			s := startSipp(t, sc, append([]string{ep.Addr, "-m", "1", "-s", "service"}, cid...)...)
			if code, err := s.Wait(30 * time.Second); err != nil || code != 0 {
				t.Fatalf("sipp: exit %d, %v (the %s or its headers did not arrive)\n%s", code, err, tc.code, tailString(s.Output(), 4<<10))
			}
			e := journalRow(t, db, callID)
			if strconv.Itoa(e.Code) != tc.code || e.BusyRule != tc.rule || !e.Missed {
				t.Errorf("journal row of the refused call: code %d rule %q missed %v; want %s %s missed", e.Code, e.BusyRule, e.Missed, tc.code, tc.rule)
			}

			// A VIP is still alerted: 180, then the caller gives up.
			vcid, vipID := sippCallID("busy-vip-" + tc.name)
			runSipp(t, busyScenario(t, "uac_cancel.xml", map[string]string{
				"FROM": "vip", "HEADERS": "", "CANCEL_REASON": "",
			}), ep.Addr, vcid...)
			if e := journalRow(t, db, vipID); e.BusyRule != "vip" {
				t.Errorf("VIP call: rule %q, want vip (%+v)", e.BusyRule, e)
			}
			if _, err := ep.WaitEvent(func(ev Event) bool {
				return ev.Event == "call" && ev.Call != nil && ev.Call.SIPCallID == vipID && strings.Contains(ev.Raw, `"screen":"wait"`)
			}, 5*time.Second); err != nil {
				t.Errorf("VIP call never shown as call waiting: %v", err)
			}
			// The first call went on undisturbed.
			if _, err := bs.Command("hangup", "", 3*time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := bs.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// startBusyKamailio runs testdata/busy/kamailio.cfg on a free port and
// returns that port.
func startBusyKamailio(t *testing.T) int {
	t.Helper()
	bin := lookPeer(t, "kamailio")
	dir := t.TempDir()
	port := freePort(t, 1)
	b, err := os.ReadFile(filepath.Join("testdata", "busy", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("SIP_PORT", strconv.Itoa(port), "CTL_SOCKET_PATH", filepath.Join(dir, "ctl.sock"),
		"VM_PORT", strconv.Itoa(freePort(t, 1))).Replace(string(b))
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := startProc(t, bin, dir, nil, "-f", path, "-DD", "-E", "-w", dir, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	if !waitFor(5*time.Second, func() bool { return strings.Contains(k.Output(), "INFO") && !k.Exited() && portTaken(port) }) {
		t.Fatalf("kamailio did not start on %d (exited: %v)", port, k.Exited())
	}
	return port
}

// portTaken reports whether something listens on UDP port p of 127.0.0.1.
func portTaken(p int) bool { return !portFree(p) }

// TestKamailioForkAnsweredElsewhere: two anyphone endpoints register the
// same AOR with kamailio, which forks an incoming call to both; one answers
// at once, so kamailio CANCELs the other with Reason: SIP;cause=200. The
// other's journal must say answered elsewhere, not missed.
func TestKamailioForkAnsweredElsewhere(t *testing.T) {
	port := startBusyKamailio(t)
	aor := fmt.Sprintf("sip:bob@127.0.0.1:%d", port)
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", port)
	db := filepath.Join(t.TempDir(), "journal.db")
	desk := startEndpoint(t, "--name", "bob", "--account", aor, "--registrar", registrar, "--answer", "manual",
		"--journal", db, "--device", "desk")
	mobile := startEndpoint(t, "--name", "bob", "--account", aor, "--registrar", registrar, "--answer", "auto",
		"--answer-delay", "500ms", "--hangup-after", "1s")
	for _, ep := range []*Endpoint{desk, mobile} {
		if _, err := ep.WaitEvent(func(ev Event) bool {
			return ev.Event == "registration" && ev.Registration != nil && ev.Registration.State == "registered"
		}, 10*time.Second); err != nil {
			t.Fatalf("%s not registered: %v", ep.Addr, err)
		}
	}
	caller := startEndpoint(t, "--name", "alice", "--dial", aor, "--expect-calls", "1", "--exit-after", "20s")
	if code, sum, err := caller.Wait(25 * time.Second); err != nil || code != 0 {
		t.Fatalf("caller: exit %d, summary %+v, %v", code, sum, err)
	}
	ev, err := desk.WaitEvent(func(ev Event) bool { return ev.Event == "call" && ev.Call != nil && ev.Call.State == "ended" }, 5*time.Second)
	if err != nil {
		t.Fatalf("desk: %v", err)
	}
	if ev.Call.End == nil || ev.Call.End.Cause != "answered-elsewhere" {
		t.Errorf("desk call ended %+v, want answered-elsewhere", ev.Call.End)
	}
	e := journalRow(t, db, ev.Call.SIPCallID)
	if e.Outcome != journal.OutcomeAnsweredElsewhere || e.Missed || e.Device != "desk" || e.User != aor {
		t.Errorf("desk journal row: %+v; want answered-elsewhere, not missed, user %s", e, aor)
	}
}
