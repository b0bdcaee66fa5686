package cti

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// TestStrictHoldRefusalReported (issue 13): a call refused 488 by
// --strict-hold (a held initial offer) is an ended call event with the
// end info, a notice and a journal row with outcome and reason (declined
// by this phone, not a missed call).
func TestStrictHoldRefusalReported(t *testing.T) {
	strict := newTestSvc(t, "strict", Options{Phone: phone.Config{StrictHold: true}, Journal: openJournal(t)})
	caller := newTestSvc(t, "caller", Options{})
	if _, err := caller.DialHeld(t.Context(), strict.URI(), HoldInactive, DialOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := strict.wait(t, "the refused call, ended", func(ev Event) bool {
		cc, ok := ev.(CallChanged)
		return ok && cc.Call.Direction == phone.Incoming && cc.Call.State == phone.CallEnded && cc.Call.End != nil && cc.Call.End.Code == 488
	}).(CallChanged)
	if ev.Call.Rule != "strict-hold" || ev.Call.End.Reason != "Call hold not allowed for initial INVITE offer" {
		t.Errorf("refused call = rule %q end %+v", ev.Call.Rule, ev.Call.End)
	}
	strict.wait(t, "a notice", func(ev Event) bool {
		n, ok := ev.(Notice)
		return ok && strings.Contains(n.Text, "refused: 488") && strings.Contains(n.Text, "strict hold")
	})
	jc := strict.wait(t, "the journal row", func(ev Event) bool {
		jc, ok := ev.(JournalChanged)
		return ok && jc.Entry.Code == 488
	}).(JournalChanged)
	e := jc.Entry
	if e.Direction != phone.Incoming || e.Outcome != journal.OutcomeDeclined || e.Missed ||
		e.Phrase != "Call hold not allowed for initial INVITE offer" || e.BusyRule != "strict-hold" || !strings.Contains(e.Note, "strict hold") {
		t.Errorf("journal row = %+v", e)
	}
	t.Logf("journal: outcome %s, code %d %s, rule %s, note %q", e.Outcome, e.Code, e.Phrase, e.BusyRule, e.Note)
}

// TestMaxCallsRefusalReported (issue 13): an INVITE refused 486 because
// MaxCalls calls exist already is an ended call, a notice and a journal
// row like the strict-hold one.
func TestMaxCallsRefusalReported(t *testing.T) {
	full := newTestSvc(t, "full", Options{Phone: phone.Config{MaxCalls: 1}, Journal: openJournal(t)})
	caller := newTestSvc(t, "caller", Options{})
	if _, err := caller.Dial(t.Context(), full.URI(), DialOptions{}); err != nil {
		t.Fatal(err)
	}
	full.wait(t, "the first call ringing", func(ev Event) bool {
		cc, ok := ev.(CallChanged)
		return ok && cc.Call.Direction == phone.Incoming && cc.Call.State == phone.CallIncoming
	})
	if _, err := caller.Dial(t.Context(), full.URI(), DialOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := full.wait(t, "the refused call, ended", func(ev Event) bool {
		cc, ok := ev.(CallChanged)
		return ok && cc.Call.State == phone.CallEnded && cc.Call.End != nil && cc.Call.End.Code == 486
	}).(CallChanged)
	if ev.Call.Rule != phone.RuleMaxCalls || ev.Call.Direction != phone.Incoming {
		t.Errorf("refused call = rule %q end %+v", ev.Call.Rule, ev.Call.End)
	}
	full.wait(t, "a notice", func(ev Event) bool {
		n, ok := ev.(Notice)
		return ok && strings.Contains(n.Text, "refused: 486") && strings.Contains(n.Text, "max calls")
	})
	jc := full.wait(t, "the journal row", func(ev Event) bool {
		jc, ok := ev.(JournalChanged)
		return ok && jc.Entry.Code == 486
	}).(JournalChanged)
	if e := jc.Entry; e.Direction != phone.Incoming || e.BusyRule != phone.RuleMaxCalls || !strings.Contains(e.Note, "max calls") {
		t.Errorf("journal row = %+v", e)
	}
	t.Logf("journal: outcome %s, code %d %s, rule %s, note %q", jc.Entry.Outcome, jc.Entry.Code, jc.Entry.Phrase, jc.Entry.BusyRule, jc.Entry.Note)
}

// TestACLRefusalReported (issue 13): an INVITE the source ACL answered
// 403 is an ended call, a notice and a journal row (declined by this
// phone); it left none of them before.
func TestACLRefusalReported(t *testing.T) {
	guarded := newTestSvc(t, "guarded", Options{Phone: phone.Config{InviteSources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, Journal: openJournal(t)})
	caller := newTestSvc(t, "caller", Options{})
	if _, err := caller.Dial(t.Context(), guarded.URI(), DialOptions{}); err != nil {
		t.Fatal(err)
	}
	guarded.wait(t, "a notice", func(ev Event) bool {
		n, ok := ev.(Notice)
		return ok && strings.Contains(n.Text, "refused: 403") && strings.Contains(n.Text, "ACL")
	})
	jc := guarded.wait(t, "the journal row", func(ev Event) bool {
		jc, ok := ev.(JournalChanged)
		return ok && jc.Entry.Code == 403
	}).(JournalChanged)
	if e := jc.Entry; e.Direction != phone.Incoming || e.Outcome != journal.OutcomeDeclined || e.Missed || e.BusyRule != phone.RuleSourceACL || !strings.Contains(e.Note, "not allowed") {
		t.Errorf("journal row = %+v", e)
	}
	t.Logf("journal: outcome %s, code %d %s, rule %s, note %q", jc.Entry.Outcome, jc.Entry.Code, jc.Entry.Phrase, jc.Entry.BusyRule, jc.Entry.Note)
}
