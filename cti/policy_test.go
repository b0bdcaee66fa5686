package cti

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// testSvc is a started Service on 127.0.0.1:0 with every event recorded.
type testSvc struct {
	*Service
	mu     sync.Mutex
	events []Event
	change chan struct{}
}

func newTestSvc(t *testing.T, name string, o Options) *testSvc {
	t.Helper()
	o.Phone.Name = name
	o.Phone.Listen = "127.0.0.1:0"
	// Explicit: phone only sends from its listening socket when Transport
	// is "udp"; with "" its client binds a second socket on a port that
	// may be taken (reported to the phone owner).
	o.Phone.Transport = "udp"
	if o.Logger == nil {
		level := slog.LevelWarn
		if os.Getenv("ANYPHONE_TEST_DEBUG") != "" {
			level = slog.LevelDebug
		}
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("svc", name)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("%s: New: %v", name, err)
	}
	ts := &testSvc{Service: s, change: make(chan struct{})}
	s.OnEvent(func(ev Event) {
		ts.mu.Lock()
		ts.events = append(ts.events, ev)
		close(ts.change)
		ts.change = make(chan struct{})
		ts.mu.Unlock()
	})
	// Not t.Context(): it is cancelled before the cleanups run, and the
	// phone lives as long as its Start context.
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("%s: Start: %v", name, err)
	}
	// phone.Start returns once sipgo serves the socket (waitListening), so
	// a Dial right away does not bind the port twice.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ts
}

// wait returns the first event (since start) matching pred.
func (ts *testSvc) wait(t *testing.T, what string, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		ts.mu.Lock()
		for _, ev := range ts.events {
			if pred(ev) {
				ts.mu.Unlock()
				return ev
			}
		}
		ch := ts.change
		ts.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: timed out waiting for %s; events:\n%s", ts.URI(), what, ts.summary())
			return nil
		}
	}
}

// summary lists the events so far, one a line.
func (ts *testSvc) summary() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var b strings.Builder
	for _, ev := range ts.events {
		if cc, ok := ev.(CallChanged); ok {
			fmt.Fprintf(&b, "  call %s %s %s screen=%s rule=%s end=%+v\n", cc.Call.ID, cc.Call.Direction, cc.Call.State, cc.Call.Screen, cc.Call.Rule, cc.Call.End)
			continue
		}
		fmt.Fprintf(&b, "  %T %+v\n", ev, ev)
	}
	return b.String()
}

// journaled waits until n calls have been recorded and returns the nth
// JournalChanged.
func (ts *testSvc) journaled(t *testing.T, n int) JournalChanged {
	t.Helper()
	var last JournalChanged
	ts.wait(t, fmt.Sprintf("%d journal records", n), func(Event) bool {
		seen := 0
		for _, ev := range ts.events { // ts.mu is held by wait
			if jc, ok := ev.(JournalChanged); ok && jc.Entry.ID != 0 {
				if seen++; seen == n {
					last = jc
					return true
				}
			}
		}
		return false
	})
	return last
}

// waitCall waits for call id ("" for any call of direction dir) in state.
func (ts *testSvc) waitCall(t *testing.T, id CallID, dir Direction, st CallState) CallInfo {
	t.Helper()
	ev := ts.wait(t, fmt.Sprintf("call %q %s %s", id, dir, st), func(ev Event) bool {
		cc, ok := ev.(CallChanged)
		return ok && (id == "" || cc.Call.ID == id) && (dir == 0 || cc.Call.Direction == dir) && cc.Call.State == st
	})
	return ev.(CallChanged).Call
}

// traceHas reports whether the SIP trace file at path holds a response
// with status code that has every one of the lines. It returns the
// response it looked at (or the whole trace).
func traceHas(path string, code int, lines ...string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error(), false
	}
	trace := string(b)
	i := strings.Index(trace, fmt.Sprintf("SIP/2.0 %d ", code))
	if i < 0 {
		return trace, false
	}
	msg := trace[i:]
	if j := strings.Index(msg, "\r\n\r\n"); j > 0 {
		msg = msg[:j]
	}
	for _, l := range lines {
		if !strings.Contains(msg, l) {
			return msg, false
		}
	}
	return msg, true
}

