package cti

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// rawUAC sends hand-written INVITE and CANCEL requests over UDP so a test
// controls the headers a Service sees (History-Info, the CANCEL's Reason).
type rawUAC struct {
	conn   *net.UDPConn
	target *net.UDPAddr
	rtp    *net.UDPConn // the port our SDP names; nothing is ever sent to it by us
}

func newRawUAC(t *testing.T, target string) *rawUAC {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); r.Close() })
	return &rawUAC{conn: c, target: raddr, rtp: r}
}

// call sends an INVITE with extra headers, waits for 180, then CANCELs it
// with the given Reason header value ("" for none) and waits for the 487.
func (u *rawUAC) call(t *testing.T, callID string, headers []string, cancelReason string) {
	t.Helper()
	local := u.conn.LocalAddr().String()
	rport := u.rtp.LocalAddr().(*net.UDPAddr).Port
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", rport)
	ruri := "sip:bob@" + u.target.String()
	common := func(method string) string {
		return fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@127.0.0.1>;tag=ft-%s\r\nTo: <%s>\r\n"+
			"Call-ID: %s\r\nCSeq: 1 %s\r\n", local, callID, callID, ruri, callID, method)
	}
	inv := "INVITE " + ruri + " SIP/2.0\r\n" + common("INVITE") + "Contact: <sip:alice@" + local + ">\r\n" +
		strings.Join(append(headers, ""), "\r\n") +
		"Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(sdp)) + sdp
	u.send(t, inv)
	u.expect(t, "180")
	can := "CANCEL " + ruri + " SIP/2.0\r\n" + common("CANCEL")
	if cancelReason != "" {
		can += "Reason: " + cancelReason + "\r\n"
	}
	can += "Content-Length: 0\r\n\r\n"
	u.send(t, can)
	final := u.expect(t, "487")
	to := headerLine(final, "To")
	ack := "ACK " + ruri + " SIP/2.0\r\n" + strings.Replace(common("ACK"), "To: <"+ruri+">\r\n", "To: "+to+"\r\n", 1) + "Content-Length: 0\r\n\r\n"
	u.send(t, ack)
}

func (u *rawUAC) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := u.conn.WriteToUDP([]byte(msg), u.target); err != nil {
		t.Fatal(err)
	}
}

// expect reads responses until one with status code (e.g. "487") arrives.
func (u *rawUAC) expect(t *testing.T, code string) string {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = u.conn.SetReadDeadline(deadline)
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", code, err)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "SIP/2.0 "+code) {
			return msg
		}
	}
}

