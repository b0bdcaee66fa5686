package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// TestLadderColumnsPerPeer: a call carried by another device has two peers
// at the controller (the device and the remote party): the ladder draws a
// column for each, and each arrow runs between its own two columns.
func TestLadderColumnsPerPeer(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	msg := func(ms int, sent bool, remote, summary string) api.SIPMessage {
		return api.SIPMessage{Time: t0.Add(time.Duration(ms) * time.Millisecond), Sent: sent, Local: "127.0.0.1:5170", Remote: remote, Summary: summary}
	}
	msgs := []api.SIPMessage{
		msg(0, true, "127.0.0.1:5171", "mobile: INVITE"),
		msg(900, false, "127.0.0.1:5171", "mobile: 200 OK"),
		msg(910, true, "127.0.0.1:5172", "remote: INVITE"),
		msg(1500, false, "127.0.0.1:5172", "remote: 200 OK"),
	}
	cols := ladderColumns(msgs)
	if strings.Join(cols, " ") != "127.0.0.1:5170 127.0.0.1:5171 127.0.0.1:5172" {
		t.Fatalf("columns %v", cols)
	}
	const w = 90
	head := ladderHeader(cols, w)
	if ansi.StringWidth(head) > w || !strings.HasSuffix(head, "127.0.0.1:5172") || !strings.Contains(head, "127.0.0.1:5171") {
		t.Errorf("header %q", head)
	}
	toMobile, toRemote := ladderArrow(cols, msgs[0], w), ladderArrow(cols, msgs[2], w)
	if !strings.HasSuffix(toMobile, "▶") || ansi.StringWidth(toMobile) >= ansi.StringWidth(toRemote) {
		t.Errorf("the mobile's arrow should end at the middle column, the remote's at the last:\n%s\n%s", toMobile, toRemote)
	}
	if back := ladderArrow(cols, msgs[1], w); !strings.HasPrefix(back, "◀") || !strings.Contains(back, "mobile: 200 OK") {
		t.Errorf("a received message points left: %q", back)
	}
}