func secs(n int) *int { return &n }

// TestPolicyOnTheWire: bob has an active call with carol (or none); alice
// calls. The busy policy's decision must reach alice as SIP: 486 with
// Reason: Q.850;cause=17, 480 with cause 18, a 302 to voicemail with
// Diversion and History-Info, or an alert (call waiting) for a VIP or under
// an override; and the rule must reach bob's events and CallInfo.
func TestPolicyOnTheWire(t *testing.T) {
	const vm = "sip:vm@127.0.0.1:5999"
	tests := []struct {
		name     string
		policy   *busy.Policy
		busy     bool               // bob is in a call with carol first
		override func(*testSvc)     // applied before alice calls
		wantCode int                // alice's final code; 0: bob alerts
		wantQ850 int                // at alice
		wantRaw  []string           // lines of alice's final response
		wantScr  phone.ScreenAction // bob's screening when alerted
		wantRule busy.Rule
	}{
		{name: "busy on busy", policy: &busy.Policy{OnBusy: busy.Busy}, busy: true,
			wantCode: 486, wantQ850: 17, wantRaw: []string{"Reason: Q.850;cause=17"}, wantRule: busy.RuleBusy},
		{name: "unavailable on busy", policy: &busy.Policy{OnBusy: busy.Unavailable}, busy: true,
			wantCode: 480, wantQ850: 18, wantRaw: []string{"Reason: Q.850;cause=18"}, wantRule: busy.RuleBusy},
		{name: "voicemail on busy", policy: &busy.Policy{OnBusy: busy.Voicemail, VoicemailURI: vm}, busy: true,
			wantCode: 302, wantRaw: []string{"Contact: <sip:vm@127.0.0.1:5999;target=", "Diversion: <sip:bob@", "reason=user-busy",
				"History-Info: <sip:bob@", "index=1.1;mp=1"}, wantRule: busy.RuleBusy},
		{name: "call waiting by default", busy: true, wantScr: phone.ScreenWait, wantRule: busy.RuleBusy},
		{name: "idle rings", policy: &busy.Policy{OnBusy: busy.Busy}, wantScr: phone.ScreenRing, wantRule: busy.RuleNoOtherCall},
		{name: "vip still alerted", policy: &busy.Policy{OnBusy: busy.Busy, VIP: []string{"sip:alice@*"}}, busy: true,
			wantScr: phone.ScreenWait, wantRule: busy.RuleVIP},
		{name: "dnd when idle", policy: &busy.Policy{DND: true},
			wantCode: 480, wantQ850: 18, wantRaw: []string{"Reason: Q.850;cause=18"}, wantRule: busy.RuleDND},
		{name: "dnd to voicemail", policy: &busy.Policy{DND: true, VoicemailURI: vm},
			wantCode: 302, wantRaw: []string{"reason=do-not-disturb"}, wantRule: busy.RuleDND},
		{name: "silent on busy", policy: &busy.Policy{OnBusy: busy.Silent}, busy: true, wantScr: phone.ScreenSilent, wantRule: busy.RuleBusy},
		{name: "override lets through", policy: &busy.Policy{OnBusy: busy.Busy}, busy: true,
			override: func(s *testSvc) { s.LetThroughFor(time.Minute) }, wantScr: phone.ScreenWait, wantRule: busy.RuleOverride},
		{name: "cleared override", policy: &busy.Policy{OnBusy: busy.Busy}, busy: true,
			override: func(s *testSvc) { s.LetThroughFor(time.Minute); s.ClearOverride() },
			wantCode: 486, wantQ850: 17, wantRule: busy.RuleBusy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bob := newTestSvc(t, "bob", Options{Policy: tc.policy})
			trace := filepath.Join(t.TempDir(), "alice.trace")
			alice := newTestSvc(t, "alice", Options{Phone: phone.Config{TraceFile: trace}})
			if tc.busy {
				carol := newTestSvc(t, "carol", Options{})
				cid, err := carol.Dial(t.Context(), bob.URI(), DialOptions{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("carol's events:\n%s", carol.summary())
					}
				})
				in := bob.waitCall(t, "", Incoming, CallIncoming)
				if err := bob.Answer(t.Context(), in.ID); err != nil {
					t.Fatal(err)
				}
				carol.waitCall(t, cid, Outgoing, CallActive)
				bob.waitCall(t, in.ID, Incoming, CallActive)
				t.Cleanup(func() {
					_ = carol.Hangup(context.Background(), cid)
					bob.waitCall(t, in.ID, Incoming, CallEnded)
				})
			}
			if tc.override != nil {
				tc.override(bob)
			}
			id, err := alice.Dial(t.Context(), bob.URI(), DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("alice's events:\n%s", alice.summary())
				}
			})
			dec := bob.wait(t, "policy decision for alice", func(ev Event) bool {
				d, ok := ev.(PolicyDecision)
				return ok && (!tc.busy || d.Decision.Rule != busy.RuleNoOtherCall)
			}).(PolicyDecision)
			if dec.Decision.Rule != tc.wantRule {
				t.Errorf("decision = %+v, want rule %s", dec.Decision, tc.wantRule)
			}
			if tc.wantCode == 0 {
				ci := bob.waitCall(t, dec.CallID, Incoming, CallIncoming)
				if ci.Screen != tc.wantScr || ci.Rule != string(tc.wantRule) {
					t.Errorf("bob's call: screen %s rule %q, want %s %q", ci.Screen, ci.Rule, tc.wantScr, tc.wantRule)
				}
				alice.waitCall(t, id, Outgoing, CallRinging)
				return
			}
			end := alice.waitCall(t, id, Outgoing, CallEnded).End
			if end == nil || end.Code != tc.wantCode || end.Q850 != tc.wantQ850 {
				t.Fatalf("alice's call ended %+v, want code %d q850 %d", end, tc.wantCode, tc.wantQ850)
			}
			if raw, ok := traceHas(trace, tc.wantCode, tc.wantRaw...); !ok {
				t.Errorf("alice's %d lacks %q:\n%s", tc.wantCode, tc.wantRaw, raw)
			}
			bc := bob.waitCall(t, dec.CallID, Incoming, CallEnded)
			if bc.Rule != string(tc.wantRule) || bc.End == nil || bc.End.Code != tc.wantCode {
				t.Errorf("bob's call: rule %q end %+v, want %q code %d", bc.Rule, bc.End, tc.wantRule, tc.wantCode)
			}
		})
	}
}

