package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// DeviceController is the user's AnyDevice side of a Controller
// (*cti.Service with an AnyDevice controller, ctl.Remote): the devices
// calls can live on (one may be this softphone), which are active, and
// moving a call to another. The calls carried by other devices are the
// Controller's calls (CallInfo.Device); its Hangup, Hold and Resume act on
// them. api.DevicesChanged reports a change. Without it the devices pane
// is off.
type DeviceController interface {
	// Devices returns the active devices, first the one calls go to.
	Devices(ctx context.Context) ([]string, error)
	// DeviceList returns all of the user's devices.
	DeviceList(ctx context.Context) ([]api.DeviceInfo, error)
	// SetDevice makes one device the active one: outgoing calls go
	// through it (callback) and incoming calls ring it.
	SetDevice(ctx context.Context, name string) error
	// Move carries a call on another device over to device.
	Move(ctx context.Context, id api.CallID, device string) error
}

// DeviceEditor is implemented by DeviceControllers that can change where a
// device rings (*cti.Service and ctl.Remote do; the AnyDevice controller
// keeps the change across runs). Without it the edit key is off.
type DeviceEditor interface {
	// SetDeviceTarget makes the device named name ring target, a SIP URI
	// or a number.
	SetDeviceTarget(ctx context.Context, name, target string) error
}

// deviceStatus is the devices pane's data: the devices and the active
// ones. The calls on other devices come from the call list.
type deviceStatus struct {
	Devices []api.DeviceInfo
	Active  []string
}

// activeLabel is the active devices for the header: "desk", "mobile+home".
func (s deviceStatus) activeLabel() string { return strings.Join(s.Active, "+") }

// remoteActive reports whether the first active device is not this
// softphone, so dialling goes through a callback.
func (s deviceStatus) remoteActive() bool {
	if len(s.Active) == 0 {
		return false
	}
	for _, d := range s.Devices {
		if strings.EqualFold(d.Name, s.Active[0]) {
			return !d.Local
		}
	}
	return false
}

// local is this softphone's device name ("" when none is: attached to a
// shared controller).
func (s deviceStatus) local() string {
	for _, d := range s.Devices {
		if d.Local {
			return d.Name
		}
	}
	return ""
}

// devicesMsg carries a fresh deviceStatus.
type devicesMsg struct {
	st  deviceStatus
	err error
}

// fetchDevices reads the devices and the active ones.
func fetchDevices(ctx context.Context, d DeviceController) devicesMsg {
	act, err := d.Devices(ctx)
	if err != nil {
		return devicesMsg{err: err}
	}
	list, err := d.DeviceList(ctx)
	return devicesMsg{st: deviceStatus{Devices: list, Active: act}, err: err}
}

func devicesCmd(d DeviceController, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return fetchDevices(ctx, d)
	}
}

// devicesPane lists the devices (Enter makes one active) and the calls on
// other devices (e hangs up, h holds or resumes).
type devicesPane struct {
	st     *Styles
	km     *KeyMap
	w, h   int
	status deviceStatus
	// calls are the Controller's calls carried by another device than
	// this softphone (set from the call list).
	calls  []api.CallInfo
	loaded bool
	err    error
	sel    int // over devices, then calls
}

func (p *devicesPane) SetSize(w, h int) { p.w, p.h = w, max(h, 3) }

func (p *devicesPane) set(msg devicesMsg) {
	p.loaded, p.err = true, msg.err
	if msg.err == nil {
		p.status = msg.st
	}
	p.clamp()
}

// setCalls keeps the calls of all that are carried by another device.
func (p *devicesPane) setCalls(all []api.CallInfo) {
	local := p.status.local()
	p.calls = p.calls[:0]
	for _, c := range all {
		if c.Device != "" && !strings.EqualFold(c.Device, local) && c.State != api.CallEnded {
			p.calls = append(p.calls, c)
		}
	}
	p.clamp()
}