func headerLine(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestJournalCancelReasons: withdrawn calls over the wire. A CANCEL with
// Reason: SIP;cause=200 (with or without text) is answered elsewhere, a
// plain CANCEL of a primary call is missed, a withdrawn secondary call is
// not missed.
func TestJournalCancelReasons(t *testing.T) {
	tests := []struct {
		name      string
		headers   []string
		reason    string
		outcome   journal.Outcome
		missed    bool
		secondary phone.SecondaryKind
	}{
		{"cause 200 with text", nil, `SIP;cause=200;text="Call completed elsewhere"`, journal.OutcomeAnsweredElsewhere, false, phone.SecondaryNone},
		{"cause 200 without text", nil, `SIP;cause=200`, journal.OutcomeAnsweredElsewhere, false, phone.SecondaryNone},
		{"plain cancel", nil, "", journal.OutcomeCallerCancelled, true, phone.SecondaryNone},
		{"q850 normal clearing", nil, "Q.850;cause=16", journal.OutcomeCallerCancelled, true, phone.SecondaryNone},
		{"team call withdrawn", []string{"History-Info: <sip:carol@127.0.0.1>;index=1;ms-retarget-reason=team-call,<sip:bob@127.0.0.1>;index=1.1"},
			"", journal.OutcomeCallerCancelled, false, phone.SecondaryTeamCall},
		{"forwarded withdrawn", []string{"Diversion: <sip:carol@127.0.0.1>;reason=no-answer"},
			"", journal.OutcomeCallerCancelled, false, phone.SecondaryForwarded},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := openJournal(t)
			bob := newTestSvc(t, "bob", Options{Journal: j, User: "sip:bob@example.org"})
			uac := newRawUAC(t, bob.Addr())
			uac.call(t, fmt.Sprintf("cr%d-%d@test", i, time.Now().UnixNano()), tc.headers, tc.reason)
			jc := bob.wait(t, "journal", func(ev Event) bool { _, ok := ev.(JournalChanged); return ok }).(JournalChanged)
			rows, err := bob.Journal(t.Context(), journal.Filter{})
			if err != nil || len(rows) != 1 {
				t.Fatalf("journal rows %+v, %v", rows, err)
			}
			e := rows[0]
			if e.Outcome != tc.outcome || e.Missed != tc.missed || e.Secondary != tc.secondary || e.User != "sip:bob@example.org" || e.Device != "desk" {
				t.Errorf("row = %+v, want outcome %s missed %v secondary %s", e, tc.outcome, tc.missed, tc.secondary)
			}
			if e.Remote.Name != "Alice" || e.Remote.URI != "sip:alice@127.0.0.1" || e.Direction != phone.Incoming {
				t.Errorf("row identities = %+v / %+v", e.Remote, e.Local)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.missed]; jc.UnreadMissed != want {
				t.Errorf("unread missed = %d, want %d", jc.UnreadMissed, want)
			}
		})
	}
}

