package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
)

// ladderFixture is a short call as the phone records it.
func ladderFixture() []cti.SIPMessage {
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	l, r := "127.0.0.1:5060", "127.0.0.1:5062"
	msg := func(ms int, sent bool, sum, cseq string) cti.SIPMessage {
		raw := fmt.Sprintf("%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK1\r\nCall-ID: abc@127.0.0.1\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n", sum, l, cseq)
		if sent && !strings.HasPrefix(sum, "SIP") {
			raw = sum + " sip:echo@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP " + l + ";branch=z9hG4bK1\r\nCall-ID: abc@127.0.0.1\r\nCSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n"
		}
		return cti.SIPMessage{Time: at(ms), Sent: sent, Local: l, Remote: r, Summary: sum, CSeq: cseq, Raw: raw, Protocol: "udp"}
	}
	return []cti.SIPMessage{
		msg(0, true, "INVITE", "1 INVITE"),
		msg(2, false, "100 Trying", "1 INVITE"),
		msg(5, false, "180 Ringing", "1 INVITE"),
		msg(1204, false, "200 OK", "1 INVITE"),
		msg(1206, true, "ACK", "1 ACK"),
		msg(9310, true, "INVITE", "2 INVITE"),
		msg(9322, false, "200 OK", "2 INVITE"),
		msg(9323, true, "ACK", "2 ACK"),
	}
}

// conf marks c as mixed with other.
func conf(c cti.CallInfo, other cti.CallID) cti.CallInfo { c.Conference = other; return c }

func TestGoldenViews(t *testing.T) {
	incoming := call("c1", cti.Incoming, cti.CallIncoming, "Alice", "1001", 72, 0)
	forwarded := incoming
	forwarded.Headers = map[string][]string{"Diversion": {"<sip:bob@example.test>;reason=no-answer"}}
	active := call("c1", cti.Outgoing, cti.CallActive, "echo", "echo", 0, 3)
	remoteHeld := active
	remoteHeld.RemoteHold = true
	remoteHeld.Muted = true
	encrypted := active
	encrypted.SRTP = "AES_CM_128_HMAC_SHA1_80"
	second := call("c2", cti.Outgoing, cti.CallActive, "", "1002", 30, 34)
	waiting := call("c2", cti.Incoming, cti.CallIncoming, "Carol", "+4930123456", 70, 0)
	tests := []struct {
		name    string
		calls   []cti.CallInfo
		keys    []string
		devices bool // an AnyDevice controller with desk, mobile and home
		setup   func(m *Model)
	}{
		{name: "idle"},
		{name: "incoming", calls: []cti.CallInfo{incoming}, setup: func(m *Model) {
			m.onCall(incoming) // raises the alert notice
		}},
		{name: "incoming_forwarded", calls: []cti.CallInfo{forwarded}},
		{name: "active", calls: []cti.CallInfo{active}},
		{name: "active_remote_hold_muted", calls: []cti.CallInfo{remoteHeld}},
		{name: "active_srtp", calls: []cti.CallInfo{encrypted}},
		{name: "held", calls: []cti.CallInfo{held(active)}},
		{name: "two_calls_one_held", calls: []cti.CallInfo{held(active), second}, keys: []string{"down"}},
		{name: "call_waiting", calls: []cti.CallInfo{active}, setup: func(m *Model) { m.onCall(waiting) }},
		{name: "header_missed_dnd", setup: func(m *Model) {
			m.Update(cti.JournalChanged{UnreadMissed: 3})
			m.Update(cti.PolicyChanged{Policy: busy.Policy{DND: true, Override: busy.Override{UntilCallEnds: "c1"}}})
		}},
		{name: "dial_prompt", keys: []string{"d", "e", "c"}},
		{name: "transfer_prompt", calls: []cti.CallInfo{active}, keys: []string{"t", "1", "0", "0", "3"}},
		{name: "conference", calls: []cti.CallInfo{conf(active, "c2"), conf(second, "c1")}},
		{name: "command_prompt", keys: []string{":", "d", "t"}},
		{name: "help", keys: []string{"?"}},
		{name: "journal", keys: []string{"j"}},
		{name: "journal_missed", keys: []string{"j", "tab", "down"}},
		{name: "journal_secondary", keys: []string{"j", "tab", "tab"}},
		{name: "devices", devices: true, keys: []string{"D", "down"}},
		{name: "devices_edit", devices: true, keys: []string{"D", "down", "E"}},
		{name: "dial_recent", keys: []string{"d", "+", "4"}, setup: func(m *Model) {
			m.Update(recentMsg{targets: []string{"+4930111", "sip:echo@127.0.0.1:5062", "+4930222"}})
		}},
		{name: "devices_mobile_call", devices: true, keys: []string{"D"}, calls: []cti.CallInfo{mobileCall()}, setup: func(m *Model) {
			m.ctl.(devCtl).devs.active = []string{"mobile"}
		}},
		{name: "settings", keys: []string{"S", "down"}, setup: func(m *Model) {
			m.settings.switcher = newFakeAudio()
			m.Update(cti.PolicyChanged{Policy: busy.Policy{OnBusy: busy.Busy, VIP: []string{"sip:boss@example.test", "+4930*"}}})
		}},
		{name: "settings_audio_picker", keys: []string{"S", "enter", "down", "down", "down"}, setup: func(m *Model) {
			m.settings.switcher = newFakeAudio()
		}},
		{name: "ladder", calls: []cti.CallInfo{active}, keys: []string{"l"}},
		{name: "ladder_filter", calls: []cti.CallInfo{active}, keys: []string{"l", "/", "i", "n", "v", "enter"}},
		{name: "ladder_raw", calls: []cti.CallInfo{active}, keys: []string{"l", "up", "up", "up", "up", "enter"}},
	}
	sizes := [][2]int{{80, 24}, {120, 40}}
	for _, tc := range tests {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", tc.name, sz[0], sz[1]), func(t *testing.T) {
				f := newFake()
				f.ladder = ladderFixture()
				f.entries = journalFixture()
				if tc.devices {
					f.withDevices()
				}
				m := newTestModel(t, f, sz[0], sz[1], tc.calls...)
				if tc.setup != nil {
					tc.setup(m)
				}
				press(m, tc.keys...)
				out := ansi.Strip(m.Render())
				if lines := strings.Count(out, "\n") + 1; lines != sz[1] {
					t.Errorf("%s: %d lines, want %d", t.Name(), lines, sz[1])
				}
				for i, ln := range strings.Split(out, "\n") {
					if w := ansi.StringWidth(ln); w > sz[0] {
						t.Errorf("%s: line %d is %d cells wide, more than %d: %q", t.Name(), i, w, sz[0], ln)
					}
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

// mobileCall is a held callback carried by the mobile.
func mobileCall() cti.CallInfo {
	c := held(call("ds1", cti.Outgoing, cti.CallActive, "", "+4930123456", 0, 5))
	c.Device, c.Rule = "mobile", "anydevice:callback"
	return c
}
