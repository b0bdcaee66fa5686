package ctl

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// TestPolicyAndJournalCommands runs the busy-policy and journal commands
// against the fake: the response and the Controller calls.
func TestPolicyAndJournalCommands(t *testing.T) {
	thirty := 30
	tests := []struct {
		name    string
		setup   func(f *fakeController)
		line    string
		want    string
		wantLog []string
	}{
		{"policy", func(f *fakeController) { f.policy = busy.Policy{OnBusy: busy.Busy, NoAnswerSeconds: &thirty} },
			`{"id":"p","cmd":"policy"}`,
			`{"id":"p","ok":true,"result":{"policy":{"on_busy":"busy","no_answer_seconds":30}}}`, nil},
		{"policy with an override", func(f *fakeController) {
			f.policy = busy.Policy{DND: true, Override: busy.Override{UntilCallEnds: "c2"}}
		}, `{"cmd":"policy"}`,
			`{"ok":true,"result":{"policy":{"dnd":true,"override":{"until_call_ends":"c2"}}}}`, nil},
		{"set_policy", nil,
			`{"id":1,"cmd":"set_policy","args":{"on_busy":"voicemail","voicemail_uri":"sip:vm@127.0.0.1","vip":["+4930*"],"no_answer_seconds":30}}`,
			`{"id":1,"ok":true,"result":{"policy":{"on_busy":"voicemail","voicemail_uri":"sip:vm@127.0.0.1","vip":["+4930*"],"no_answer_seconds":30}}}`,
			[]string{"SetPolicy voicemail false sip:vm@127.0.0.1"}},
		{"set_policy keeps the override", func(f *fakeController) { f.policy.Override = busy.Override{UntilCallEnds: "c2"} },
			`{"cmd":"set_policy","args":{"dnd":true}}`,
			`{"ok":true,"result":{"policy":{"dnd":true,"override":{"until_call_ends":"c2"}}}}`,
			[]string{"SetPolicy unset true "}},
		{"set_policy empty: call waiting", nil, `{"cmd":"set_policy","args":{}}`,
			`{"ok":true,"result":{"policy":{}}}`, []string{"SetPolicy unset false "}},
		{"let_through minutes", nil, `{"cmd":"let_through","args":{"minutes":30}}`,
			`{"ok":true,"result":{"override":{"until":"2025-03-01T12:30:00Z"}}}`, []string{"LetThroughFor 30m0s"}},
		{"let_through until the call ends", nil, `{"cmd":"let_through","args":{"until_call_ends":"c2"}}`,
			`{"ok":true,"result":{"override":{"until_call_ends":"c2"}}}`, []string{"LetThroughUntilCallEnds c2"}},
		{"clear_override", nil, `{"id":"x","cmd":"clear_override"}`, `{"id":"x","ok":true}`, []string{"ClearOverride"}},
		{"journal", func(f *fakeController) {
			f.entries = []journal.Entry{{ID: 3, User: "me", Key: "k3", Direction: cti.Incoming, Started: fakeTime,
				Remote: journal.Identity{URI: "sip:alice@127.0.0.1"}, Outcome: journal.OutcomeMissed, Missed: true}}
		}, `{"cmd":"journal","args":{"view":"missed","unread":true,"search":"ali","since":"2025-03-01T00:00:00Z","limit":5,"offset":10}}`,
			`{"ok":true,"result":{"entries":[{"id":3,"user":"me","key":"k3","direction":"incoming","local":{},"remote":{"uri":"sip:alice@127.0.0.1"},
			  "secondary":"none","started":"2025-03-01T12:00:00Z","outcome":"missed","missed":true,"read":false}]}}`,
			[]string{"Journal 1 true ali 2025-03-01T00:00:00Z 5 10"}},
		{"journal empty", nil, `{"cmd":"journal"}`, `{"ok":true,"result":{"entries":[]}}`,
			[]string{"Journal 0 false  0001-01-01T00:00:00Z 0 0"}},
		{"unread_missed", func(f *fakeController) { f.unread = 4 }, `{"cmd":"unread_missed"}`,
			`{"ok":true,"result":{"unread_missed":4}}`, nil},
		{"mark_read ids", func(f *fakeController) { f.unread = 4 }, `{"cmd":"mark_read","args":{"ids":[3,5]}}`,
			`{"ok":true,"result":{"unread_missed":2}}`, []string{"MarkRead [3 5]"}},
		{"mark_read all", func(f *fakeController) { f.unread = 4 }, `{"cmd":"mark_read","args":{"all":true}}`,
			`{"ok":true,"result":{"unread_missed":0}}`, []string{"MarkAllRead"}},
		{"export_journal csv", func(f *fakeController) { f.entries = make([]journal.Entry, 2) },
			`{"cmd":"export_journal","args":{"format":"csv","view":"outgoing","limit":9}}`,
			`{"ok":true,"result":{"format":"csv","data":"csv:2"}}`, []string{"ExportJournal csv 5 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			resp := NewDispatcher(f, nil).Handle(t.Context(), []byte(tt.line))
			got, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, string(got), tt.want) {
				t.Errorf("%s: response\n got %s\nwant %s", tt.name, got, tt.want)
			}
			if log := f.recorded(); !slices.Equal(log, tt.wantLog) {
				t.Errorf("%s: controller calls %q, want %q", tt.name, log, tt.wantLog)
			}
		})
	}
}

