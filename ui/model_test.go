package ui

import (
	"errors"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

func TestUpdateKeys(t *testing.T) {
	in := call("c1", cti.Incoming, cti.CallIncoming, "Alice", "1001", 70, 0)
	act := call("c1", cti.Outgoing, cti.CallActive, "Bob", "1002", 0, 5)
	act2 := call("c2", cti.Incoming, cti.CallIncoming, "Carol", "1003", 60, 0)
	hld2 := held(call("c2", cti.Outgoing, cti.CallActive, "Dave", "1004", 10, 12))
	muted := act
	muted.Muted = true
	act3 := call("c3", cti.Outgoing, cti.CallActive, "Eve", "1005", 20, 22)
	tests := []struct {
		name       string
		plain      bool // the Controller offers no Transferer
		calls      []cti.CallInfo
		keys       []string
		want       []string // the Controller calls, in order
		wantNotice string
		wantMode   mode
		wantQuit   bool
	}{
		{name: "answer incoming", calls: []cti.CallInfo{in}, keys: []string{"a"}, want: []string{"answer c1"}},
		{name: "answer holds the active call first", calls: []cti.CallInfo{act, act2}, keys: []string{"a"}, want: []string{"hold c1", "answer c2"}},
		{name: "answer with nothing ringing", calls: []cti.CallInfo{act}, keys: []string{"a"}, wantNotice: "no incoming call"},
		{name: "reject incoming", calls: []cti.CallInfo{in}, keys: []string{"r"}, want: []string{"reject c1 0"}},
		{name: "reject an active call refuses", calls: []cti.CallInfo{act}, keys: []string{"r"}, wantNotice: "only a ringing"},
		{name: "hang up", calls: []cti.CallInfo{act}, keys: []string{"e"}, want: []string{"hangup c1"}},
		{name: "hang up with no call", keys: []string{"e"}, wantNotice: "no call selected"},
		{name: "hold", calls: []cti.CallInfo{act}, keys: []string{"h"}, want: []string{"hold c1"}},
		{name: "resume", calls: []cti.CallInfo{held(act)}, keys: []string{"h"}, want: []string{"resume c1"}},
		{name: "resume holds the other call", calls: []cti.CallInfo{act, hld2}, keys: []string{"down", "h"}, want: []string{"hold c1", "resume c2"}},
		{name: "hold a ringing call refuses", calls: []cti.CallInfo{in}, keys: []string{"h"}, wantNotice: "only an active call"},
		{name: "swap", calls: []cti.CallInfo{act, hld2}, keys: []string{"tab"}, want: []string{"toggle c2"}},
		{name: "swap with nothing held", calls: []cti.CallInfo{act}, keys: []string{"tab"}, wantNotice: "no held call"},
		{name: "mute", calls: []cti.CallInfo{act}, keys: []string{"m"}, want: []string{"mute c1 true"}},
		{name: "unmute", calls: []cti.CallInfo{muted}, keys: []string{"m"}, want: []string{"mute c1 false"}},
		{name: "digit sends DTMF on an active call", calls: []cti.CallInfo{act}, keys: []string{"5", "#"}, want: []string{"dtmf c1 5", "dtmf c1 #"}},
		{name: "digit starts dialling when idle", keys: []string{"1", "0", "0", "1", "enter"}, want: []string{"dial 1001"}},
		{name: "dial a contact by name", keys: []string{"d", "e", "c", "h", "o", "enter"}, want: []string{"dial sip:echo@127.0.0.1:5062"}, wantNotice: "calling sip:echo"},
		{name: "dial completes with tab", keys: []string{"d", "t", "o", "tab", "enter"}, want: []string{"dial sip:tone@127.0.0.1:5064"}},
		{name: "dial holds the active call", calls: []cti.CallInfo{act}, keys: []string{"d", "7", "enter"}, want: []string{"hold c1", "dial 7"}},
		{name: "dial cancelled", keys: []string{"d", "1", "esc"}, wantMode: modeCalls},
		{name: "dial prompt stays open while typing", keys: []string{"d", "1"}, wantMode: modePrompt},
		{name: "command hangup", calls: []cti.CallInfo{act}, keys: []string{":", "h", "a", "n", "g", "u", "p", "enter"}, want: []string{"hangup c1"}},
		{name: "command dtmf", calls: []cti.CallInfo{act}, keys: append(append([]string{":"}, strings.Split("dtmf 12#", "")...), "enter"), want: []string{"dtmf c1 12#"}},
		{name: "command reject with code", calls: []cti.CallInfo{in}, keys: append(append([]string{":"}, strings.Split("reject 603", "")...), "enter"), want: []string{"reject c1 603"}},
		{name: "command dial", keys: append(append([]string{":"}, strings.Split("dial tone", "")...), "enter"), want: []string{"dial sip:tone@127.0.0.1:5064"}},
		{name: "command register", keys: append(append([]string{":"}, strings.Split("register", "")...), "enter"), want: []string{"register"}},
		{name: "command unknown", keys: []string{":", "x", "y", "enter"}, wantNotice: `unknown command "xy"`},
		{name: "command quit", keys: []string{":", "q", "enter"}, wantQuit: true},
		{name: "ladder", calls: []cti.CallInfo{act}, keys: []string{"l"}, want: []string{"ladder c1"}, wantMode: modeLadder},
		{name: "ladder and back", calls: []cti.CallInfo{act}, keys: []string{"l", "esc"}, want: []string{"ladder c1"}, wantMode: modeCalls},
		{name: "help", keys: []string{"?"}, wantMode: modeHelp},
		{name: "help and back", keys: []string{"?", "esc"}, wantMode: modeCalls},
		{name: "quit when idle", keys: []string{"q"}, wantQuit: true},
		{name: "quit with a call asks first", calls: []cti.CallInfo{act}, keys: []string{"q"}, wantNotice: "press q again"},
		{name: "quit with a call twice", calls: []cti.CallInfo{act}, keys: []string{"q", "q"}, wantQuit: true},
		{name: "ctrl+c quits", calls: []cti.CallInfo{act}, keys: []string{"ctrl+c"}, wantQuit: true},
		{name: "transfer needs a Transferer", plain: true, calls: []cti.CallInfo{act}, keys: []string{"t"}, wantMode: modeCalls},
		{name: "swap without a Transferer holds and resumes", plain: true, calls: []cti.CallInfo{act, hld2}, keys: []string{"tab"}, want: []string{"hold c1", "resume c2"}},
		{name: "transfer prompt stays open", calls: []cti.CallInfo{act}, keys: []string{"t", "1"}, wantMode: modePrompt},
		{name: "transfer", calls: []cti.CallInfo{act}, keys: []string{"t", "1", "0", "0", "3", "enter"}, want: []string{"transfer c1 1003"}, wantNotice: "transferring to 1003"},
		{name: "transfer to a contact", calls: []cti.CallInfo{act}, keys: []string{"t", "e", "c", "h", "o", "enter"}, want: []string{"transfer c1 sip:echo@127.0.0.1:5062"}},
		{name: "transfer cancelled", calls: []cti.CallInfo{act}, keys: []string{"t", "1", "esc"}, wantMode: modeCalls},
		{name: "transfer a ringing call refuses", calls: []cti.CallInfo{in}, keys: []string{"t"}, wantNotice: "only an active call can be transferred"},
		{name: "consult", calls: []cti.CallInfo{act}, keys: []string{"c", "7", "enter"}, want: []string{"consult c1 7"}, wantNotice: "consulting 7"},
		{name: "complete transfer from the consulted call", calls: []cti.CallInfo{held(act), act3}, keys: []string{"down", "T"}, want: []string{"complete c1 c3"}},
		{name: "complete transfer from the held call", calls: []cti.CallInfo{held(act), act3}, keys: []string{"T"}, want: []string{"complete c1 c3"}},
		{name: "complete transfer needs two calls", calls: []cti.CallInfo{act}, keys: []string{"T"}, wantNotice: "a transfer needs a held call"},
		{name: "conference", calls: []cti.CallInfo{held(act), act3}, keys: []string{"down", "C"}, want: []string{"conference c3 c1"}, wantNotice: "conference: mixing"},
		{name: "conference needs two calls", calls: []cti.CallInfo{act}, keys: []string{"C"}, wantNotice: "a conference needs two calls"},
		{name: "command transfer", calls: []cti.CallInfo{act}, keys: append(append([]string{":"}, strings.Split("transfer 1003", "")...), "enter"), want: []string{"transfer c1 1003"}},
		{name: "command consult", calls: []cti.CallInfo{act}, keys: append(append([]string{":"}, strings.Split("consult tone", "")...), "enter"), want: []string{"consult c1 sip:tone@127.0.0.1:5064"}},
		{name: "command accept-transfer with none waiting", calls: []cti.CallInfo{act}, keys: append(append([]string{":"}, strings.Split("accept-transfer", "")...), "enter"), wantNotice: "no transfer is waiting"},
		{name: "select down then hang up", calls: []cti.CallInfo{act, hld2}, keys: []string{"down", "e"}, want: []string{"hangup c2"}},
		{name: "select up stops at the top", calls: []cti.CallInfo{act, hld2}, keys: []string{"up", "up", "e"}, want: []string{"hangup c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.plain = tc.plain
			m := newTestModel(t, f, 80, 24, tc.calls...)
			quit := false
			for _, k := range tc.keys {
				_, cmd := m.Update(keyMsg(k))
				for _, msg := range run(cmd) {
					if _, ok := msg.(tea.QuitMsg); ok {
						quit = true
					}
					if _, ok := msg.(feedClosedMsg); ok {
						continue
					}
					_, c2 := m.Update(msg)
					for _, msg2 := range run(c2) {
						if _, ok := msg2.(tea.QuitMsg); ok {
							quit = true
						}
						if _, ok := msg2.(feedClosedMsg); !ok {
							m.Update(msg2)
						}
					}
				}
			}
			if got := f.calls(); !slices.Equal(got, tc.want) {
				t.Errorf("%s: controller calls = %q, want %q", tc.name, got, tc.want)
			}
			if quit != tc.wantQuit {
				t.Errorf("%s: quit = %v, want %v", tc.name, quit, tc.wantQuit)
			}
			if tc.wantNotice != "" && !strings.Contains(m.notice.last.Text, tc.wantNotice) {
				t.Errorf("%s: notice = %q, want it to contain %q", tc.name, m.notice.last.Text, tc.wantNotice)
			}
			if m.mode != tc.wantMode {
				t.Errorf("%s: mode = %v, want %v", tc.name, m.mode, tc.wantMode)
			}
		})
	}
}

func TestUpdateEvents(t *testing.T) {
	act := call("c1", cti.Outgoing, cti.CallActive, "Bob", "1002", 0, 5)
	in := call("c2", cti.Incoming, cti.CallIncoming, "Carol", "1003", 70, 0)
	ended := act
	ended.State = cti.CallEnded
	ended.End = &cti.EndInfo{Cause: 2}
	rejected := call("c1", cti.Outgoing, cti.CallEnded, "Bob", "1002", 0, 0)
	rejected.End = &cti.EndInfo{Cause: 3, Code: 486, Reason: "Busy Here"}
	tests := []struct {
		name       string
		calls      []cti.CallInfo
		bell       bool
		msg        tea.Msg
		wantCalls  []cti.CallID
		wantSel    cti.CallID
		wantNotice string
		wantLevel  cti.NoticeLevel
		wantBell   bool
		wantHeader string
		check      func(t *testing.T, m *Model, msgs []tea.Msg)
	}{
		{name: "incoming call alerts", bell: true, msg: cti.CallChanged{Call: in}, wantCalls: []cti.CallID{"c2"}, wantSel: "c2",
			wantNotice: "incoming call from Carol (1003)", wantLevel: cti.NoticeWarn, wantBell: true},
		{name: "incoming call without bell", msg: cti.CallChanged{Call: in}, wantCalls: []cti.CallID{"c2"}, wantSel: "c2", wantNotice: "incoming call", wantLevel: cti.NoticeWarn},
		{name: "call waiting", bell: true, calls: []cti.CallInfo{act}, msg: cti.CallChanged{Call: in}, wantCalls: []cti.CallID{"c1", "c2"}, wantSel: "c2",
			wantNotice: "call waiting: Carol", wantLevel: cti.NoticeWarn, wantBell: true},
		{name: "call changes in place", calls: []cti.CallInfo{act}, msg: cti.CallChanged{Call: held(act)}, wantCalls: []cti.CallID{"c1"}, wantSel: "c1",
			check: func(t *testing.T, m *Model, _ []tea.Msg) {
				if !m.calls.calls[0].LocalHold {
					t.Error("call changes in place: not held")
				}
			}},
		{name: "call ends", calls: []cti.CallInfo{act}, msg: cti.CallChanged{Call: ended}, wantNotice: "call with Bob (1002) ended: remote-hangup"},
		{name: "call rejected", calls: []cti.CallInfo{act}, msg: cti.CallChanged{Call: rejected}, wantNotice: "rejected 486 Busy Here"},
		{name: "notice", msg: cti.Notice{Level: cti.NoticeWarn, Text: "no audio device: using null audio"}, wantNotice: "no audio device", wantLevel: cti.NoticeWarn},
		{name: "dtmf received", calls: []cti.CallInfo{act}, msg: cti.DTMFReceived{CallID: "c1", Digit: "7"}, wantCalls: []cti.CallID{"c1"}, wantSel: "c1", wantNotice: "received DTMF 7"},
		{name: "media timeout", calls: []cti.CallInfo{act}, msg: cti.MediaTimeout{CallID: "c1", Seconds: 10}, wantCalls: []cti.CallID{"c1"}, wantSel: "c1", wantNotice: "no audio from the other side for 10 s", wantLevel: cti.NoticeWarn},
		{name: "registration", msg: cti.RegistrationChanged{Reg: cti.RegInfo{AOR: "sip:alice@example.test", State: cti.RegRegistered}}, wantHeader: "alice@example.test (registered)"},
		{name: "registration failed", msg: cti.RegistrationChanged{Reg: cti.RegInfo{AOR: "sip:alice@example.test", State: cti.RegFailed, Code: 403}}, wantHeader: "(failed 403)"},
		{name: "transfer progress", calls: []cti.CallInfo{act}, msg: cti.TransferProgress{CallID: "c1", Target: "1003", Code: 180, Reason: "Ringing"}, wantNotice: "transfer to 1003: 180 Ringing"},
		{name: "transfer done", calls: []cti.CallInfo{act}, msg: cti.TransferProgress{CallID: "c1", Target: "1003", Code: 200, Final: true, OK: true}, wantNotice: "transferred to 1003"},
		{name: "transfer failed", calls: []cti.CallInfo{act}, msg: cti.TransferProgress{CallID: "c1", Target: "1003", Code: 486, Reason: "Busy Here", Final: true},
			wantNotice: "transfer to 1003 failed: 486 Busy Here", wantLevel: cti.NoticeError},
		{name: "refer waits for an answer", calls: []cti.CallInfo{act}, msg: cti.ReferReceived{CallID: "c1", ReferredBy: "sip:bob@x", Target: "sip:carol@x", Pending: true},
			wantNotice: "sip:bob@x transfers you to sip:carol@x", wantLevel: cti.NoticeWarn, check: func(t *testing.T, m *Model, _ []tea.Msg) {
				f := m.ctl.(*fakeCtl)
				typeText(m, ":accept-transfer")
				press(m, "enter")
				if got := f.calls(); !slices.Equal(got, []string{"accept-refer c1"}) {
					t.Errorf("refer: calls %q, want accept-refer c1", got)
				}
			}},
		{name: "refer accepted by policy", calls: []cti.CallInfo{act}, msg: cti.ReferReceived{CallID: "c1", Target: "sip:carol@x", Accepted: true}, wantNotice: "the other side transferred you to sip:carol@x"},
		{name: "initial hold result", calls: []cti.CallInfo{act}, msg: cti.InitialHoldResult{CallID: "c1", Dialect: cti.HoldInactive, OK: true}, wantNotice: "call placed on hold (inactive)"},
		{name: "policy changed to DND", msg: cti.PolicyChanged{Policy: busy.Policy{DND: true}}, wantHeader: "│ DND"},
		{name: "policy busy with override", msg: cti.PolicyChanged{Policy: busy.Policy{OnBusy: busy.Busy, Override: busy.Override{Until: base.Add(time.Hour)}}},
			wantHeader: "busy: busy, let through till"},
		{name: "override until the call ends", msg: cti.PolicyChanged{Policy: busy.Policy{Override: busy.Override{UntilCallEnds: "c1"}}}, wantHeader: "busy: wait, let through this call"},
		{name: "expired override is not shown", msg: cti.PolicyChanged{Policy: busy.Policy{Override: busy.Override{Until: base}}}, check: func(t *testing.T, m *Model, _ []tea.Msg) {
			if h := ansi.Strip(m.header.View()); strings.Contains(h, "let through") {
				t.Errorf("expired override: header %q", h)
			}
		}},
		{name: "journal changed", msg: cti.JournalChanged{UnreadMissed: 3}, wantHeader: "3 missed"},
		{name: "journal read", msg: cti.JournalChanged{UnreadMissed: 0}, check: func(t *testing.T, m *Model, _ []tea.Msg) {
			if h := ansi.Strip(m.header.View()); strings.Contains(h, "missed") {
				t.Errorf("journal read: header %q", h)
			}
		}},
		{name: "unread count at start", msg: unreadMsg{n: 2}, wantHeader: "2 missed"},
		{name: "policy refused a call", msg: cti.PolicyDecision{CallID: "c5", Decision: busy.Decision{Action: busy.Busy, Rule: busy.RuleBusy, Code: 486, Phrase: "Busy Here"}},
			wantNotice: "a call was refused: 486 Busy Here (busy-policy)"},
		{name: "policy sent a call to voicemail", msg: cti.PolicyDecision{CallID: "c5", Decision: busy.Decision{Action: busy.Voicemail, Rule: busy.RuleDND, Code: 302}},
			wantNotice: "a call went to voicemail (dnd)"},
		{name: "policy rings silently", msg: cti.PolicyDecision{CallID: "c5", Decision: busy.Decision{Action: busy.Silent, Rule: busy.RuleBusy}}, wantNotice: "a call rings silently"},
		{name: "lagged takes a snapshot", msg: cti.Lagged{Dropped: 3}, check: func(t *testing.T, m *Model, msgs []tea.Msg) {
			found := false
			for _, x := range msgs {
				if s, ok := x.(snapshotMsg); ok {
					found = true
					m.Update(s)
				}
			}
			if !found {
				t.Error("lagged: no snapshot taken")
			}
		}},
		{name: "snapshot replaces the calls", calls: []cti.CallInfo{act}, msg: snapshotMsg{snap: cti.Snapshot{Calls: []cti.CallInfo{in}}}, wantCalls: []cti.CallID{"c2"}, wantSel: "c2"},
		{name: "BYE not answered shows", msg: cti.RequestOutcome{CallID: "c1", Method: "BYE", Outcome: "timed_out", Seconds: 32, Text: "BYE: timed out after 32 s"},
			wantNotice: "BYE: timed out after 32 s", wantLevel: cti.NoticeWarn},
		{name: "re-INVITE given up shows", msg: cti.RequestOutcome{CallID: "c1", Method: "re-INVITE", Outcome: "transport_error", Text: "re-INVITE: transport error after 0.5 s (peer unreachable)"},
			wantNotice: "re-INVITE: transport error", wantLevel: cti.NoticeWarn},
		{name: "an answered BYE stays quiet", msg: cti.RequestOutcome{CallID: "c1", Method: "BYE", Outcome: "answered", Code: 200, Text: "BYE: 200 OK after 0.0 s"},
			check: func(t *testing.T, m *Model, _ []tea.Msg) {
				if strings.Contains(m.Render(), "BYE") {
					t.Errorf("an answered BYE reached the screen:\n%s", m.Render())
				}
			}},
		{name: "feed closed", msg: feedClosedMsg{}, wantNotice: "the phone stopped", wantLevel: cti.NoticeWarn},
		{name: "command error", msg: resultMsg{what: "hold", err: errors.New("boom")}, wantNotice: "hold: boom", wantLevel: cti.NoticeError},
		{name: "dial rejected", msg: dialResultMsg{to: "1001", err: &cti.RejectedError{Code: 404, Reason: "Not Found"}}, wantNotice: "dial 1001:", wantLevel: cti.NoticeError},
		{name: "resize", msg: tea.WindowSizeMsg{Width: 120, Height: 40}, check: func(t *testing.T, m *Model, _ []tea.Msg) {
			if m.w != 120 || m.h != 40 || m.calls.h != 35 {
				t.Errorf("resize: w=%d h=%d list h=%d", m.w, m.h, m.calls.h)
			}
			if lines := strings.Count(m.Render(), "\n") + 1; lines != 40 {
				t.Errorf("resize: %d lines, want 40", lines)
			}
		}},
		{name: "tick re-arms while a call is up", calls: []cti.CallInfo{act}, msg: tickMsg(base.Add(80 * time.Second)), wantCalls: []cti.CallID{"c1"}, wantSel: "c1",
			check: func(t *testing.T, m *Model, _ []tea.Msg) {
				if !m.ticking || !m.now.Equal(base.Add(80*time.Second)) {
					t.Errorf("tick: ticking=%v now=%v", m.ticking, m.now)
				}
				if !strings.Contains(m.Render(), "1:15") {
					t.Errorf("tick: timer not 1:15:\n%s", m.Render())
				}
			}},
		{name: "tick stops when idle", msg: tickMsg(base), check: func(t *testing.T, m *Model, _ []tea.Msg) {
			if m.ticking {
				t.Error("tick: still ticking with no call")
			}
		}},
		{name: "mouse click selects", calls: []cti.CallInfo{act, in}, msg: tea.MouseClickMsg{Button: tea.MouseLeft, X: 5, Y: 3}, wantCalls: []cti.CallID{"c1", "c2"}, wantSel: "c2"},
		{name: "background colour", msg: tea.BackgroundColorMsg{Color: color.White}, check: func(t *testing.T, m *Model, _ []tea.Msg) {
			if m.dark {
				t.Error("background: white should give light styles, got dark")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			m := newTestModel(t, f, 80, 24, tc.calls...)
			m.opts.NoBell = !tc.bell
			if len(tc.calls) > 0 {
				m.calls.selectID(tc.calls[0].ID)
			}
			_, cmd := m.Update(tc.msg)
			msgs := run(cmd)
			bell := false
			for _, x := range msgs {
				if r, ok := x.(tea.RawMsg); ok && r.Msg == "\a" {
					bell = true
				}
			}
			if bell != tc.wantBell {
				t.Errorf("%s: bell = %v, want %v", tc.name, bell, tc.wantBell)
			}
			if tc.wantCalls != nil || tc.wantSel != "" {
				var ids []cti.CallID
				for _, c := range m.calls.calls {
					ids = append(ids, c.ID)
				}
				if !slices.Equal(ids, tc.wantCalls) {
					t.Errorf("%s: calls = %v, want %v", tc.name, ids, tc.wantCalls)
				}
				if c, _ := m.calls.selected(); c.ID != tc.wantSel {
					t.Errorf("%s: selected = %q, want %q", tc.name, c.ID, tc.wantSel)
				}
			}
			if tc.wantNotice != "" {
				if !strings.Contains(m.notice.last.Text, tc.wantNotice) || m.notice.last.Level != tc.wantLevel {
					t.Errorf("%s: notice = %v %q, want %v containing %q", tc.name, m.notice.last.Level, m.notice.last.Text, tc.wantLevel, tc.wantNotice)
				}
			}
			if tc.wantHeader != "" {
				if h := ansi.Strip(m.header.View()); !strings.Contains(h, tc.wantHeader) {
					t.Errorf("%s: header = %q, want it to contain %q", tc.name, h, tc.wantHeader)
				}
			}
			if tc.check != nil {
				tc.check(t, m, msgs)
			}
		})
	}
}

func TestKeyMapSet(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		keys    []string
		wantErr error
	}{
		{name: "rebind hold", action: "hold", keys: []string{"H", "ctrl+h"}},
		{name: "unknown action", action: "fly", keys: []string{"f"}, wantErr: ErrUnknownAction},
		{name: "no keys", action: "hold", wantErr: ErrNoKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			km := DefaultKeyMap()
			err := km.Set(tc.action, tc.keys...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(km.Hold.Keys(), tc.keys) || km.Hold.Help().Key != "H/ctrl+h" {
				t.Errorf("%s: keys %v help %q", tc.name, km.Hold.Keys(), km.Hold.Help().Key)
			}
		})
	}
}

// TestRebindHoldKey proves configured keys drive Update.
func TestRebindHoldKey(t *testing.T) {
	km := DefaultKeyMap()
	if err := km.Set("hold", "H"); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.snap.Calls = []cti.CallInfo{call("c1", cti.Outgoing, cti.CallActive, "Bob", "1002", 0, 5)}
	m := New(f, Options{Keys: &km, NoBell: true, Now: func() time.Time { return base }})
	press(m, "h")
	press(m, "H")
	if got := f.calls(); !slices.Equal(got, []string{"hold c1"}) {
		t.Errorf("calls = %q, want only the rebound key to hold", got)
	}
}

func TestParseContacts(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Contact
		wantErr bool
	}{
		{name: "plain", in: "echo sip:echo@127.0.0.1:5062\n# comment\n\n1001 1001\n", want: []Contact{{"echo", "sip:echo@127.0.0.1:5062"}, {"1001", "1001"}}},
		{name: "quoted name", in: `"Alice Smith" sip:alice@example.test`, want: []Contact{{"Alice Smith", "sip:alice@example.test"}}},
		{name: "missing address", in: "echo\n", wantErr: true},
		{name: "unterminated quote", in: `"Alice sip:a@b`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseContacts(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestInitReadsUnreadMissed(t *testing.T) {
	f := newFake()
	f.unread = 4
	m := newTestModel(t, f, 80, 24)
	for _, msg := range run(m.Init()) {
		if _, ok := msg.(feedClosedMsg); !ok {
			m.Update(msg)
		}
	}
	if h := ansi.Strip(m.header.View()); !strings.Contains(h, "4 missed") {
		t.Errorf("header %q, want 4 missed", h)
	}
}

func TestJournalPane(t *testing.T) {
	tests := []struct {
		name       string
		plain      bool
		keys       []string
		event      tea.Msg // sent after the keys
		want       []string
		wantMode   mode
		wantFilter int
		wantRows   int
		wantNotice string
	}{
		{name: "opens on all", keys: []string{"j"}, wantMode: modeJournal, wantRows: 5},
		{name: "without a journal", plain: true, keys: []string{"j"}, wantMode: modeCalls, wantNotice: "no journal"},
		{name: "next filter missed", keys: []string{"j", "tab"}, wantMode: modeJournal, wantFilter: 1, wantRows: 2},
		{name: "right arrow to secondary", keys: []string{"j", "right", "right"}, wantMode: modeJournal, wantFilter: 2, wantRows: 1},
		{name: "answered elsewhere", keys: []string{"j", "left"}, wantMode: modeJournal, wantFilter: 3, wantRows: 1},
		{name: "filter wraps", keys: []string{"j", "left", "right"}, wantMode: modeJournal, wantFilter: 0, wantRows: 5},
		{name: "call back an unread missed call dials and marks it read", keys: []string{"j", "enter"},
			want: []string{"dial +4930111", "mark-read [5]"}, wantMode: modeCalls, wantRows: 5},
		{name: "call back by URI", keys: []string{"j", "down", "enter"}, want: []string{"dial sip:echo@127.0.0.1:5062"}, wantMode: modeCalls, wantRows: 5},
		{name: "mark read", keys: []string{"j", "r"}, want: []string{"mark-read [5]"}, wantMode: modeJournal, wantRows: 5},
		{name: "mark read of a read call does nothing", keys: []string{"j", "down", "r"}, wantMode: modeJournal, wantRows: 5},
		{name: "mark all read", keys: []string{"j", "R"}, want: []string{"mark-all-read"}, wantMode: modeJournal, wantRows: 5},
		{name: "esc goes back", keys: []string{"j", "esc"}, wantMode: modeCalls, wantRows: 5},
		{name: "j goes back", keys: []string{"j", "j"}, wantMode: modeCalls, wantRows: 5},
		{name: "journal changed reloads the open pane", keys: []string{"j"}, event: cti.JournalChanged{UnreadMissed: 1}, wantMode: modeJournal, wantRows: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.plain = tc.plain
			f.entries = journalFixture()
			m := newTestModel(t, f, 80, 24)
			press(m, tc.keys...)
			if tc.event != nil {
				f.mu.Lock()
				f.entries = append([]journal.Entry{{ID: 6, Direction: cti.Incoming, Started: base, Outcome: journal.OutcomeMissed, Missed: true}}, f.entries...)
				f.mu.Unlock()
				_, cmd := m.Update(tc.event)
				for _, msg := range run(cmd) {
					if _, ok := msg.(feedClosedMsg); !ok {
						m.Update(msg)
					}
				}
			}
			if got := f.calls(); !slices.Equal(got, tc.want) {
				t.Errorf("%s: controller calls = %q, want %q", tc.name, got, tc.want)
			}
			if m.mode != tc.wantMode {
				t.Errorf("%s: mode = %v, want %v", tc.name, m.mode, tc.wantMode)
			}
			if tc.plain {
				if !strings.Contains(m.notice.last.Text, tc.wantNotice) {
					t.Errorf("%s: notice %q, want %q", tc.name, m.notice.last.Text, tc.wantNotice)
				}
				return
			}
			if m.journal.filter != tc.wantFilter || len(m.journal.entries) != tc.wantRows {
				t.Errorf("%s: filter %d with %d rows, want %d with %d", tc.name, m.journal.filter, len(m.journal.entries), tc.wantFilter, tc.wantRows)
			}
		})
	}
}

func TestDevicesPane(t *testing.T) {
	onMobile := call("ds1", cti.Outgoing, cti.CallActive, "", "+4930123456", 0, 5)
	onMobile.Device, onMobile.Rule = "mobile", "anydevice:callback"
	onDesk := call("c1", cti.Incoming, cti.CallActive, "Bob", "1002", 0, 5)
	onDesk.Device = "desk"
	tests := []struct {
		name       string
		noDevices  bool
		calls      []cti.CallInfo
		active     string
		keys       []string
		msg        tea.Msg // sent after the keys
		want       []string
		wantMode   mode
		wantHeader string
		wantNotice string
		wantShown  string
	}{
		{name: "opens", keys: []string{"D"}, wantMode: modeDevices, wantHeader: "on desk"},
		{name: "without AnyDevice", noDevices: true, keys: []string{"D"}, wantMode: modeCalls, wantNotice: "no AnyDevice controller"},
		{name: "switch to mobile", keys: []string{"D", "down", "enter"}, want: []string{"set-device mobile"}, wantMode: modeDevices,
			wantHeader: "on mobile", wantNotice: "calls now go to mobile"},
		{name: "space selects too", keys: []string{"D", "down", "down", "space"}, want: []string{"set-device home"}, wantMode: modeDevices, wantHeader: "on home"},
		{name: "lists the calls on other devices", calls: []cti.CallInfo{onDesk, onMobile}, keys: []string{"D"}, wantMode: modeDevices,
			wantShown: "callback  active    +4930123456 via mobile"},
		{name: "hang up a call on another device", calls: []cti.CallInfo{onDesk, onMobile}, keys: []string{"D", "down", "down", "down", "e"},
			want: []string{"hangup ds1"}, wantMode: modeDevices},
		{name: "hold it", calls: []cti.CallInfo{onMobile}, keys: []string{"D", "down", "down", "down", "h"}, want: []string{"hold ds1"}, wantMode: modeDevices},
		{name: "resume it", calls: []cti.CallInfo{held(onMobile)}, keys: []string{"D", "down", "down", "down", "h"}, want: []string{"resume ds1"}, wantMode: modeDevices,
			wantShown: "via mobile [hold]"},
		{name: "e on a device does nothing", keys: []string{"D", "e"}, wantMode: modeDevices},
		{name: "esc goes back", keys: []string{"D", "esc"}, wantMode: modeCalls},
		{name: "a change shows", keys: []string{"D"}, msg: cti.DevicesChanged{Active: []string{"mobile"}, Devices: []cti.DeviceInfo{
			{Name: "desk", Target: "sip:me@127.0.0.1:5060", Local: true}, {Name: "mobile", Target: "+4917099999"}}},
			wantMode: modeDevices, wantHeader: "on mobile", wantShown: "● mobile    +4917099999"},
		{name: "a change shows with the pane closed", msg: cti.DevicesChanged{Active: []string{"home"}}, wantMode: modeCalls, wantHeader: "on home"},
		{name: "a callback dial says where to answer", active: "mobile", keys: []string{"D", "esc"}, msg: dialResultMsg{to: "1001"}, wantMode: modeCalls,
			wantNotice: "calling 1001 through mobile: answer it there"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if !tc.noDevices {
				d := f.withDevices()
				if tc.active != "" {
					d.active = []string{tc.active}
				}
			}
			m := newTestModel(t, f, 80, 24, tc.calls...)
			for _, msg := range run(m.Init()) {
				m.Update(msg)
			}
			press(m, tc.keys...)
			if tc.msg != nil {
				_, cmd := m.Update(tc.msg)
				for _, msg := range run(cmd) {
					m.Update(msg)
				}
			}
			if got := f.calls(); !slices.Equal(got, tc.want) {
				t.Errorf("%s: controller calls = %q, want %q", tc.name, got, tc.want)
			}
			if m.mode != tc.wantMode {
				t.Errorf("%s: mode = %v, want %v", tc.name, m.mode, tc.wantMode)
			}
			if h := ansi.Strip(m.header.View()); tc.wantHeader != "" && !strings.Contains(h, tc.wantHeader) {
				t.Errorf("%s: header %q, want %q", tc.name, h, tc.wantHeader)
			}
			if tc.wantNotice != "" && !strings.Contains(m.notice.last.Text, tc.wantNotice) {
				t.Errorf("%s: notice %q, want %q", tc.name, m.notice.last.Text, tc.wantNotice)
			}
			if out := ansi.Strip(m.Render()); tc.wantShown != "" && !strings.Contains(out, tc.wantShown) {
				t.Errorf("%s: the screen does not show %q:\n%s", tc.name, tc.wantShown, out)
			}
		})
	}
}

func TestSettingsPane(t *testing.T) {
	act := call("c1", cti.Outgoing, cti.CallActive, "Bob", "1002", 0, 5)
	tests := []struct {
		name       string
		plain      bool
		policy     busy.Policy
		keys       []string
		msg        tea.Msg // sent after the keys
		want       []string
		wantMode   mode
		wantHeader string
		wantNotice string
		wantTick   bool // msg re-arms the level meter
	}{
		{name: "opens", keys: []string{"S"}, wantMode: modeSettings},
		{name: "esc goes back", keys: []string{"S", "esc"}, wantMode: modeCalls},
		{name: "audio device is chosen at start", keys: []string{"S", "enter"}, wantMode: modeSettings, wantNotice: "--audio"},
		{name: "hold dialect applies to h", keys: []string{"S", "down", "enter", "enter", "esc", "h"}, want: []string{"hold c1 inactive"}, wantMode: modeCalls},
		{name: "default hold dialect uses Hold", keys: []string{"S", "down", "esc", "h"}, want: []string{"hold c1"}, wantMode: modeCalls},
		{name: "hold dialect without HoldWith", plain: true, keys: []string{"S", "down", "enter"}, wantMode: modeSettings, wantNotice: "hold dialect: ui: not available"},
		{name: "when busy cycles", keys: []string{"S", "down", "down", "enter"}, want: []string{"set-policy busy dnd=false"}, wantMode: modeSettings, wantHeader: "busy: busy"},
		{name: "voicemail skipped without a URI", policy: busy.Policy{OnBusy: busy.Unavailable}, keys: []string{"S", "down", "down", "enter"},
			want: []string{"set-policy silent dnd=false"}, wantMode: modeSettings, wantHeader: "busy: silent"},
		{name: "voicemail with a URI", policy: busy.Policy{OnBusy: busy.Unavailable, VoicemailURI: "sip:vm@127.0.0.1"}, keys: []string{"S", "down", "down", "enter"},
			want: []string{"set-policy voicemail dnd=false"}, wantMode: modeSettings},
		{name: "silent wraps to wait", policy: busy.Policy{OnBusy: busy.Silent}, keys: []string{"S", "down", "down", "enter"}, want: []string{"set-policy wait dnd=false"}, wantMode: modeSettings},
		{name: "DND toggles", keys: []string{"S", "down", "down", "down", "space"}, want: []string{"set-policy wait dnd=true"}, wantMode: modeSettings, wantHeader: "│ DND"},
		{name: "let calls through", keys: []string{"S", "down", "down", "down", "down", "enter"}, want: []string{"let-through 30m0s"}, wantMode: modeSettings, wantHeader: "let through till"},
		{name: "stop letting calls through", policy: busy.Policy{Override: busy.Override{UntilCallEnds: "c1"}}, keys: []string{"S", "down", "down", "down", "down", "enter"},
			want: []string{"clear-override"}, wantMode: modeSettings},
		{name: "policy without a PolicyController", plain: true, keys: []string{"S", "down", "down", "enter"}, wantMode: modeSettings, wantNotice: "busy policy: ui: not available"},
		{name: "meter ticks while open", keys: []string{"S"}, msg: levelMsg(base), wantMode: modeSettings, wantTick: true},
		{name: "meter stops when closed", keys: []string{"S", "esc"}, msg: levelMsg(base), wantMode: modeCalls},
		{name: "policy error", keys: []string{"S"}, msg: policySetMsg{err: busy.ErrInvalidPolicy}, wantMode: modeSettings, wantNotice: "busy: invalid policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.plain = tc.plain
			f.policy = tc.policy
			m := newTestModel(t, f, 80, 24, act)
			press(m, tc.keys...)
			tick := false
			if tc.msg != nil {
				_, cmd := m.Update(tc.msg)
				tick = cmd != nil
			}
			if got := f.calls(); !slices.Equal(got, tc.want) {
				t.Errorf("%s: controller calls = %q, want %q", tc.name, got, tc.want)
			}
			if m.mode != tc.wantMode {
				t.Errorf("%s: mode = %v, want %v", tc.name, m.mode, tc.wantMode)
			}
			if h := ansi.Strip(m.header.View()); tc.wantHeader != "" && !strings.Contains(h, tc.wantHeader) {
				t.Errorf("%s: header %q, want %q", tc.name, h, tc.wantHeader)
			}
			if tc.wantNotice != "" && !strings.Contains(m.notice.last.Text, tc.wantNotice) {
				t.Errorf("%s: notice %q, want %q", tc.name, m.notice.last.Text, tc.wantNotice)
			}
			if tick != tc.wantTick {
				t.Errorf("%s: meter re-armed %v, want %v", tc.name, tick, tc.wantTick)
			}
		})
	}
}

func TestMeter(t *testing.T) {
	tests := []struct {
		name  string
		level float64
		want  string
	}{
		{name: "silence", level: 0, want: "··········"},
		{name: "full scale", level: 1, want: "██████████"},
		{name: "-30 dBFS is half", level: math.Pow(10, -1.5), want: "█████·····"},
		{name: "below -60 dBFS", level: 1e-4, want: "··········"},
	}
	for _, tc := range tests {
		if got := meter(tc.level, 10); got != tc.want {
			t.Errorf("%s: meter(%v) = %q, want %q", tc.name, tc.level, got, tc.want)
		}
	}
}