// TestJournalOutcomes: calls between two Services end each way; bob's
// journal tells answered, declined, busy-rejected and caller-cancelled
// apart, with unread counts, mark read, filters and export.
func TestJournalOutcomes(t *testing.T) {
	j := openJournal(t)
	bob := newTestSvc(t, "bob", Options{Journal: j, Device: "laptop", Policy: &busy.Policy{OnBusy: busy.Busy}})
	alice := newTestSvc(t, "alice", Options{})
	ctx := t.Context()
	journaled := func(n int) JournalChanged { t.Helper(); return bob.journaled(t, n) }

	// 1. answered, then alice hangs up.
	id, _ := alice.Dial(ctx, bob.URI(), DialOptions{})
	in := bob.waitCall(t, "", Incoming, CallIncoming)
	if err := bob.Answer(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, id, Outgoing, CallActive)
	// 2. while answered, a second call is rejected busy by the policy.
	id2, _ := alice.Dial(ctx, bob.URI(), DialOptions{})
	alice.waitCall(t, id2, Outgoing, CallEnded)
	_ = alice.Hangup(ctx, id)
	bob.waitCall(t, in.ID, Incoming, CallEnded)
	journaled(2)
	// 3. declined by bob.
	id3, _ := alice.Dial(ctx, bob.URI(), DialOptions{})
	alice.waitCall(t, id3, Outgoing, CallRinging)
	c3 := bob.waitCall(t, "", Incoming, CallIncoming)
	_ = c3
	var in3 CallInfo
	for _, c := range bob.Snapshot().Calls {
		if c.State == CallIncoming {
			in3 = c
		}
	}
	if err := bob.Reject(ctx, in3.ID, 603, ""); err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, id3, Outgoing, CallEnded)
	journaled(3)
	// 4. alice gives up.
	id4, _ := alice.Dial(ctx, bob.URI(), DialOptions{})
	alice.waitCall(t, id4, Outgoing, CallRinging)
	_ = alice.Hangup(ctx, id4)
	jc := journaled(4)

	byCall := map[string]journal.Entry{}
	rows, err := bob.Journal(ctx, journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rows {
		byCall[e.SIPCallID] = e
	}
	sipID := func(id CallID) string { return alice.waitCall(t, id, Outgoing, CallEnded).SIPCallID }
	want := []struct {
		call    CallID
		outcome journal.Outcome
		missed  bool
		code    int
		q850    int
		rule    string
	}{
		{id, journal.OutcomeAnswered, false, 0, 0, string(busy.RuleNoOtherCall)},
		{id2, journal.OutcomeRejectedBusy, true, 486, 17, string(busy.RuleBusy)},
		{id3, journal.OutcomeDeclined, false, 603, 0, string(busy.RuleNoOtherCall)},
		{id4, journal.OutcomeCallerCancelled, true, 0, 0, string(busy.RuleNoOtherCall)},
	}
	if len(rows) != len(want) {
		t.Fatalf("journal has %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		e, ok := byCall[sipID(w.call)]
		if !ok {
			t.Errorf("%d: no row for %s", i, w.call)
			continue
		}
		if e.Outcome != w.outcome || e.Missed != w.missed || e.Code != w.code || e.Q850 != w.q850 || e.BusyRule != w.rule || e.Device != "laptop" {
			t.Errorf("%d: row %+v, want outcome %s missed %v code %d q850 %d rule %s", i, e, w.outcome, w.missed, w.code, w.q850, w.rule)
		}
		if w.outcome == journal.OutcomeAnswered && (e.Answered.IsZero() || e.Ended.Before(e.Answered)) {
			t.Errorf("%d: times %v %v %v", i, e.Started, e.Answered, e.Ended)
		}
	}
	if jc.UnreadMissed != 2 {
		t.Errorf("unread missed after 4 calls = %d, want 2", jc.UnreadMissed)
	}
	missed, _ := bob.Journal(ctx, journal.Filter{View: journal.ViewMissed})
	if len(missed) != 2 {
		t.Errorf("missed view: %d rows", len(missed))
	}
	if err := bob.MarkRead(ctx, missed[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := bob.UnreadMissed(ctx); n != 1 {
		t.Errorf("unread after MarkRead = %d, want 1", n)
	}
	if err := bob.MarkAllRead(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := bob.UnreadMissed(ctx); n != 0 {
		t.Errorf("unread after MarkAllRead = %d, want 0", n)
	}
	var buf bytes.Buffer
	if err := bob.ExportJournal(ctx, &buf, "csv", journal.Filter{}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 5 {
		t.Errorf("csv export has %d lines, want header + 4:\n%s", lines, buf.String())
	}
}

// TestJournalDedupe: the same call recorded twice (a repeated event, a
// second device of the same user) stays one row; answered beats missed.
func TestJournalDedupe(t *testing.T) {
	j := openJournal(t)
	desk := newTestSvc(t, "desk", Options{Journal: j, User: "bob"})
	mobile := newTestSvc(t, "mobile", Options{Journal: j, User: "bob", Device: "mobile"})
	now := time.Now()
	ci := CallInfo{ID: "c9", SIPCallID: "dup@test", SIPFromTag: "a1", Direction: Incoming, State: CallEnded,
		Remote: phone.Party{URI: "sip:+4930123456@example.org", User: "+4930123456"}, Created: now, Ended: now.Add(time.Second),
		End: &phone.EndInfo{Cause: phone.EndAnsweredElsewhere, Code: 200}}
	desk.recordCall(ci)
	desk.recordCall(ci)
	answered := ci
	answered.Answered = now.Add(500 * time.Millisecond)
	answered.End = &phone.EndInfo{Cause: phone.EndRemoteHangup}
	mobile.recordCall(answered)
	rows, err := desk.Journal(t.Context(), journal.Filter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows %+v, %v; want 1", rows, err)
	}
	if e := rows[0]; e.Outcome != journal.OutcomeAnswered || e.Device != "mobile" || e.Remote.Number != "+4930123456" {
		t.Errorf("merged row %+v", e)
	}
	// A B2BUA that reuses the Call-ID for another call gives it another
	// From tag: a call of its own (RFC 3261 §12), not a merge.
	again := ci
	again.ID, again.SIPFromTag = "c10", "b2"
	desk.recordCall(again)
	if rows, err = desk.Journal(t.Context(), journal.Filter{}); err != nil || len(rows) != 2 {
		t.Fatalf("rows after a second From tag %+v, %v; want 2", rows, err)
	}
}

// TestEntryFor checks the row built from a call's final CallInfo.
func TestEntryFor(t *testing.T) {
	now := time.Now()
	base := CallInfo{ID: "c1", SIPCallID: "x@y", Direction: Incoming, State: CallEnded, Created: now, Ended: now.Add(time.Second),
		Local: phone.Party{URI: "sip:bob@example.org", User: "bob"}, Remote: phone.Party{DisplayName: "A", URI: "sip:030123456@example.org", User: "030123456"}}
	with := func(f func(*CallInfo)) CallInfo { c := base; f(&c); return c }
	tests := []struct {
		name    string
		ci      CallInfo
		outcome journal.Outcome
		missed  bool
		phrase  string
	}{
		{"answered elsewhere", with(func(c *CallInfo) {
			c.End = &phone.EndInfo{Cause: phone.EndAnsweredElsewhere, Code: 200, Text: "Call completed elsewhere"}
		}), journal.OutcomeAnsweredElsewhere, false, "Call completed elsewhere"},
		{"caller cancelled", with(func(c *CallInfo) { c.End = &phone.EndInfo{Cause: phone.EndCallerCancelled} }),
			journal.OutcomeCallerCancelled, true, ""},
		{"no answer timeout", with(func(c *CallInfo) {
			c.End = &phone.EndInfo{Cause: phone.EndTimeout, Code: 480, Reason: "Temporarily Unavailable", Q850: 18}
			c.Rule = "no-answer-timeout"
		}), journal.OutcomeMissed, true, "Temporarily Unavailable"},
		{"user rejected 486 is declined", with(func(c *CallInfo) { c.End = &phone.EndInfo{Cause: phone.EndRejected, Code: 486, Reason: "Busy Here"} }),
			journal.OutcomeDeclined, false, "Busy Here"},
		{"policy rejected 486 is busy", with(func(c *CallInfo) {
			c.Screen = phone.ScreenReject
			c.End = &phone.EndInfo{Cause: phone.EndRejected, Code: 486, Reason: "Busy Here", Q850: 17}
		}), journal.OutcomeRejectedBusy, true, "Busy Here"},
		{"policy voicemail", with(func(c *CallInfo) {
			c.Screen = phone.ScreenRedirect
			c.End = &phone.EndInfo{Cause: phone.EndRejected, Code: 302, Reason: "Moved Temporarily"}
		}), journal.OutcomeVoicemail, true, "Moved Temporarily"},
		{"delegate call cancelled", with(func(c *CallInfo) {
			c.Headers = map[string][]string{"History-Info": {"<sip:carol@example.org>;index=1;ms-retarget-reason=delegation, <sip:bob@example.org>;index=1.1"}}
			c.End = &phone.EndInfo{Cause: phone.EndCallerCancelled}
		}), journal.OutcomeCallerCancelled, false, ""},
		{"outgoing rejected", with(func(c *CallInfo) {
			c.Direction = Outgoing
			c.End = &phone.EndInfo{Cause: phone.EndRejected, Code: 486, Reason: "Busy Here", Q850: 17}
		}), journal.OutcomeRejectedBusy, false, "Busy Here"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := entryFor(tc.ci, "bob", "desk", "", "DE")
			if e.Outcome != tc.outcome || e.Missed != tc.missed || e.Phrase != tc.phrase {
				t.Errorf("entry outcome %s missed %v phrase %q, want %s %v %q", e.Outcome, e.Missed, e.Phrase, tc.outcome, tc.missed, tc.phrase)
			}
			if e.Key != "x@y;" || e.Remote.Number != "+4930123456" || e.Device != "desk" {
				t.Errorf("entry key %q number %q device %q", e.Key, e.Remote.Number, e.Device)
			}
		})
	}
}