// TestPolicyAndJournalErrors: bad args name the field; a Controller
// without a policy or a journal answers unsupported.
func TestPolicyAndJournalErrors(t *testing.T) {
	tests := []struct {
		name     string
		plain    bool // a Controller without PolicyController and Journaler
		line     string
		wantCode string
		wantIn   string // the message names this
	}{
		{"no_answer_seconds out of range", false, `{"cmd":"set_policy","args":{"no_answer_seconds":400}}`, CodeBadRequest, "no_answer_seconds: 400"},
		{"unknown action", false, `{"cmd":"set_policy","args":{"on_busy":"hold"}}`, CodeBadRequest, `on_busy: "hold"`},
		{"voicemail without a URI", false, `{"cmd":"set_policy","args":{"dnd_action":"voicemail"}}`, CodeBadRequest, "dnd_action: voicemail: voicemail needs voicemail_uri"},
		{"bad VIP", false, `{"cmd":"set_policy","args":{"vip":["sip:a@b",""]}}`, CodeBadRequest, "vip[1]"},
		{"bad region", false, `{"cmd":"set_policy","args":{"region":"XX"}}`, CodeBadRequest, "region: XX"},
		{"override is not settable", false, `{"cmd":"set_policy","args":{"override":{"until_call_ends":"c1"}}}`, CodeBadRequest, "override"},
		{"let_through without args", false, `{"cmd":"let_through"}`, CodeBadRequest, "minutes or until_call_ends"},
		{"let_through both", false, `{"cmd":"let_through","args":{"minutes":5,"until_call_ends":"c1"}}`, CodeBadRequest, "not both"},
		{"let_through too long", false, `{"cmd":"let_through","args":{"minutes":1441}}`, CodeBadRequest, "minutes: 1441"},
		{"journal bad view", false, `{"cmd":"journal","args":{"view":"lost"}}`, CodeBadRequest, `view: "lost"`},
		{"journal negative limit", false, `{"cmd":"journal","args":{"limit":-1}}`, CodeBadRequest, "limit: -1"},
		{"journal bad since", false, `{"cmd":"journal","args":{"since":"yesterday"}}`, CodeBadRequest, "args"},
		{"mark_read without ids", false, `{"cmd":"mark_read","args":{}}`, CodeBadRequest, "ids or all"},
		{"mark_read both", false, `{"cmd":"mark_read","args":{"ids":[1],"all":true}}`, CodeBadRequest, "not both"},
		{"export bad format", false, `{"cmd":"export_journal","args":{"format":"xml"}}`, CodeBadRequest, `format: "xml"`},
		{"policy unsupported", true, `{"cmd":"policy"}`, CodeUnsupported, "busy policy"},
		{"set_policy unsupported", true, `{"cmd":"set_policy","args":{}}`, CodeUnsupported, "busy policy"},
		{"journal unsupported", true, `{"cmd":"journal"}`, CodeUnsupported, "journal"},
		{"export unsupported", true, `{"cmd":"export_journal","args":{"format":"csv"}}`, CodeUnsupported, "journal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			var c Controller = f
			if tt.plain {
				c = plainController{f}
			}
			resp := NewDispatcher(c, nil).Handle(t.Context(), []byte(tt.line))
			if resp.OK || resp.Error == nil {
				t.Fatalf("%s: ok=%v, want a failure", tt.name, resp.OK)
			}
			if resp.Error.Code != tt.wantCode || !strings.Contains(resp.Error.Message, tt.wantIn) {
				t.Errorf("%s: error %+v, want code %s naming %q", tt.name, resp.Error, tt.wantCode, tt.wantIn)
			}
			if log := f.recorded(); len(log) != 0 {
				t.Errorf("%s: controller called: %q", tt.name, log)
			}
		})
	}
}

// TestServiceErrorsMapped: errors of a real Service map to stable codes.
func TestServiceErrorsMapped(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no journal", cti.ErrNoJournal, CodeUnsupported},
		{"invalid policy", &busy.FieldError{Field: "Region", Value: "XX", Msg: "unknown region"}, CodeBadRequest},
		{"bad export format", journal.ErrBadFormat, CodeBadRequest},
	}
	for _, tt := range tests {
		if got := toError(tt.err).Code; got != tt.want {
			t.Errorf("%s: code %s, want %s", tt.name, got, tt.want)
		}
	}
}

// bigExporter exports more than MaxExport.
type bigExporter struct{ *fakeController }

func (b bigExporter) ExportJournal(ctx context.Context, w io.Writer, format string, f journal.Filter) error {
	chunk := []byte(strings.Repeat("x", 1<<20))
	for range MaxExport/len(chunk) + 1 {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

func TestExportTooLarge(t *testing.T) {
	resp := NewDispatcher(bigExporter{newFake()}, nil).Handle(t.Context(), []byte(`{"cmd":"export_journal","args":{"format":"json"}}`))
	if resp.OK || resp.Error.Code != CodeBadRequest || !strings.Contains(resp.Error.Message, "since") {
		t.Errorf("export of %d+ bytes: %+v, want bad_request saying how to narrow it", MaxExport, resp.Error)
	}
}

// TestPolicyFieldName maps Go field names to wire names.
func TestPolicyFieldName(t *testing.T) {
	for in, want := range map[string]string{"NoAnswerSeconds": "no_answer_seconds", "VIP[2]": "vip[2]", "DNDAction": "dnd_action", "Other": "Other"} {
		if got := PolicyFieldName(in); got != want {
			t.Errorf("PolicyFieldName(%q) = %q, want %q", in, got, want)
		}
	}
}
