package interop

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// adFraudConf: alice may dial national numbers only (no premium, no
// international, no SIP URIs that name no number). allow_refer is on so
// that the targets of REFERs are judged by her dial policy (by default
// every REFER is refused by rule "refer": anydevice's TestGateRefer); new
// calls are taken only from 127.0.0.1, the trunk.
const adFraudConf = `listen = "127.0.0.1:0"
api = "127.0.0.1:0"
trace_file = "{{TRACE}}"
journal = "{{JOURNAL}}"
invite_sources = ["127.0.0.1/32"]
max_channels = 4

[[users]]
id = "alice"
token_env = "INTEROP_ALICE_TOKEN"
display = "Alice"
numbers = ["+4989100"]
active = ["mobile"]
  [[users.devices]]
  name = "mobile"
  target = "{{MOBILE}}"
  [users.policy]
  allow_refer = true
`

// TestAnyDeviceNotATollFraudMachine (issue 11): a callback to an allowed
// national number reaches a hostile sipp destination, which tries every
// way to make the controller dial for it: REFERs to a premium number, to an
// international number (SIP URI with ;user=phone), to a tel: URI and to a
// percent-escaped premium number; an INVITE with Replaces for its own
// bridged leg, from an unknown source and from the trunk's; and, as the
// destination of a second callback, a 302 to a premium number. A trap sipp
// UAS listens as the premium and international targets: it must see no
// INVITE at all. Each attempt is answered with the right code (sipp fails
// on anything else) and journaled with its rule. The callbacks are placed
// as the user would: `anyphone ctl --user alice dial …`.
func TestAnyDeviceNotATollFraudMachine(t *testing.T) {
	trap := startSipp(t, "uas", "-m", "10")
	mobile := startEndpoint(t)
	ctl := startController(t, strings.ReplaceAll(adFraudConf, "{{MOBILE}}", mobile.URI))
	trapPort := fmt.Sprint(trap.Port)

	t.Run("REFER and Replaces from a bridged destination", func(t *testing.T) {
		scen := adScenario(t, "hostile_refer_uas.xml", map[string]string{
			"TRAP": trapPort, "WAIT_MS": "3000", "HOLD_MS": "5000",
		})
		dest := startSipp(t, scen, "-m", "1")
		destURI := fmt.Sprintf("sip:+4930555@127.0.0.1:%d", dest.Port)
		if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI); err != nil {
			t.Fatalf("callback: %v", err)
		}
		ctl.WaitSession(t, "bridged", 15*time.Second, func(s sessionEvent) bool { return s.Session.State == "bridged" })

		// The bridged leg to sipp, as the controller's trace shows it:
		// Replaces names it from the controller's side (to-tag is the
		// controller's own tag, RFC 3891 §3).
		destPort := fmt.Sprintf("127.0.0.1:%d", dest.Port)
		inv := traceMessage(ctl.Trace, "INVITE sip:+4930555@"+destPort)
		callID := headerParam(inv, "Call-ID:", "")
		ours := headerParam(inv, "From:", "tag=")
		ok := traceFind(ctl.Trace, "SIP/2.0 200 OK", "Call-ID: "+callID, "INVITE")
		theirs := headerParam(ok, "To:", "tag=")
		if callID == "" || ours == "" || theirs == "" {
			t.Fatalf("no dialog of the bridged leg in the trace (call-id %q, tags %q %q):\n%s\n%s", callID, ours, theirs, inv, ok)
		}
		replaces := fmt.Sprintf("%s;to-tag=%s;from-tag=%s", callID, ours, theirs)
		for _, src := range []string{"127.0.0.2", "127.0.0.1"} {
			mallory := startSipp(t, "testdata/anydevice/replaces_uac.xml", "-i", src, "-key", "replaces", replaces,
				"-m", "1", ctl.Addr)
			if code, err := mallory.Wait(15 * time.Second); err != nil || code != 0 {
				t.Errorf("INVITE with Replaces from %s: sipp exit %d, %v (want a 403)\n%s", src, code, err, tailString(mallory.Output(), 4<<10))
			}
		}
		if code, err := dest.Wait(30 * time.Second); err != nil || code != 0 {
			t.Fatalf("hostile destination: sipp exit %d, %v (a REFER was not answered 403)\n%s", code, err, tailString(dest.Output(), 4<<10))
		}
		ended := ctl.WaitSession(t, "session ended", 15*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
		t.Logf("session ended: %s", ended.Session.End)
	})

	t.Run("302 to a premium number", func(t *testing.T) {
		dest := startSipp(t, adScenario(t, "redirect_uas.xml", map[string]string{"TRAP": trapPort}), "-m", "1")
		destURI := fmt.Sprintf("sip:+4930666@127.0.0.1:%d", dest.Port)
		if _, err := ctlAs(t, ctl, "alice", "alice-token", "dial", destURI); err != nil {
			t.Fatalf("callback: %v", err)
		}
		ended := ctl.WaitSession(t, "session ended", 20*time.Second, func(s sessionEvent) bool { return s.Event == "session_ended" })
		if !strings.Contains(ended.Session.End, "302") && !strings.HasPrefix(ended.Session.End, "remote") {
			t.Errorf("session end %q, want the remote leg's 302", ended.Session.End)
		}
		if code, err := dest.Wait(15 * time.Second); err != nil || code != 0 {
			t.Errorf("redirecting destination: sipp exit %d, %v\n%s", code, err, tailString(dest.Output(), 4<<10))
		}
	})

	// The trap: not one INVITE reached the premium or international number.
	time.Sleep(1500 * time.Millisecond) // one more -fd 1 statistics row
	if n := trap.StatInt(t, "IncomingCall(C)"); n != 0 {
		t.Errorf("the trap UAS received %d INVITEs: the controller dialled for the attacker", n)
	}
	if i := traceIndex(ctl.Trace, "INVITE sip:+49900"); i >= 0 {
		t.Errorf("the controller sent an INVITE to a premium number (trace offset %d)", i)
	}
	if i := traceIndex(ctl.Trace, "INVITE sip:+1212"); i >= 0 {
		t.Errorf("the controller sent an INVITE to an international number (trace offset %d)", i)
	}

	// Every attempt is a journal row naming its rule.
	j, err := journal.Open(ctl.Journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	want := map[string]int{"anydevice:premium": 3, "anydevice:international": 1, "anydevice:sip-source": 1,
		"anydevice:replaces": 1, "anydevice:redirect": 1}
	var got map[string]int
	waitFor(5*time.Second, func() bool {
		got = map[string]int{}
		for _, user := range []string{"alice", "anydevice"} {
			rows, _ := j.List(context.Background(), journal.Filter{User: user})
			for _, r := range rows {
				if strings.HasPrefix(r.BusyRule, "anydevice:") && r.Outcome == journal.OutcomeFailed {
					got[r.BusyRule]++
				}
			}
		}
		for k, n := range want {
			if got[k] < n {
				return false
			}
		}
		return true
	})
	var missing []string
	for k, n := range want {
		if got[k] < n {
			missing = append(missing, fmt.Sprintf("%s: %d of %d", k, got[k], n))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("journal rows of refusals missing: %s (all: %v)", strings.Join(missing, "; "), got)
	}
}

// traceFind returns the first traced message that contains every needle
// (anywhere in the message, not on one line).
func traceFind(path string, needles ...string) string {
	b, _ := os.ReadFile(path)
	for _, msg := range strings.Split(string(b), "\n=== ") {
		all := true
		for _, n := range needles {
			if !strings.Contains(msg, n) {
				all = false
				break
			}
		}
		if all {
			return msg
		}
	}
	return ""
}

// headerParam returns, from a traced message, the value of header (the
// whole value when param is "", else the value of that parameter).
func headerParam(msg, header, param string) string {
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(strings.ToLower(line), strings.ToLower(header)) {
			continue
		}
		v := strings.TrimSpace(line[len(header):])
		if param == "" {
			return v
		}
		m := regexp.MustCompile(regexp.QuoteMeta(param) + `([^;>\s]+)`).FindStringSubmatch(v)
		if m != nil {
			return m[1]
		}
	}
	return ""
}
