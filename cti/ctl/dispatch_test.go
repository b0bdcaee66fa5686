package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/cti"
)

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

func TestDispatcherCommands(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    string   // the whole response
		wantLog []string // Controller calls
	}{
		{"dial", `{"id":"7","cmd":"dial","args":{"to":"sip:bob@127.0.0.1:5070"}}`,
			`{"id":"7","ok":true,"result":{"call_id":"c9"}}`, []string{"Dial sip:bob@127.0.0.1:5070   0"}},
		{"dial with options", `{"id":1,"cmd":"dial","args":{"to":"sip:bob@h","from_user":"100","from_display":"Desk","headers":{"X-A":"1"}}}`,
			`{"id":1,"ok":true,"result":{"call_id":"c9"}}`, []string{"Dial sip:bob@h 100 Desk 1"}},
		{"answer", `{"id":"a","cmd":"answer","args":{"call_id":"c1"}}`,
			`{"id":"a","ok":true}`, []string{"Answer c1"}},
		{"reject default code", `{"cmd":"reject","args":{"call_id":"c1"}}`,
			`{"ok":true}`, []string{"Reject c1 0 "}},
		{"reject 603", `{"cmd":"reject","args":{"call_id":"c1","code":603,"reason":"Decline"}}`,
			`{"ok":true}`, []string{"Reject c1 603 Decline"}},
		{"hangup", `{"id":"h","cmd":"hangup","args":{"call_id":"c2"}}`,
			`{"id":"h","ok":true}`, []string{"Hangup c2"}},
		{"hangup_all", `{"cmd":"hangup_all"}`, `{"ok":true}`, []string{"HangupAll"}},
		{"hangup_all null args", `{"cmd":"hangup_all","args":null}`, `{"ok":true}`, []string{"HangupAll"}},
		{"dtmf", `{"cmd":"dtmf","args":{"call_id":"c2","digits":"12*#A"}}`,
			`{"ok":true}`, []string{"SendDTMF c2 12*#A"}},
		{"mute", `{"cmd":"mute","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"Mute c2 true"}},
		{"unmute", `{"cmd":"unmute","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"Mute c2 false"}},
		{"register", `{"cmd":"register"}`, `{"ok":true}`, []string{"Register"}},
		{"unregister", `{"cmd":"unregister","args":{}}`, `{"ok":true}`, []string{"Unregister"}},
		{"ping", `{"id":"p","cmd":"ping"}`, `{"id":"p","ok":true,"result":{"pong":true}}`, nil},
		{"status", `{"id":"s","cmd":"status"}`, `{"id":"s","ok":true,"result":{
			"calls":[
			 {"id":"c1","direction":"incoming","state":"incoming","local":{"uri":""},"remote":{"uri":"sip:alice@127.0.0.1","user":"alice"},"created":"2025-03-01T12:00:00Z"},
			 {"id":"c2","direction":"outgoing","state":"active","local":{"uri":""},"remote":{"uri":"sip:bob@127.0.0.1","user":"bob"},"created":"2025-03-01T12:00:00Z","answered":"2025-03-01T12:00:01Z"}],
			"registrations":[{"aor":"sip:me@127.0.0.1","registrar":"sip:127.0.0.1:5099","state":"registered"}],
			"notices":[{"level":"warn","text":"audio: null"}]}}`, nil},
		{"calls one", `{"cmd":"calls","args":{"call_id":"c1"}}`, `{"ok":true,"result":{"calls":[
			 {"id":"c1","direction":"incoming","state":"incoming","local":{"uri":""},"remote":{"uri":"sip:alice@127.0.0.1","user":"alice"},"created":"2025-03-01T12:00:00Z"}]}}`, nil},
		{"ladder", `{"cmd":"ladder","args":{"call_id":"c2"}}`, `{"ok":true,"result":{"call_id":"c2","messages":[
			{"time":"2025-03-01T12:00:00Z","sent":true,"local":"","remote":"","summary":"INVITE","cseq":"1 INVITE","raw":"","transport":"udp"}]}}`, nil},
		{"ladder of a call without messages", `{"cmd":"ladder","args":{"call_id":"c1"}}`,
			`{"ok":true,"result":{"call_id":"c1","messages":[]}}`, nil},
		{"dialogs", `{"cmd":"dialogs"}`, `{"ok":true,"result":{"dialogs":[
			{"sip_call_id":"reg1@127.0.0.1","method":"REGISTER","peer":"127.0.0.1:5099","messages":4,"last":"2025-03-01T12:00:00Z"}]}}`, nil},
		{"hold", `{"cmd":"hold","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"Hold c2"}},
		{"hold with a dialect", `{"cmd":"hold","args":{"call_id":"c2","dialect":"inactive"}}`, `{"ok":true}`, []string{"HoldWith c2 inactive"}},
		{"resume", `{"cmd":"resume","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"Resume c2"}},
		{"transfer", `{"cmd":"transfer","args":{"call_id":"c2","target":"sip:carol@h"}}`, `{"ok":true}`, []string{"Transfer c2 sip:carol@h"}},
		{"consult", `{"cmd":"consult","args":{"call_id":"c2","target":"sip:carol@h"}}`, `{"ok":true,"result":{"call_id":"c10"}}`, []string{"Consult c2 sip:carol@h"}},
		{"toggle", `{"cmd":"toggle","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"Toggle c2"}},
		{"complete_transfer", `{"cmd":"complete_transfer","args":{"call_id":"c2","other_id":"c10"}}`, `{"ok":true}`, []string{"CompleteTransfer c2 c10"}},
		{"conference", `{"cmd":"conference","args":{"call_id":"c2","other_id":"c10"}}`, `{"ok":true}`, []string{"Conference c2 c10"}},
		{"split", `{"cmd":"split","args":{"call_id":"c10"}}`, `{"ok":true}`, []string{"Split c10"}},
		{"accept_refer", `{"cmd":"accept_refer","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"AcceptRefer c2"}},
		{"reject_refer", `{"cmd":"reject_refer","args":{"call_id":"c2"}}`, `{"ok":true}`, []string{"RejectRefer c2"}},
		{"comment-free whitespace", "  \t{\"cmd\":\"ping\"}  \r\n", `{"ok":true,"result":{"pong":true}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			d := NewDispatcher(f, nil)
			resp := d.Handle(t.Context(), []byte(tt.line))
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

func TestDispatcherErrors(t *testing.T) {
	tests := []struct {
		name     string
		method   string // fake method that fails with err
		err      error
		line     string
		wantID   string // raw JSON, "" for none
		wantCode string
		wantSIP  int
		noCall   bool // the Controller must not be called
	}{
		{"no such call", "Hangup", fmt.Errorf("hangup: %w", cti.ErrNoSuchCall),
			`{"id":"1","cmd":"hangup","args":{"call_id":"zz"}}`, `"1"`, CodeNoSuchCall, 0, false},
		{"bad state", "Answer", fmt.Errorf("answer: %w", cti.ErrBadState),
			`{"id":2,"cmd":"answer","args":{"call_id":"c2"}}`, `2`, CodeBadState, 0, false},
		{"rejected", "Dial", fmt.Errorf("dial: %w", &cti.RejectedError{Code: 486, Reason: "Busy Here"}),
			`{"id":"3","cmd":"dial","args":{"to":"sip:bob@h"}}`, `"3"`, CodeRejected, 486, false},
		{"internal", "Register", errors.New("boom"),
			`{"id":"4","cmd":"register"}`, `"4"`, CodeInternal, 0, false},
		{"unknown command", "", nil, `{"id":"5","cmd":"fly"}`, `"5"`, CodeUnknownCommand, 0, true},
		{"not JSON", "", nil, `dial sip:bob`, ``, CodeBadRequest, 0, true},
		{"truncated JSON", "", nil, `{"id":"6","cmd":"di`, ``, CodeBadRequest, 0, true},
		{"array", "", nil, `[1,2]`, ``, CodeBadRequest, 0, true},
		{"empty object", "", nil, `{}`, ``, CodeBadRequest, 0, true},
		{"trailing data", "", nil, `{"cmd":"ping"} {"cmd":"ping"}`, ``, CodeBadRequest, 0, true},
		{"unknown top-level field", "", nil, `{"id":"7","cmd":"ping","arg":{}}`, `"7"`, CodeBadRequest, 0, true},
		{"cmd not a string", "", nil, `{"id":"8","cmd":5}`, `"8"`, CodeBadRequest, 0, true},
		{"id an object", "", nil, `{"id":{"x":1},"cmd":"ping"}`, ``, CodeBadRequest, 0, true},
		{"args not an object", "", nil, `{"id":"9","cmd":"answer","args":"c1"}`, `"9"`, CodeBadRequest, 0, true},
		{"missing call_id", "", nil, `{"id":"10","cmd":"answer","args":{}}`, `"10"`, CodeBadRequest, 0, true},
		{"unknown arg", "", nil, `{"id":"11","cmd":"answer","args":{"call_id":"c1","force":true}}`, `"11"`, CodeBadRequest, 0, true},
		{"arg of the wrong type", "", nil, `{"id":"12","cmd":"reject","args":{"call_id":"c1","code":"486"}}`, `"12"`, CodeBadRequest, 0, true},
		{"reject code out of range", "", nil, `{"id":"13","cmd":"reject","args":{"call_id":"c1","code":200}}`, `"13"`, CodeBadRequest, 0, true},
		{"dial without to", "", nil, `{"id":"14","cmd":"dial","args":{"to":"  "}}`, `"14"`, CodeBadRequest, 0, true},
		{"bad DTMF digit", "", nil, `{"id":"15","cmd":"dtmf","args":{"call_id":"c1","digits":"12x"}}`, `"15"`, CodeBadRequest, 0, true},
		{"no digits", "", nil, `{"id":"16","cmd":"dtmf","args":{"call_id":"c1"}}`, `"16"`, CodeBadRequest, 0, true},
		{"calls of an unknown call", "", nil, `{"id":"17","cmd":"calls","args":{"call_id":"zz"}}`, `"17"`, CodeNoSuchCall, 0, true},
		{"ladder of an unknown call", "", nil, `{"id":"18","cmd":"ladder","args":{"call_id":"zz"}}`, `"18"`, CodeNoSuchCall, 0, true},
		{"subscribe without a stream", "", nil, `{"id":"19","cmd":"subscribe"}`, `"19"`, CodeBadRequest, 0, true},
		{"transfer pending", "Transfer", fmt.Errorf("transfer: %w", cti.ErrTransferPending),
			`{"id":"21","cmd":"transfer","args":{"call_id":"c2","target":"sip:c@h"}}`, `"21"`, CodeBadState, 0, false},
		{"hold with a bad dialect", "", nil, `{"id":"22","cmd":"hold","args":{"call_id":"c2","dialect":"pause"}}`, `"22"`, CodeBadRequest, 0, true},
		{"transfer without target", "", nil, `{"id":"23","cmd":"transfer","args":{"call_id":"c2"}}`, `"23"`, CodeBadRequest, 0, true},
		{"conference without other_id", "", nil, `{"id":"24","cmd":"conference","args":{"call_id":"c2"}}`, `"24"`, CodeBadRequest, 0, true},
		{"too long", "", nil, `{"id":"20","cmd":"ping","args":{"x":"` + strings.Repeat("a", MaxLine) + `"}}`, ``, CodeBadRequest, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.method != "" {
				f.setErr(tt.method, tt.err)
			}
			resp := NewDispatcher(f, nil).Handle(t.Context(), []byte(tt.line))
			if resp.OK || resp.Error == nil {
				t.Fatalf("%s: response ok=%v error=%v, want a failure", tt.name, resp.OK, resp.Error)
			}
			if resp.Error.Code != tt.wantCode || resp.Error.SIPCode != tt.wantSIP {
				t.Errorf("%s: error %+v, want code %s sip %d", tt.name, resp.Error, tt.wantCode, tt.wantSIP)
			}
			if resp.Error.Message == "" {
				t.Errorf("%s: empty message", tt.name)
			}
			if string(resp.ID) != tt.wantID {
				t.Errorf("%s: id %s, want %s", tt.name, resp.ID, tt.wantID)
			}
			if tt.noCall && len(f.recorded()) != 0 {
				t.Errorf("%s: controller called: %q", tt.name, f.recorded())
			}
			if _, err := json.Marshal(resp); err != nil {
				t.Errorf("%s: response does not marshal: %v", tt.name, err)
			}
		})
	}
}

func TestCommandsListsTable(t *testing.T) {
	d := NewDispatcher(newFake(), nil)
	want := []string{"accept_refer", "answer", "calls", "clear_override", "commands", "complete_transfer", "conference", "consult",
		"device", "dial", "dialogs", "dtmf", "export_journal", "hangup", "hangup_all", "hold", "journal", "ladder", "let_through", "mark_read",
		"move", "mute", "pickup", "ping", "policy", "presence", "register", "reject", "reject_refer", "resume", "set_policy", "split", "status",
		"subscribe", "target", "toggle", "transfer", "unmute", "unread_missed", "unregister", "unsubscribe", "unwatch", "watch"}
	if got := d.Commands(); !slices.Equal(got, want) {
		t.Errorf("Commands() = %q, want %q", got, want)
	}
	resp := d.Handle(t.Context(), []byte(`{"cmd":"commands"}`))
	var r commandsResult
	if err := json.Unmarshal(resp.Result, &r); err != nil || len(r.Commands) != len(want) {
		t.Fatalf("commands result %s (%v)", resp.Result, err)
	}
	for i, c := range r.Commands {
		if c.Name != want[i] || c.Summary == "" {
			t.Errorf("commands[%d] = %+v", i, c)
		}
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{Code: CodeNoSuchCall, Message: "x"})
	if !errors.Is(err, &Error{Code: CodeNoSuchCall}) {
		t.Error("errors.Is with the same code = false")
	}
	if errors.Is(err, &Error{Code: CodeBadState}) {
		t.Error("errors.Is with another code = true")
	}
}
