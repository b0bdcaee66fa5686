package interop

// Issue 3 against real peers: hold in the initial INVITE followed by a
// REFER (the 3PCC call-centre flow) and the strict peer's 488 (sipp).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/ctl"
)

// midEvent is the mid-call view of one endpoint JSON line: the fields of
// the transfer_progress, refer_received and initial_hold_result events
// (named by cti/ctl) and the hold and transfer fields of a call
// (harness_test.go's Event leaves them out).
type midEvent struct {
	Event      string   `json:"event"`
	CallID     string   `json:"call_id"`
	Target     string   `json:"target"`
	Code       int      `json:"code"`
	Reason     string   `json:"reason"`
	Final      bool     `json:"final"`
	OK         bool     `json:"ok"`
	ReferredBy string   `json:"referred_by"`
	Replaces   bool     `json:"replaces"`
	Pending    bool     `json:"pending"`
	Accepted   bool     `json:"accepted"`
	Dialect    string   `json:"dialect"`
	Tried      []string `json:"tried"`
	Call       *midCall `json:"call"`
}

// midCall is the call object with the mid-call fields.
type midCall struct {
	ID              string   `json:"id"`
	SIPCallID       string   `json:"sip_call_id"`
	Direction       string   `json:"direction"`
	State           string   `json:"state"`
	LocalHold       bool     `json:"local_hold"`
	RemoteHold      bool     `json:"remote_hold"`
	HoldDialect     string   `json:"hold_dialect"`
	ReferredBy      string   `json:"referred_by"`
	TransferredFrom string   `json:"transferred_from"`
	Replaced        string   `json:"replaced"`
	Conference      string   `json:"conference"`
	End             *EndInfo `json:"end"`
	Remote          struct {
		URI  string `json:"uri"`
		User string `json:"user"`
	} `json:"remote"`
}

// mid decodes the mid-call fields of an endpoint event.
func mid(ev Event) midEvent {
	var m midEvent
	_ = json.Unmarshal([]byte(ev.Raw), &m)
	return m
}

// midPred adapts a predicate on midEvent to the harness's WaitEvent.
func midPred(f func(midEvent) bool) func(Event) bool {
	return func(ev Event) bool { return f(mid(ev)) }
}

// midCallIs matches call events of call id (any call when "") in state
// (any state when "").
func midCallIs(id, state string) func(midEvent) bool {
	return func(m midEvent) bool {
		return m.Event == "call" && m.Call != nil && (id == "" || m.Call.ID == id) && (state == "" || m.Call.State == state)
	}
}

// midTestdata returns the path of a file in testdata/midcall.
func midTestdata(name string) string { return filepath.Join("testdata", "midcall", name) }

// sippOK fails t unless sipp exits 0 within timeout with calls successful
// and no failed calls.
func sippOK(t *testing.T, s *sipp, calls int, timeout time.Duration) {
	t.Helper()
	code, err := s.Wait(timeout)
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, tailString(s.Output(), 4<<10))
	}
	ok, failed := s.StatInt(t, "SuccessfulCall(C)"), s.StatInt(t, "FailedCall(C)")
	if code != 0 || ok != calls || failed != 0 {
		t.Fatalf("sipp: exit %d, %d successful, %d failed; want 0, %d, 0\n%s", code, ok, failed, calls, tailString(s.Output(), 4<<10))
	}
}

