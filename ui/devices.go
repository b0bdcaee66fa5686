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

// Devices is the user's AnyDevice side: the devices calls can live on
// (desk is this softphone), which are active, and the callback sessions
// under way. cmd wires the embedded anydevice controller here; the UI
// reaches it only through this interface.
type Devices interface {
	// DeviceStatus returns the devices, the active ones and the sessions.
	DeviceStatus(ctx context.Context) (DeviceStatus, error)
	// SetActiveDevice makes one device the active one: outgoing calls go
	// through it (callback) and incoming calls ring it.
	SetActiveDevice(ctx context.Context, name string) error
	// HangupSession and HoldSession control a callback or follow-me call.
	HangupSession(ctx context.Context, id string) error
	HoldSession(ctx context.Context, id string, on bool) error
	// Updates is signalled when the status changed; nil if it never is.
	Updates() <-chan struct{}
}

// DeviceEditor is implemented by Devices that can change where a device
// rings (the embedded AnyDevice controller of cmd does, and keeps the
// change across runs). Without it the edit key is off.
type DeviceEditor interface {
	// SetDeviceTarget makes the device named name ring target, a SIP URI
	// or a number.
	SetDeviceTarget(ctx context.Context, name, target string) error
}

// Device is one of the user's devices.
type Device struct {
	Name   string // desk, mobile, home, ...
	Target string // SIP URI or number
	Local  bool   // this softphone (calls stay on the local line)
}

// DeviceSession is a call carried by another device.
type DeviceSession struct {
	ID     string
	Kind   string // callback, follow-me
	Remote string
	Device string
	State  string // device-ringing, remote-ringing, bridged, ...
	Held   bool
}

// DeviceStatus is the devices pane's data.
type DeviceStatus struct {
	Devices     []Device
	Active      []string
	Sessions    []DeviceSession
	Channels    int // trunk channels in use
	MaxChannels int // 0: unlimited
}

// activeLabel is the active devices for the header: "desk", "mobile+home".
func (s DeviceStatus) activeLabel() string { return strings.Join(s.Active, "+") }

// remoteActive reports whether the first active device is not this
// softphone, so dialling goes through a callback.
func (s DeviceStatus) remoteActive() bool {
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

// devicesMsg carries a fresh DeviceStatus.
type devicesMsg struct {
	st  DeviceStatus
	err error
}

// devicesChangedMsg: the Devices' Updates channel fired.
type devicesChangedMsg struct{}

func devicesCmd(d Devices, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		st, err := d.DeviceStatus(ctx)
		return devicesMsg{st: st, err: err}
	}
}

// waitDevices waits for the next change; Update re-arms it.
func waitDevices(ch <-chan struct{}) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return nil
		}
		return devicesChangedMsg{}
	}
}

// devicesPane lists the devices (Enter makes one active) and the calls on
// other devices (e hangs up, h holds or resumes).
type devicesPane struct {
	st     *Styles
	km     *KeyMap
	w, h   int
	status DeviceStatus
	loaded bool
	err    error
	sel    int // over devices, then sessions
}

func (p *devicesPane) SetSize(w, h int) { p.w, p.h = w, max(h, 3) }

func (p *devicesPane) set(msg devicesMsg) {
	p.loaded, p.err = true, msg.err
	if msg.err == nil {
		p.status = msg.st
	}
	p.clamp()
}

func (p *devicesPane) rowsTotal() int { return len(p.status.Devices) + len(p.status.Sessions) }

func (p *devicesPane) clamp() { p.sel = min(max(p.sel, 0), max(p.rowsTotal()-1, 0)) }

// selected returns the selected device or session.
func (p *devicesPane) selected() (dev *Device, sess *DeviceSession) {
	n := len(p.status.Devices)
	switch {
	case p.sel < n:
		return &p.status.Devices[p.sel], nil
	case p.sel-n < len(p.status.Sessions):
		return nil, &p.status.Sessions[p.sel-n]
	}
	return nil, nil
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
	noun := "channels"
	if p.status.Channels == 1 {
		noun = "channel"
	}
	ch := fmt.Sprintf("%d %s in use", p.status.Channels, noun)
	if p.status.MaxChannels > 0 {
		ch = fmt.Sprintf("%d of %d %s in use", p.status.Channels, p.status.MaxChannels, noun)
	}
	b.WriteString("\n" + p.st.Title.Render("Calls on other devices") + p.st.Dim.Render("  "+ch))
	if len(p.status.Sessions) == 0 {
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  none — with mobile or home active, dialling rings that device first", p.w)))
	}
	n := len(p.status.Devices)
	for i, s := range p.status.Sessions {
		cursor := "  "
		if n+i == p.sel {
			cursor = "▸ "
		}
		held := ""
		if s.Held {
			held = " [hold]"
		}
		line := fitLine(fmt.Sprintf("%s%-9s %-15s %s via %s%s", cursor, s.Kind, s.State, s.Remote, s.Device, held), p.w)
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

// openDevices shows the devices pane and loads it.
func (m *Model) openDevices() tea.Cmd {
	if m.opts.Devices == nil {
		m.notice.set(api.NoticeInfo, "no AnyDevice controller: "+ErrNotAvailable.Error())
		return nil
	}
	m.mode = modeDevices
	return devicesCmd(m.opts.Devices, m.opts.CommandTimeout)
}

// onDevices applies a fresh status to the pane and the header.
func (m *Model) onDevices(msg devicesMsg) {
	m.devices.set(msg)
	if msg.err == nil {
		m.header.active = msg.st.activeLabel()
	}
}

// devicesKey handles a key in the devices pane.
func (m *Model) devicesKey(msg tea.KeyPressMsg) tea.Cmd {
	d, p := m.opts.Devices, &m.devices
	timeout := m.opts.CommandTimeout
	refresh := func(ctx context.Context, what string, f func(ctx context.Context) error) tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := f(ctx); err != nil {
				return resultMsg{what: what, err: err}
			}
			st, err := d.DeviceStatus(ctx)
			return devicesMsg{st: st, err: err}
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
		return refresh(context.Background(), "switch to "+name, func(ctx context.Context) error { return d.SetActiveDevice(ctx, name) })
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
		if _, s := p.selected(); s != nil {
			id := s.ID
			return refresh(context.Background(), "hang up", func(ctx context.Context) error { return d.HangupSession(ctx, id) })
		}
	case key.Matches(msg, m.km.Hold):
		if _, s := p.selected(); s != nil {
			id, on := s.ID, !s.Held
			return refresh(context.Background(), "hold", func(ctx context.Context) error { return d.HoldSession(ctx, id, on) })
		}
	}
	return nil
}

// editDevice sets a device's new number or URI and reloads the pane.
func (m *Model) editDevice(name, target string) tea.Cmd {
	ed, ok := m.opts.Devices.(DeviceEditor)
	if !ok {
		m.notice.set(api.NoticeInfo, ErrNotAvailable.Error())
		return nil
	}
	d, timeout := m.opts.Devices, m.opts.CommandTimeout
	m.notice.set(api.NoticeInfo, name+" now rings "+target)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := ed.SetDeviceTarget(ctx, name, target); err != nil {
			return resultMsg{what: "edit " + name, err: err}
		}
		st, err := d.DeviceStatus(ctx)
		return devicesMsg{st: st, err: err}
	}
}
