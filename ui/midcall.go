package ui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
)

// Mid-call control: transfer (t), consult (c), swap (tab), complete an
// attended transfer (T) and conference (C), through Transferer; and the
// mid-call events (TransferProgress, ReferReceived, InitialHoldResult).

// transferer is the Controller's Transferer, or nil.
func (m *Model) transferer() Transferer {
	t, _ := m.ctl.(Transferer)
	return t
}

// startTransfer opens the transfer-target prompt for an active call.
func (m *Model) startTransfer(c api.CallInfo, kind promptKind) tea.Cmd {
	if m.transferer() == nil {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	if c.State != api.CallActive {
		m.notice.set(api.NoticeInfo, "only an active call can be transferred")
		return nil
	}
	m.mode = modePrompt
	name, _ := peerNames(c.Remote)
	return m.dial.openFor(kind, c.ID, name)
}

// transferTo runs a blind transfer or a consultation to what was typed.
func (m *Model) transferTo(kind promptKind, id api.CallID, value string) tea.Cmd {
	t := m.transferer()
	if t == nil || id == "" {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	to := m.dial.resolve(value)
	if kind == promptConsult {
		m.notice.set(api.NoticeInfo, "consulting "+to+"; T completes the transfer, tab swaps")
		return m.place("consult "+to, func(ctx context.Context, _ Controller) (api.CallID, error) {
			return t.Consult(ctx, id, to)
		})
	}
	m.notice.set(api.NoticeInfo, "transferring to "+to)
	return m.do("transfer to "+to, func(ctx context.Context, _ Controller) error { return t.Transfer(ctx, id, to) })
}

// heldAndActive finds the pair of an attended transfer or a conference:
// the selected call and the other established call, held first.
func (m *Model) heldAndActive() (heldID, activeID api.CallID, ok bool) {
	c, have := m.calls.selected()
	if !have || c.State != api.CallActive {
		return "", "", false
	}
	for _, o := range m.calls.calls {
		if o.ID == c.ID || o.State != api.CallActive || o.LocalHold == c.LocalHold {
			continue
		}
		if c.LocalHold {
			return c.ID, o.ID, true
		}
		return o.ID, c.ID, true
	}
	return "", "", false
}

// completeTransfer connects the held call's peer to the active call's.
func (m *Model) completeTransfer() tea.Cmd {
	t := m.transferer()
	if t == nil {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	h, a, ok := m.heldAndActive()
	if !ok {
		m.notice.set(api.NoticeInfo, "a transfer needs a held call and an active one (c consults)")
		return nil
	}
	m.notice.set(api.NoticeInfo, "completing the transfer")
	return m.do("complete transfer", func(ctx context.Context, _ Controller) error { return t.CompleteTransfer(ctx, h, a) })
}

// conference mixes the selected call with the other established call.
func (m *Model) conference() tea.Cmd {
	t := m.transferer()
	if t == nil {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	c, have := m.calls.selected()
	if have && c.Conference != "" {
		return m.split(c) // split.go
	}
	var other api.CallID
	for _, o := range m.calls.calls {
		if have && o.ID != c.ID && o.State == api.CallActive && o.Conference == "" {
			other = o.ID
			break
		}
	}
	if !have || c.State != api.CallActive || other == "" {
		m.notice.set(api.NoticeInfo, "a conference needs two calls")
		return nil
	}
	a := c.ID
	m.notice.set(api.NoticeInfo, "conference: mixing both calls")
	return m.do("conference", func(ctx context.Context, _ Controller) error { return t.Conference(ctx, a, other) })
}

// swap makes a held call the active one: the selected call if it is held,
// else the first held call. With a Transferer it is one Toggle; otherwise
// the UI holds the active calls and resumes the held one.
func (m *Model) swap() tea.Cmd {
	var target api.CallID
	if c, ok := m.calls.selected(); ok && c.State == api.CallActive && c.LocalHold {
		target = c.ID
	} else {
		for _, c := range m.calls.calls {
			if c.State == api.CallActive && c.LocalHold {
				target = c.ID
				break
			}
		}
	}
	if target == "" {
		m.notice.set(api.NoticeInfo, "no held call to swap to")
		return nil
	}
	m.calls.selectID(target)
	if t := m.transferer(); t != nil {
		return m.do("swap", func(ctx context.Context, _ Controller) error { return t.Toggle(ctx, target) })
	}
	holds := m.activeUnheld(target)
	return m.do("swap", func(ctx context.Context, ctl Controller) error {
		for _, o := range holds {
			if err := ctl.Hold(ctx, o); err != nil {
				return fmt.Errorf("hold %s: %w", o, err)
			}
		}
		return ctl.Resume(ctx, target)
	})
}

// onRequestOutcome shows in the status line the requests whose fate the
// user should know: a BYE nobody answered (the call is over for us all the
// same) and a re-INVITE given up (hold or resume did not happen). Other
// outcomes are in the call's ladder.
func (m *Model) onRequestOutcome(o api.RequestOutcome) {
	if !o.Failed() {
		return
	}
	switch o.Method {
	case "BYE", "re-INVITE", "REFER", "CANCEL":
		m.notice.set(api.NoticeWarn, o.Text)
	}
}

// onMidcall shows the mid-call events as notices.
func (m *Model) onMidcall(ev api.Event) {
	switch e := ev.(type) {
	case api.TransferProgress:
		switch {
		case e.Final && e.OK:
			m.notice.set(api.NoticeInfo, "transferred to "+e.Target)
		case e.Final:
			m.notice.set(api.NoticeError, fmt.Sprintf("transfer to %s failed: %d %s", e.Target, e.Code, e.Reason))
		default:
			m.notice.set(api.NoticeInfo, fmt.Sprintf("transfer to %s: %d %s", e.Target, e.Code, e.Reason))
		}
	case api.ReferReceived:
		who := e.ReferredBy
		if who == "" {
			who = "the other side"
		}
		switch {
		case e.Pending:
			m.notice.set(api.NoticeWarn, who+" transfers you to "+e.Target+" — :accept-transfer or :refuse-transfer")
		case e.Accepted:
			m.notice.set(api.NoticeInfo, who+" transferred you to "+e.Target)
		default:
			m.notice.set(api.NoticeInfo, "refused a transfer to "+e.Target+" from "+who)
		}
	case api.InitialHoldResult:
		if e.OK {
			m.notice.set(api.NoticeInfo, "call placed on hold ("+e.Dialect.String()+")")
		} else {
			m.notice.set(api.NoticeWarn, "the other side refused every hold dialect")
		}
	}
}