// TestSippHeldInviteThenRefer is the 3PCC "make call" of a call centre:
// sipp sends the endpoint (the agent) an INVITE already on hold in each
// dialect, then REFERs it to a second endpoint (the customer). The agent
// must answer the held offer, accept the REFER, call the customer, report
// NOTIFY 200 to sipp and end the first leg as transferred.
func TestSippHeldInviteThenRefer(t *testing.T) {
	tests := []struct {
		name      string
		conn, dir string // the held offer's c= address and direction
	}{
		{"zero-ip", "0.0.0.0", "sendrecv"},
		{"inactive", "127.0.0.1", "inactive"},
		{"sendonly", "127.0.0.1", "sendonly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			customer := startEndpoint(t, "--name", "customer")
			trace := filepath.Join(t.TempDir(), "agent.trace")
			if d := os.Getenv("MIDCALL_TRACE_DIR"); d != "" {
				trace = filepath.Join(d, tc.name+".trace")
			}
			agent := startEndpoint(t, "--name", "agent", "--trace-file", trace)
			uac := startSipp(t, midTestdata("uac_held_refer.xml"), agent.Addr, "-m", "1", "-s", "agent",
				"-key", "conn", tc.conn, "-key", "dir", tc.dir, "-key", "target", customer.URI)
			sippOK(t, uac, 1, 30*time.Second)

			// The agent answered the held INVITE and saw the hold.
			first, err := agent.WaitEvent(midPred(func(m midEvent) bool {
				return midCallIs("", "active")(m) && m.Call.Direction == "incoming" && m.Call.RemoteHold
			}), 5*time.Second)
			if err != nil {
				t.Fatalf("%s: agent never showed an active call held by remote: %v", tc.name, err)
			}
			fc := mid(first).Call
			// It accepted the REFER from the call centre.
			ref, err := agent.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventReferReceived && m.Accepted }), 5*time.Second)
			if err != nil {
				t.Fatalf("%s: no accepted refer event: %v", tc.name, err)
			}
			rm := mid(ref)
			if rm.CallID != fc.ID || !strings.Contains(rm.ReferredBy, "callcentre") || rm.Replaces || !sameURI(rm.Target, customer.URI) {
				t.Errorf("%s: refer event %s; want call %s, referred by callcentre, target %s, no Replaces", tc.name, ref.Raw, fc.ID, customer.URI)
			}
			// The customer got the agent's call ...
			if _, err := customer.WaitEvent(midPred(func(m midEvent) bool {
				return midCallIs("", "active")(m) && m.Call.Direction == "incoming"
			}), 5*time.Second); err != nil {
				t.Errorf("%s: customer never got the transferred call: %v", tc.name, err)
			}
			// ... which on the agent's side is a new call made for the REFER.
			nc, err := agent.WaitEvent(midPred(func(m midEvent) bool {
				return midCallIs("", "active")(m) && m.Call.TransferredFrom == fc.ID
			}), 5*time.Second)
			if err != nil {
				t.Errorf("%s: agent has no active call transferred from %s: %v", tc.name, fc.ID, err)
			} else if m := mid(nc); !strings.Contains(m.Call.ReferredBy, "callcentre") {
				t.Errorf("%s: new call does not show Referred-By: %s", tc.name, nc.Raw)
			}
			// The held leg ended as transferred.
			end, err := agent.WaitEvent(midPred(midCallIs(fc.ID, "ended")), 5*time.Second)
			if err != nil {
				t.Fatalf("%s: first call never ended: %v", tc.name, err)
			}
			if e := mid(end).Call.End; e == nil || e.Cause != "transferred" {
				t.Errorf("%s: first call ended %s; want cause transferred", tc.name, end.Raw)
			}
			assertAnswerDirection(t, trace, tc.name)
			assertFinalNotify(t, trace, tc.name)
		})
	}
}

// TestSippStrictPeerRefusesHeldOffer: a sipp UAS refuses initial offers
// held with c=0.0.0.0 or a=inactive with "488 Call hold not allowed for
// initial INVITE offer" and takes a=sendonly. The endpoint dialling on hold
// must retry with the next dialect (zero-ip, inactive, sendonly) on a new
// Call-ID each time and report the dialect that worked.
func TestSippStrictPeerRefusesHeldOffer(t *testing.T) {
	tests := []struct {
		name  string
		tried []string // dialects refused with 488, in order
	}{
		{"zero-ip", []string{"zero-ip", "inactive"}},
		{"inactive", []string{"inactive"}},
		{"sendonly", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			invites := len(tc.tried) + 1
			uas := startSipp(t, midTestdata("uas_strict_hold.xml"), "-m", fmt.Sprint(invites))
			trace := filepath.Join(t.TempDir(), "caller.trace")
			if d := os.Getenv("MIDCALL_TRACE_DIR"); d != "" {
				trace = filepath.Join(d, "strict-"+tc.name+".trace")
			}
			target := fmt.Sprintf("sip:strict@127.0.0.1:%d", uas.Port)
			ep := startEndpoint(t, "--name", "cti", "--dial-hold", tc.name, "--dial", target,
				"--hangup-after", "1s", "--trace-file", trace, "--exit-after", "20s")
			code, sum, err := ep.Wait(25 * time.Second)
			if err != nil {
				t.Fatalf("%s: endpoint: %v", tc.name, err)
			}
			if code != 0 || sum == nil || sum.Answered != 1 || sum.Ended != 1 || sum.Failed != 0 {
				t.Errorf("%s: endpoint exit %d, summary %+v; want one call answered and ended", tc.name, code, sum)
			}
			sippOK(t, uas, invites, 10*time.Second)

			ev, err := ep.WaitEvent(midPred(func(m midEvent) bool { return m.Event == ctl.EventInitialHold }), time.Second)
			if err != nil {
				t.Fatalf("%s: no initial_hold event: %v", tc.name, err)
			}
			m := mid(ev)
			if !m.OK || m.Dialect != "sendonly" || strings.Join(m.Tried, ",") != strings.Join(tc.tried, ",") {
				t.Errorf("%s: initial_hold %s; want ok, dialect sendonly, tried %v", tc.name, ev.Raw, tc.tried)
			}
			if _, err := ep.WaitEvent(midPred(func(m midEvent) bool {
				return midCallIs(m.CallID, "active")(m) && m.Call.LocalHold && m.Call.HoldDialect == "sendonly"
			}), time.Second); err != nil {
				t.Errorf("%s: the call never showed local hold in sendonly: %v", tc.name, err)
			}
			assertHeldOffers(t, trace, append(slices.Clone(tc.tried), "sendonly"))
		})
	}
}

