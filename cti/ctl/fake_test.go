package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// fakeController records every command it gets and answers from its
// fields. Events come from a zero cti.Service, which serves Subscribe and
// Notify without a phone.
type fakeController struct {
	mu     sync.Mutex
	log    []string
	errs   map[string]error // method name → error to return
	calls  []cti.CallInfo
	regs   []cti.RegInfo
	notes  []cti.Notice
	ladder map[cti.CallID][]cti.SIPMessage
	bus    cti.Service

	policy  busy.Policy     // Policy and SetPolicy
	entries []journal.Entry // Journal and ExportJournal
	unread  int
}

var (
	_ Controller       = (*fakeController)(nil)
	_ PolicyController = (*fakeController)(nil)
	_ Journaler        = (*fakeController)(nil)
)

// plainController hides the fake's optional interfaces (no policy, no
// journal).
type plainController struct{ Controller }

var fakeTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newFake() *fakeController {
	return &fakeController{
		errs: map[string]error{},
		calls: []cti.CallInfo{
			{ID: "c1", Direction: cti.Incoming, State: cti.CallIncoming, Remote: cti.Party{URI: "sip:alice@127.0.0.1", User: "alice"}, Created: fakeTime},
			{ID: "c2", Direction: cti.Outgoing, State: cti.CallActive, Remote: cti.Party{URI: "sip:bob@127.0.0.1", User: "bob"}, Created: fakeTime, Answered: fakeTime.Add(time.Second)},
		},
		regs:   []cti.RegInfo{{AOR: "sip:me@127.0.0.1", Registrar: "sip:127.0.0.1:5099", State: cti.RegRegistered}},
		notes:  []cti.Notice{{Level: cti.NoticeWarn, Text: "audio: null"}},
		ladder: map[cti.CallID][]cti.SIPMessage{"c2": {{Time: fakeTime, Sent: true, Summary: "INVITE", CSeq: "1 INVITE", Protocol: "udp"}}},
	}
}

func (f *fakeController) record(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := []string{method}
	for _, a := range args {
		parts = append(parts, fmt.Sprint(a))
	}
	f.log = append(f.log, strings.Join(parts, " "))
	return f.errs[method]
}

func (f *fakeController) setErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fakeController) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeController) Dial(ctx context.Context, to string, o cti.DialOptions) (cti.CallID, error) {
	if err := f.record("Dial", to, o.FromUser, o.FromDisplay, len(o.Headers)); err != nil {
		return "", err
	}
	return "c9", nil
}

func (f *fakeController) Answer(ctx context.Context, id cti.CallID) error {
	return f.record("Answer", id)
}

func (f *fakeController) Reject(ctx context.Context, id cti.CallID, code int, reason string) error {
	return f.record("Reject", id, code, reason)
}

func (f *fakeController) Hangup(ctx context.Context, id cti.CallID) error {
	return f.record("Hangup", id)
}

func (f *fakeController) HangupAll(ctx context.Context) error { return f.record("HangupAll") }

func (f *fakeController) SendDTMF(ctx context.Context, id cti.CallID, digits string) error {
	return f.record("SendDTMF", id, digits)
}

func (f *fakeController) Mute(ctx context.Context, id cti.CallID, on bool) error {
	return f.record("Mute", id, on)
}

func (f *fakeController) Register(ctx context.Context) error   { return f.record("Register") }
func (f *fakeController) Unregister(ctx context.Context) error { return f.record("Unregister") }

func (f *fakeController) Snapshot() cti.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cti.Snapshot{Calls: f.calls, Regs: f.regs, Notices: f.notes}
}

func (f *fakeController) Subscribe() *cti.Subscription { return f.bus.Subscribe() }

// notify publishes a notice to the subscribers.
func (f *fakeController) notify(text string) { f.bus.Notify(cti.NoticeInfo, text) }

func (f *fakeController) Call(id cti.CallID) (cti.CallInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			return c, true
		}
	}
	return cti.CallInfo{}, false
}

func (f *fakeController) Ladder(id cti.CallID) []cti.SIPMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ladder[id]
}

func (f *fakeController) Dialogs() []cti.Dialog {
	return []cti.Dialog{{SIPCallID: "reg1@127.0.0.1", Method: "REGISTER", Peer: "127.0.0.1:5099", Messages: 4, Last: fakeTime}}
}