func (p *devicesPane) rowsTotal() int { return len(p.status.Devices) + len(p.calls) }

func (p *devicesPane) clamp() { p.sel = min(max(p.sel, 0), max(p.rowsTotal()-1, 0)) }

// selected returns the selected device or call.
func (p *devicesPane) selected() (dev *api.DeviceInfo, call *api.CallInfo) {
	n := len(p.status.Devices)
	switch {
	case p.sel < n:
		return &p.status.Devices[p.sel], nil
	case p.sel-n < len(p.calls):
		return nil, &p.calls[p.sel-n]
	}
	return nil, nil
}

// callKind is how a call on another device began: callback, follow-me.
func callKind(c api.CallInfo) string {
	if k, ok := strings.CutPrefix(c.Rule, "anydevice:"); ok {
		return k
	}
	if c.Direction == api.Incoming {
		return "incoming"
	}
	return "outgoing"
}

func (p *devicesPane) View() string {
	var b strings.Builder
	b.WriteString(fitLine(p.st.Title.Render("Devices")+p.st.Dim.Render("  where your calls ring and sound"), p.w))
	switch {
	case p.err != nil:
		b.WriteString("\n" + p.st.Error.Render(fitLine("  "+errText(p.err), p.w)))
		return b.String()
	case !p.loaded:
		b.WriteString("\n" + p.st.Dim.Render("  loading…"))
		return b.String()
	}
	nameW := 8
	for _, d := range p.status.Devices {
		nameW = max(nameW, ansi.StringWidth(d.Name))
	}
	for i, d := range p.status.Devices {
		cursor := "  "
		if i == p.sel {
			cursor = "▸ "
		}
		mark := "○"
		if slices.ContainsFunc(p.status.Active, func(a string) bool { return strings.EqualFold(a, d.Name) }) {
			mark = "●"
		}
		target := d.Target
		if d.Local {
			target += " (this softphone)"
		}
		line := fitLine(fmt.Sprintf("%s%s %-*s  %s", cursor, mark, nameW, d.Name, target), p.w)
		switch {
		case i == p.sel:
			line = p.st.Selected.Render(line)
		case mark == "●":
			line = p.st.Active.Render(line)
		}
		b.WriteString("\n" + line)
	}
	b.WriteString("\n")
	b.WriteString("\n" + p.st.Title.Render("Calls on other devices"))
	if len(p.calls) == 0 {
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  none — with another device active, dialling rings that device first", p.w)))
	}
	n := len(p.status.Devices)
	for i, c := range p.calls {
		cursor := "  "
		if n+i == p.sel {
			cursor = "▸ "
		}
		held := ""
		if c.LocalHold {
			held = " [hold]"
		}
		name, number := peerNames(c.Remote)
		who := number
		if name != number && name != "" {
			who = name + " (" + number + ")"
		}
		line := fitLine(fmt.Sprintf("%s%-9s %-9s %s via %s%s", cursor, callKind(c), c.State, who, c.Device, held), p.w)
		if n+i == p.sel {
			line = p.st.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

func (p *devicesPane) ShortHelp() []key.Binding {
	return []key.Binding{p.km.Up, p.km.Down, p.km.Select, p.km.Edit, p.km.Hangup, p.km.Hold, p.km.Cancel}
}

func (p *devicesPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// deviceController returns the Controller's AnyDevice side, if it has one.
func (m *Model) deviceController() (DeviceController, bool) {
	d, ok := m.ctl.(DeviceController)
	return d, ok
}

// openDevices shows the devices pane and loads it.
func (m *Model) openDevices() tea.Cmd {
	d, ok := m.deviceController()
	if !ok {
		m.notice.set(api.NoticeInfo, "no AnyDevice controller: "+ErrNotAvailable.Error())
		return nil
	}
	m.mode = modeDevices
	m.devices.setCalls(m.calls.calls)
	return devicesCmd(d, m.opts.CommandTimeout)
}

// onDevices applies a fresh status to the pane and the header.
func (m *Model) onDevices(msg devicesMsg) {
	m.devices.set(msg)
	m.devices.setCalls(m.calls.calls)
	if msg.err == nil {
		m.header.active = msg.st.activeLabel()
	}
}

// devicesKey handles a key in the devices pane.
func (m *Model) devicesKey(msg tea.KeyPressMsg) tea.Cmd {
	d, _ := m.deviceController()
	p := &m.devices
	timeout := m.opts.CommandTimeout
	// refresh runs f, then reads the devices again (DevicesChanged
	// follows too; the read shows the change even if it is lost).
	refresh := func(what string, f func(ctx context.Context) error) tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := f(ctx); err != nil {
				return resultMsg{what: what, err: err}
			}
			return fetchDevices(ctx, d)
		}
	}
	switch {
	case key.Matches(msg, m.km.Cancel, m.km.Devices, m.km.Quit):
		m.mode = modeCalls
	case key.Matches(msg, m.km.Up):
		p.sel--
		p.clamp()
	case key.Matches(msg, m.km.Down):
		p.sel++
		p.clamp()
	case key.Matches(msg, m.km.Select):
		dev, _ := p.selected()
		if dev == nil {
			return nil
		}
		name := dev.Name
		m.notice.set(api.NoticeInfo, "calls now go to "+name)
		return refresh("switch to "+name, func(ctx context.Context) error { return d.SetDevice(ctx, name) })
	case key.Matches(msg, m.km.Edit):
		dev, _ := p.selected()
		switch {
		case dev == nil:
			return nil
		case dev.Local:
			m.notice.set(api.NoticeInfo, dev.Name+" is this softphone: its address is the SIP account's")
			return nil
		}
		m.mode, m.afterPrompt = modePrompt, modeDevices
		return m.dial.openDevice(dev.Name, dev.Target)
	case key.Matches(msg, m.km.Hangup):
		if _, c := p.selected(); c != nil {
			id := c.ID
			return m.do("hang up", func(ctx context.Context, ctl Controller) error { return ctl.Hangup(ctx, id) })
		}
	case key.Matches(msg, m.km.Hold):
		if _, c := p.selected(); c != nil {
			id := c.ID
			if c.LocalHold {
				return m.do("resume", func(ctx context.Context, ctl Controller) error { return ctl.Resume(ctx, id) })
			}
			return m.do("hold", func(ctx context.Context, ctl Controller) error { return ctl.Hold(ctx, id) })
		}
	default:
		return m.typeIntoDevice(msg)
	}
	return nil
}

// typeIntoDevice: a number typed over the devices pane (a digit or +)
// opens the selected device's number field with it, so the rest of what is
// typed goes into the field, not to the pane's keys (issue 13: typed text
// ran as key commands).
func (m *Model) typeIntoDevice(msg tea.KeyPressMsg) tea.Cmd {
	t := msg.Text
	if t == "" || !strings.ContainsAny(t[:1], "+0123456789") || !m.km.Edit.Enabled() {
		return nil
	}
	dev, _ := m.devices.selected()
	if dev == nil || dev.Local {
		m.notice.set(api.NoticeInfo, "pick a device with ↑/↓ to type its number (E edits it)")
		return nil
	}
	m.mode, m.afterPrompt = modePrompt, modeDevices
	return m.dial.openDevice(dev.Name, t)
}

// editDevice sets a device's new number or URI and reloads the pane.
func (m *Model) editDevice(name, target string) tea.Cmd {
	ed, ok := m.ctl.(DeviceEditor)
	d, isDev := m.deviceController()
	if !ok || !isDev {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	timeout := m.opts.CommandTimeout
	m.notice.set(api.NoticeInfo, name+" now rings "+target)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := ed.SetDeviceTarget(ctx, name, target); err != nil {
			return resultMsg{what: "edit " + name, err: err}
		}
		return fetchDevices(ctx, d)
	}
}