// assertHeldOffers checks the initial INVITEs in the caller's trace: one per
// dialect in order, each held that way, each with its own Call-ID.
func assertHeldOffers(t *testing.T, trace string, dialects []string) {
	t.Helper()
	var offers []string
	callIDs := map[string]bool{}
	for _, m := range traceMessages(t, trace) {
		head, msg, _ := strings.Cut(m, "\n")
		if !strings.Contains(head, "->") || !strings.HasPrefix(msg, "INVITE ") {
			continue
		}
		if strings.Contains(traceHeader(msg, "To"), ";tag=") {
			continue // a re-INVITE
		}
		offers = append(offers, msg)
		callIDs[traceHeader(msg, "Call-ID")] = true
	}
	if len(offers) != len(dialects) {
		t.Fatalf("%d initial INVITEs in the trace, want %d (%v)", len(offers), len(dialects), dialects)
	}
	if len(callIDs) != len(dialects) {
		t.Errorf("initial INVITEs share Call-IDs: %v", callIDs)
	}
	for i, d := range dialects {
		zero := strings.Contains(offers[i], "c=IN IP4 0.0.0.0")
		var ok bool
		switch d {
		case "zero-ip":
			ok = zero
		case "inactive":
			ok = !zero && strings.Contains(offers[i], "a=inactive")
		case "sendonly":
			ok = !zero && strings.Contains(offers[i], "a=sendonly")
		}
		if !ok {
			t.Errorf("INVITE %d is not held as %s:\n%s", i+1, d, offers[i])
		}
	}
}

// traceHeader returns the value of the first header called name in a
// traced message, "" if it has none.
func traceHeader(msg, name string) string {
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			break // the body starts
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// assertAnswerDirection checks the agent's 200 to the held INVITE in its
// SIP trace: RFC 3264 §6.1 answers sendonly with recvonly and inactive
// with inactive; an RFC 2543 hold (c=0.0.0.0) must not make us send.
func assertAnswerDirection(t *testing.T, trace, dialect string) {
	t.Helper()
	want := map[string]string{"sendonly": "a=recvonly", "inactive": "a=inactive"}[dialect]
	if want == "" {
		return
	}
	for _, msg := range traceMessages(t, trace) {
		_, msg, _ = strings.Cut(msg, "\n")
		if strings.HasPrefix(msg, "SIP/2.0 200") && strings.Contains(msg, "CSeq: 1 INVITE") && strings.Contains(msg, "m=audio") {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: answer to the held offer lacks %s:\n%s", dialect, want, tailString(msg, 2<<10))
			}
			return
		}
	}
	t.Errorf("%s: no 200 answer to the INVITE in the trace", dialect)
}

// traceMessages splits an endpoint SIP trace into its messages, each
// starting with its header line "udp A -> B ===" (direction marks).
func traceMessages(t *testing.T, trace string) []string {
	t.Helper()
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Errorf("trace: %v", err)
		return nil
	}
	var out []string
	for _, m := range strings.Split(string(b), "=== ") {
		if strings.TrimSpace(m) != "" {
			out = append(out, m)
		}
	}
	return out
}

// assertFinalNotify checks that the agent told the referrer the transfer
// worked: a NOTIFY with a "SIP/2.0 200" sipfrag that ends the implicit
// subscription (RFC 3515 §2.4.5).
func assertFinalNotify(t *testing.T, trace, name string) {
	t.Helper()
	for _, m := range traceMessages(t, trace) {
		_, body, _ := strings.Cut(m, "\n")
		if strings.HasPrefix(body, "NOTIFY ") && strings.Contains(m, "Subscription-State: terminated") {
			if !strings.Contains(m, "\nSIP/2.0 200") {
				t.Errorf("%s: final NOTIFY does not report success:\n%s", name, m)
			}
			return
		}
	}
	t.Errorf("%s: agent sent no final NOTIFY", name)
}

// sameURI compares SIP URIs ignoring angle brackets and parameters.
func sameURI(a, b string) bool {
	clean := func(s string) string {
		s = strings.Trim(strings.TrimSpace(s), "<>")
		if i := strings.IndexAny(s, ";?>"); i >= 0 {
			s = s[:i]
		}
		return strings.ToLower(s)
	}
	return clean(a) == clean(b)
}