// TestPolicyUntilCallEnds: "let calls through until this call ends" lets
// alice through during carol's call; the override ends with that call.
func TestPolicyUntilCallEnds(t *testing.T) {
	bob := newTestSvc(t, "bob", Options{Policy: &busy.Policy{OnBusy: busy.Busy}})
	carol := newTestSvc(t, "carol", Options{})
	alice := newTestSvc(t, "alice", Options{})
	cid, err := carol.Dial(t.Context(), bob.URI(), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := bob.waitCall(t, "", Incoming, CallIncoming)
	if err := bob.Answer(t.Context(), in.ID); err != nil {
		t.Fatal(err)
	}
	carol.waitCall(t, cid, Outgoing, CallActive)
	bob.LetThroughUntilCallEnds(in.ID)
	id, err := alice.Dial(t.Context(), bob.URI(), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, id, Outgoing, CallRinging)
	if err := alice.Hangup(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, id, Outgoing, CallEnded)
	if err := carol.Hangup(t.Context(), cid); err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, in.ID, Incoming, CallEnded)
	bob.wait(t, "override cleared", func(ev Event) bool {
		pc, ok := ev.(PolicyChanged)
		return ok && pc.Policy.Override.IsZero()
	})
	if o := bob.Policy().Override; !o.IsZero() {
		t.Fatalf("override after the call ended: %+v", o)
	}
}