func (f *fakeController) Hold(ctx context.Context, id cti.CallID) error { return f.record("Hold", id) }

func (f *fakeController) HoldWith(ctx context.Context, id cti.CallID, d cti.HoldDialect) error {
	return f.record("HoldWith", id, d)
}

func (f *fakeController) Resume(ctx context.Context, id cti.CallID) error {
	return f.record("Resume", id)
}

func (f *fakeController) Transfer(ctx context.Context, id cti.CallID, target string) error {
	return f.record("Transfer", id, target)
}

func (f *fakeController) Consult(ctx context.Context, id cti.CallID, target string) (cti.CallID, error) {
	if err := f.record("Consult", id, target); err != nil {
		return "", err
	}
	return "c10", nil
}

func (f *fakeController) Toggle(ctx context.Context, id cti.CallID) error {
	return f.record("Toggle", id)
}

func (f *fakeController) CompleteTransfer(ctx context.Context, heldID, consultID cti.CallID) error {
	return f.record("CompleteTransfer", heldID, consultID)
}

func (f *fakeController) Conference(ctx context.Context, a, b cti.CallID) error {
	return f.record("Conference", a, b)
}

func (f *fakeController) Split(ctx context.Context, id cti.CallID) error {
	return f.record("Split", id)
}

func (f *fakeController) AcceptRefer(ctx context.Context, id cti.CallID) error {
	return f.record("AcceptRefer", id)
}

func (f *fakeController) RejectRefer(ctx context.Context, id cti.CallID) error {
	return f.record("RejectRefer", id)
}

func (f *fakeController) Policy() busy.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy
}

func (f *fakeController) SetPolicy(p busy.Policy) error {
	if err := f.record("SetPolicy", p.OnBusy, p.DND, p.VoicemailURI); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p.Override = f.policy.Override
	f.policy = p
	return nil
}

func (f *fakeController) LetThroughFor(d time.Duration) busy.Override {
	_ = f.record("LetThroughFor", d)
	return busy.Override{Until: fakeTime.Add(d)}
}

func (f *fakeController) LetThroughUntilCallEnds(id cti.CallID) busy.Override {
	_ = f.record("LetThroughUntilCallEnds", id)
	return busy.Override{UntilCallEnds: id}
}

func (f *fakeController) ClearOverride() { _ = f.record("ClearOverride") }

func (f *fakeController) Journal(ctx context.Context, flt journal.Filter) ([]journal.Entry, error) {
	if err := f.record("Journal", flt.View, flt.Unread, flt.Search, flt.Since.Format(time.RFC3339), flt.Limit, flt.Offset); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.entries, nil
}

func (f *fakeController) UnreadMissed(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unread, f.errs["UnreadMissed"]
}

func (f *fakeController) MarkRead(ctx context.Context, ids ...int64) error {
	if err := f.record("MarkRead", ids); err != nil {
		return err
	}
	f.mu.Lock()
	f.unread = max(f.unread-len(ids), 0)
	f.mu.Unlock()
	return nil
}

func (f *fakeController) MarkAllRead(ctx context.Context) error {
	if err := f.record("MarkAllRead"); err != nil {
		return err
	}
	f.mu.Lock()
	f.unread = 0
	f.mu.Unlock()
	return nil
}

func (f *fakeController) ExportJournal(ctx context.Context, w io.Writer, format string, flt journal.Filter) error {
	if err := f.record("ExportJournal", format, flt.View, flt.Limit); err != nil {
		return err
	}
	f.mu.Lock()
	n := len(f.entries)
	f.mu.Unlock()
	_, err := fmt.Fprintf(w, "%s:%d", format, n)
	return err
}

func (f *fakeController) Presence() api.PresenceInfo {
	return api.PresenceInfo{Entity: "sip:me@127.0.0.1"}
}

func (f *fakeController) Watches() []api.Watch { return nil }

func (f *fakeController) Watch(_ context.Context, target string) (api.Watch, error) {
	return api.Watch{Target: "sip:" + target + "@127.0.0.1", State: api.WatchPending}, f.record("Watch", target)
}

func (f *fakeController) Unwatch(_ context.Context, target string) error {
	return f.record("Unwatch", target)
}

func (f *fakeController) Pickup(_ context.Context, w api.Watch) (cti.CallID, error) {
	return "c9", f.record("Pickup", w.Target)
}
