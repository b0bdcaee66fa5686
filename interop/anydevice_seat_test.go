package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// adSeatConf is the controller of TestAnyDeviceFromTheSeat: it registers
// alice's number at kamailio (digest), her mobile is baresip, her desk an
// anyphone endpoint; she may ring both at once (allow_simring) and call
// SIP URIs (the sipp destination and the consulted colleague).
const adSeatConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
allow_sources = ["127.0.0.0/8"]

[account]
aor = "sip:+4989100@127.0.0.1:{{KPORT}}"
registrar = "sip:127.0.0.1:{{KPORT}}"
password_env = "INTEROP_ALICE_PW"

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
display = "Alice"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "desk"
  target = "{{DESK}}"
  [[users.devices]]
  name = "mobile"
  target = "{{MOBILE}}"
  [users.policy]
  uris = true
  allow_simring = true
`

// ctlCall is one row of `anyphone ctl status`.
type ctlCall struct{ ID, Direction, State, Device string }

// ctlCalls runs `ctl status` as alice and returns its calls by id.
func ctlCalls(t *testing.T, c *controllerProc) map[string]ctlCall {
	t.Helper()
	out, err := ctlAs(t, c, "alice", "alice-token", "status")
	if err != nil {
		t.Fatalf("ctl status: %v", err)
	}
	calls := map[string]ctlCall{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] == "CALL" || (f[1] != "incoming" && f[1] != "outgoing") {
			continue
		}
		calls[f[0]] = ctlCall{f[0], f[1], f[2], f[3]}
	}
	return calls
}

// waitCall polls `ctl status` until call id satisfies ok.
func waitCall(t *testing.T, c *controllerProc, what, id string, ok func(ctlCall, bool) bool) ctlCall {
	t.Helper()
	var got ctlCall
	var found bool
	if !waitFor(10*time.Second, func() bool {
		got, found = ctlCalls(t, c)[id]
		return ok(got, found)
	}) {
		t.Fatalf("ctl status: %s never showed %s (last: %+v, listed %v)", id, what, got, found)
	}
	return got
}

// bsCount waits until baresip has reported n events of type typ.
func bsCount(t *testing.T, b *baresip, typ string, n int, timeout time.Duration) {
	t.Helper()
	seen := 0
	if _, err := b.Wait(func(m bsMsg) bool {
		if m.Event && m.Type == typ {
			seen++
		}
		return seen >= n
	}, timeout); err != nil {
		t.Fatalf("baresip: %d×%s: %v", n, typ, err)
	}
}

// TestAnyDeviceFromTheSeat (issue 10): alice at her seat drives every call
// through `anyphone ctl --user alice` against a shared `anyphone
// controller` that registered her number at kamailio with digest auth.
//
//   - `ctl dial` to a sipp destination rings her mobile (baresip) first,
//     then sipp, which checks the One-Number identity (From and PAI carry
//     the office number); baresip hears its own tone back through the
//     relay and sipp's echo (both ways).
//   - `ctl status` lists the call on the mobile; `ctl hold`/`resume` reach
//     sipp as re-INVITEs; `ctl move … desk` rings the desk (an anyphone
//     endpoint), which answers, and the mobile gets BYE.
//   - `ctl consult` calls a colleague (another endpoint) from the call on the
//     desk; `ctl complete` connects sipp and the colleague (she hears her
//     tone back from sipp's echo) and the desk leaves.
//   - `ctl device desk,mobile`: an external caller (sipp through kamailio)
//     reaches alice's number, desk and mobile ring (follow-me); the caller
//     gives up: one missed call in all of alice's journals (the
//     controller's), the desk's row is a secondary call.
func TestAnyDeviceFromTheSeat(t *testing.T) {
	k := startKamailio(t, true)
	bs := startBaresip(t, baresipOpts{User: "alice-mobile", Tone: 1000})
	dir := t.TempDir()
	deskJournal := filepath.Join(dir, "desk.db")
	desk := startEndpoint(t, "--name", "alice-desk", "--answer", "manual", "--journal", deskJournal, "--user", "alice")
	colleagueRec := filepath.Join(dir, "colleague.wav")
	colleague := startEndpoint(t, "--name", "+4930666", "--audio", "tone:600", "--record", colleagueRec)
	conf := strings.NewReplacer("{{KPORT}}", fmt.Sprint(k.Port), "{{DESK}}", desk.URI, "{{MOBILE}}", bs.AOR).Replace(adSeatConf)
	ctl := startController(t, conf)
	if !waitFor(10*time.Second, func() bool { return hasPort(k.Bindings(t, adOffice), mustPort(t, ctl.Addr)) }) {
		t.Fatalf("the controller never registered %s at kamailio: bindings %v", adOffice, k.Bindings(t, adOffice))
	}
	as := func(args ...string) string {
		t.Helper()
		out, err := ctlAs(t, ctl, "alice", "alice-token", args...)
		if err != nil {
			t.Fatalf("ctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}

	// The callback: mobile first, then the destination as the office number.
	scen := adScenario(t, "dest_midcall_uas.xml", map[string]string{"OFFICE": adOffice, "RING_MS": "1500"})
	dest := startSipp(t, scen, "-rtp_echo", "-m", "1")
	destURI := fmt.Sprintf("sip:+4930555@127.0.0.1:%d", dest.Port)
	id := as("dial", destURI)
	in, err := bs.WaitEvent("CALL_INCOMING", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.PeerURI, "+4930555") {
		t.Errorf("the mobile sees caller %q, want the destination +4930555", in.PeerURI)
	}
	if _, err := bs.Command("accept", "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })
	if c := waitCall(t, ctl, "active on the mobile", id, func(c ctlCall, ok bool) bool { return ok && c.State == "active" }); c.Device != "mobile" {
		t.Errorf("ctl status: %+v, want the call on the mobile", c)
	}
	// Its SIP ladder, as for a desk call: the legs at the controller.
	if lad := as("ladder", id); !strings.Contains(lad, "mobile: INVITE") || !strings.Contains(lad, "remote: 200 OK") {
		t.Errorf("ctl ladder %s lacks the mobile's INVITE or the destination's 200:\n%s", id, lad)
	}
	// Talk: the mobile's 1000 Hz goes to sipp and comes back (the audio
	// under test, measured below; not a wait for an event).
	time.Sleep(3 * time.Second)

	// Hold and resume from the seat: sipp gets both re-INVITEs.
	as("hold", id)
	waitCall(t, ctl, "held", id, func(c ctlCall, ok bool) bool { return ok && c.State == "held" })
	as("resume", id)
	waitCall(t, ctl, "resumed", id, func(c ctlCall, ok bool) bool { return ok && c.State == "active" })
	destPort := fmt.Sprintf("127.0.0.1:%d", dest.Port)
	if hold := traceMessage(ctl.Trace, "INVITE sip:dest@"+destPort); !strings.Contains(hold, "a=sendonly") && !strings.Contains(hold, "a=inactive") {
		t.Errorf("the destination's first re-INVITE is no hold:\n%s", hold)
	}

	// Move to the desk: it rings, answers, the mobile is let go.
	as("move", id, "desk")
	ring, err := desk.WaitEvent(isCall("incoming"), 10*time.Second)
	if err != nil {
		t.Fatalf("the desk never rang for the move: %v", err)
	}
	if err := desk.Send(map[string]any{"id": "1", "cmd": "answer", "args": map[string]any{"call_id": ring.Call.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the mobile kept the call after the move: %v", err)
	}
	waitCall(t, ctl, "on the desk", id, func(c ctlCall, ok bool) bool { return ok && c.State == "active" && c.Device == "desk" })
	echo := segmentTone(t, bs.Heard(t), 1000, 1500*time.Millisecond, 0)
	t.Logf("the mobile heard %.2f s loud, 1000 Hz ratio %.3f", echo.LoudSeconds, echo.Ratio)
	if echo.LoudSeconds < 1.5 || echo.Ratio < 0.5 {
		t.Errorf("the mobile did not hear its tone back through the relay and sipp: %+v", echo)
	}

	// Consult a colleague from the desk, then hand the destination over.
	cid := as("consult", id, colleague.URI)
	if _, err := colleague.WaitEvent(isCall("active"), 10*time.Second); err != nil {
		t.Fatalf("the colleague never answered the consultation: %v", err)
	}
	waitCall(t, ctl, "the consultation active", cid, func(c ctlCall, ok bool) bool { return ok && c.State == "active" })
	as("complete", id)
	if _, err := desk.WaitEvent(isCall("ended"), 10*time.Second); err != nil {
		t.Fatalf("the desk stayed in the call after the transfer: %v", err)
	}
	// The colleague talks to sipp, which echoes: the audio under test.
	time.Sleep(3 * time.Second)
	act, err := colleague.WaitEvent(isCall("active"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := colleague.Send(map[string]any{"id": "1", "cmd": "hangup", "args": map[string]any{"call_id": act.Call.ID}}); err != nil {
		t.Fatal(err)
	}
	if code, err := dest.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp destination: exit %d, %v (its One-Number checks or the call failed)\n%s", code, err, tailString(dest.Output(), 4<<10))
	}
	if _, err := colleague.WaitEvent(isCall("ended"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	heard := segmentTone(t, colleagueRec, 600, 0, 0)
	t.Logf("the colleague heard %.2f s loud, 600 Hz ratio %.3f", heard.LoudSeconds, heard.Ratio)
	if heard.LoudSeconds < 1.5 || heard.Ratio < 0.5 {
		t.Errorf("the colleague did not hear her tone back from the destination after the transfer: %+v", heard)
	}
	ctl.WaitSession(t, "session ended", 10*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
	waitCall(t, ctl, "gone", id, func(_ ctlCall, ok bool) bool { return !ok })

	// Follow-me: desk and mobile ring for a call to alice's number; the
	// caller gives up.
	if got := as("device", "desk,mobile"); got != "desk mobile" {
		t.Fatalf("ctl device desk,mobile: %q", got)
	}
	cscen := adScenario(t, "caller_gives_up_uac.xml", map[string]string{"NUMBER": adOffice, "RING_MS": "3000"})
	caller := startSipp(t, cscen, fmt.Sprintf("127.0.0.1:%d", k.Port), "-m", "1")
	if _, err := desk.WaitEvents(isCall("incoming"), 2, 10*time.Second); err != nil {
		t.Fatalf("the desk never rang for the follow-me call: %v", err)
	}
	bsCount(t, bs, "CALL_INCOMING", 2, 10*time.Second)
	if code, err := caller.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp caller: exit %d, %v\n%s", code, err, tailString(caller.Output(), 4<<10))
	}
	if _, err := desk.WaitEvents(isCall("ended"), 2, 10*time.Second); err != nil {
		t.Fatalf("the desk kept ringing after the caller gave up: %v", err)
	}
	bsCount(t, bs, "CALL_CLOSED", 2, 10*time.Second)

	// One missed call, in the controller's journal; the desk's row of the
	// same call is secondary (History-Info), not a second missed call.
	missed := func(path string, want int) []journal.Entry {
		t.Helper()
		j, err := journal.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		var rows []journal.Entry
		waitFor(5*time.Second, func() bool {
			rows, _ = j.List(context.Background(), journal.Filter{})
			n := 0
			for _, r := range rows {
				if r.IsMissed() {
					n++
				}
			}
			return n >= want && len(rows) >= 2
		})
		return rows
	}
	count := func(rows []journal.Entry) (n int) {
		for _, r := range rows {
			if r.IsMissed() {
				n++
			}
		}
		return n
	}
	ctlRows := missed(ctl.Journal, 1)
	deskRows := missed(deskJournal, 0)
	for _, r := range ctlRows {
		t.Logf("controller journal: %s %s %s via %s secondary=%v missed=%v", r.Direction, r.Remote.URI, r.Outcome, r.Device, r.Secondary, r.IsMissed())
	}
	for _, r := range deskRows {
		t.Logf("desk journal: %s %s %s secondary=%v missed=%v", r.Direction, r.Remote.URI, r.Outcome, r.Secondary, r.IsMissed())
	}
	if n := count(ctlRows); n != 1 {
		t.Errorf("the controller journaled %d missed calls, want 1", n)
	}
	if n := count(deskRows); n != 0 {
		t.Errorf("the desk journaled %d missed calls, want 0 (the controller's call, secondary here)", n)
	}
	// From the seat: the controller's journal, alice's rows.
	if out := as("journal"); !strings.Contains(out, "+4930777") || !strings.Contains(out, "caller-cancelled") || !strings.Contains(out, "+4930555") {
		t.Errorf("ctl journal as alice lacks the missed call or the callback:\n%s", out)
	}
}