// TestSetPolicy: an invalid policy is refused with the field named; a valid
// one applies to the next call, including its no-answer timeout.
func TestSetPolicy(t *testing.T) {
	bob := newTestSvc(t, "bob", Options{})
	err := bob.SetPolicy(busy.Policy{OnBusy: busy.Voicemail})
	var fe *busy.FieldError
	if !errors.As(err, &fe) || fe.Field != "OnBusy" || !errors.Is(err, busy.ErrInvalidPolicy) {
		t.Fatalf("SetPolicy(voicemail without URI) = %v, want a FieldError for OnBusy", err)
	}
	if err := bob.SetPolicy(busy.Policy{DND: true}); err != nil {
		t.Fatal(err)
	}
	if !bob.Policy().DND {
		t.Fatal("policy not applied")
	}
	bob.wait(t, "PolicyChanged", func(ev Event) bool { pc, ok := ev.(PolicyChanged); return ok && pc.Policy.DND })
}

// TestNoAnswerTimeout: after the policy's no-answer timeout an unanswered
// call gets 480 (cause 18) or a 302 to voicemail; bob's journal calls it
// missed with the no-answer rule.
func TestNoAnswerTimeout(t *testing.T) {
	tests := []struct {
		name     string
		policy   busy.Policy
		wantCode int
		outcome  journal.Outcome
	}{
		{"480", busy.Policy{NoAnswerSeconds: secs(1)}, 480, journal.OutcomeMissed},
		{"voicemail", busy.Policy{NoAnswerSeconds: secs(1), VoicemailURI: "sip:vm@127.0.0.1:5999"}, 302, journal.OutcomeMissed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := openJournal(t)
			bob := newTestSvc(t, "bob", Options{Policy: &tc.policy, Journal: j})
			alice := newTestSvc(t, "alice", Options{})
			start := time.Now()
			id, err := alice.Dial(t.Context(), bob.URI(), DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			end := alice.waitCall(t, id, Outgoing, CallEnded).End
			if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
				t.Errorf("ended after %v, want about 1 s", el)
			}
			if end == nil || end.Code != tc.wantCode {
				t.Fatalf("alice's end = %+v, want %d", end, tc.wantCode)
			}
			jc := bob.wait(t, "journal", func(ev Event) bool { _, ok := ev.(JournalChanged); return ok }).(JournalChanged)
			if jc.Entry.Outcome != tc.outcome || !jc.Entry.Missed || jc.Entry.BusyRule != string(busy.RuleNoAnswer) || jc.UnreadMissed != 1 {
				t.Errorf("journal = %+v unread %d, want %s, missed, rule %s, 1 unread", jc.Entry, jc.UnreadMissed, tc.outcome, busy.RuleNoAnswer)
			}
		})
	}
}

// TestNoPolicyNoTimeout: without a configured policy no no-answer timer is
// armed (a call rings until the caller gives up); with any policy the
// default 20 s applies.
func TestNoPolicyNoTimeout(t *testing.T) {
	tests := []struct {
		name    string
		policy  *busy.Policy
		wantArm bool
	}{
		{"no policy", nil, false},
		{"zero policy", &busy.Policy{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bob := newTestSvc(t, "bob", Options{Policy: tc.policy})
			alice := newTestSvc(t, "alice", Options{})
			if _, err := alice.Dial(t.Context(), bob.URI(), DialOptions{}); err != nil {
				t.Fatal(err)
			}
			d := bob.wait(t, "decision", func(ev Event) bool { _, ok := ev.(PolicyDecision); return ok }).(PolicyDecision)
			if armed := d.NoAnswer != nil; armed != tc.wantArm || (armed && d.NoAnswerAfter != 20*time.Second) {
				t.Errorf("no-answer armed %v after %v, want %v (20 s)", armed, d.NoAnswerAfter, tc.wantArm)
			}
		})
	}
}
