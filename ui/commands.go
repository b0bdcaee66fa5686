package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// commandNames are the command line's verbs (completed after ":").
var commandNames = []string{
	"accept-transfer", "answer", "complete", "conference", "consult", "dial", "dialogs", "dtmf",
	"hangup", "hangup-all", "help", "hold", "ladder", "mute", "quit", "refuse-transfer",
	"register", "reject", "resume", "transfer", "unmute", "unregister", "watch",
}

// runCommand runs one command line: a verb and its arguments.
func (m *Model) runCommand(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	verb, args := strings.ToLower(f[0]), f[1:]
	arg := strings.Join(args, " ")
	c, have := m.calls.selected()
	needCall := func() bool {
		if !have {
			m.notice.set(api.NoticeInfo, verb+": no call selected")
		}
		return have
	}
	switch verb {
	case "watch": // team.go
		if arg == "" {
			m.notice.set(api.NoticeError, "watch: whom? e.g. :watch alice")
			return nil
		}
		m.mode = modeTeam
		return m.watchCmd(arg)
	case "dial", "call":
		if arg == "" {
			m.notice.set(api.NoticeError, "dial: what? e.g. :dial echo")
			return nil
		}
		return m.dialCmd(m.dial.resolve(arg))
	case "answer":
		return m.answer()
	case "reject":
		if !needCall() {
			return nil
		}
		code := 0
		if arg != "" {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 300 || n > 699 {
				m.notice.set(api.NoticeError, fmt.Sprintf("reject: %q is not a SIP code 300-699", arg))
				return nil
			}
			code = n
		}
		if c.State != api.CallIncoming {
			return m.reject(c)
		}
		id := c.ID
		return m.do("reject", func(ctx context.Context, ctl Controller) error { return ctl.Reject(ctx, id, code, "") })
	case "hangup":
		if !needCall() {
			return nil
		}
		return m.hangup(c.ID)
	case "hangup-all":
		return m.do("hang up all", func(ctx context.Context, ctl Controller) error { return ctl.HangupAll(ctx) })
	case "hold", "resume":
		if !needCall() {
			return nil
		}
		if (verb == "hold") == c.LocalHold {
			m.notice.set(api.NoticeInfo, verb+": nothing to do")
			return nil
		}
		return m.holdToggle(c)
	case "mute", "unmute":
		if !needCall() {
			return nil
		}
		if (verb == "mute") == c.Muted {
			m.notice.set(api.NoticeInfo, verb+": nothing to do")
			return nil
		}
		return m.mute(c)
	case "dtmf":
		if !needCall() {
			return nil
		}
		if arg == "" || strings.Trim(arg, "0123456789*#ABCDabcd") != "" {
			m.notice.set(api.NoticeError, "dtmf: digits 0-9 * # A-D")
			return nil
		}
		return m.dtmf(c.ID, arg)
	case "dialogs":
		return m.openDialogs()
	case "ladder":
		if arg != "" {
			// a call by its id: an ended one's ladder is kept
			id := api.CallID(arg)
			m.ladder.open(id, arg)
			m.mode = modeLadder
			return ladderCmd(m.ctl, id)
		}
		if !needCall() {
			return nil
		}
		name, _ := peerNames(c.Remote)
		m.ladder.open(c.ID, name)
		m.mode = modeLadder
		return ladderCmd(m.ctl, c.ID)
	case "transfer", "consult":
		if !needCall() {
			return nil
		}
		kind := promptTransfer
		if verb == "consult" {
			kind = promptConsult
		}
		if arg == "" {
			return m.startTransfer(c, kind)
		}
		if c.State != api.CallActive {
			m.notice.set(api.NoticeInfo, "only an active call can be transferred")
			return nil
		}
		return m.transferTo(kind, c.ID, arg)
	case "complete":
		return m.completeTransfer()
	case "conference":
		return m.conference()
	case "accept-transfer", "refuse-transfer":
		r, ok := m.ctl.(ReferAnswerer)
		id := m.pendingRefer
		if !ok || id == "" {
			m.notice.set(api.NoticeInfo, verb+": no transfer is waiting")
			return nil
		}
		m.pendingRefer = ""
		if verb == "accept-transfer" {
			return m.do(verb, func(ctx context.Context, _ Controller) error { return r.AcceptRefer(ctx, id) })
		}
		return m.do(verb, func(ctx context.Context, _ Controller) error { return r.RejectRefer(ctx, id) })
	case "register":
		return m.do("register", func(ctx context.Context, ctl Controller) error { return ctl.Register(ctx) })
	case "unregister":
		return m.do("unregister", func(ctx context.Context, ctl Controller) error { return ctl.Unregister(ctx) })
	case "help":
		m.mode = modeHelp
		return nil
	case "quit", "q":
		return tea.Quit
	}
	m.notice.set(api.NoticeError, fmt.Sprintf("unknown command %q (? lists them)", verb))
	return nil
}
