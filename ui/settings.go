package ui

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
)

// HoldWither holds a call in a chosen dialect (*cti.Service implements
// it). With it the settings pane's hold dialect applies to the h key.
type HoldWither interface {
	HoldWith(ctx context.Context, id api.CallID, d api.HoldDialect) error
}

// AudioSwitcher changes the audio device while calls go on; cmd/anyphone
// implements it over audio.OpenDevice and audio.Hub.SetDevice. Both
// methods may do I/O (a sound card listing or opening), so the UI calls
// them from a tea.Cmd, never in Update. Without one the settings pane
// tells the user to restart with --audio.
type AudioSwitcher interface {
	// AudioDevices lists the device specs the user can pick, "null"
	// among them.
	AudioDevices(ctx context.Context) ([]string, error)
	// SwitchAudio opens spec and makes it the device in use. device is
	// what the header shows; notice is non-empty when it fell back (no
	// sound card: null audio). On error the previous device stays.
	SwitchAudio(ctx context.Context, spec string) (device, notice string, err error)
}

// The settings pane's rows.
const (
	setAudio = iota
	setHold
	setBusy
	setDND
	setOverride
	setRows
)

// holdDialects is the order the hold dialect cycles through.
var holdDialects = []api.HoldDialect{api.HoldDefault, api.HoldSendonly, api.HoldInactive, api.HoldZeroIP}

// busyActions is the order "when busy" cycles through; voicemail only
// when the policy has a voicemail URI.
var busyActions = []busy.Action{busy.Wait, busy.Busy, busy.Unavailable, busy.Voicemail, busy.Silent}

// overrideFor is how long "let calls through" lasts.
const overrideFor = 30 * time.Minute

// levelEvery is how often the level meter redraws while the pane is open.
const levelEvery = 100 * time.Millisecond

// settingsPane shows the audio device with a level meter, the hold
// dialect, the busy policy (when busy, DND, let calls through) and the VIP
// list; Enter changes the selected value.
type settingsPane struct {
	st          *Styles
	km          *KeyMap
	w, h        int
	sel         int
	mic, spk    float64 // last levels, 0..1
	over, under uint64  // the device's overflows and underflows so far
	xruns       bool    // the device counts them
	hold        api.HoldDialect
	audio       string   // the device in use
	audioDevs   []string // what `anyphone devices` lists
	canHoldWith bool

	switcher  AudioSwitcher // nil: the device is chosen at start
	picking   bool          // the device list is open
	pickDevs  []string      // the switcher's devices, nil until listed
	pick      int           // cursor in pickDevs
	switching string        // spec being opened; "" when idle
}

// audioDevicesMsg is the switcher's device list.
type audioDevicesMsg struct {
	devs []string
	err  error
}

// audioSwitchedMsg reports a device switch.
type audioSwitchedMsg struct {
	spec, device, notice string
	err                  error
}

// audioDevicesCmd lists the switcher's devices.
func audioDevicesCmd(s AudioSwitcher, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		devs, err := s.AudioDevices(ctx)
		return audioDevicesMsg{devs: devs, err: err}
	}
}

// switchAudioCmd opens spec through the switcher.
func switchAudioCmd(s AudioSwitcher, spec string, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		dev, notice, err := s.SwitchAudio(ctx, spec)
		return audioSwitchedMsg{spec: spec, device: dev, notice: notice, err: err}
	}
}

// levelMsg redraws the meter.
type levelMsg time.Time

func levelTick() tea.Cmd {
	return tea.Tick(levelEvery, func(t time.Time) tea.Msg { return levelMsg(t) })
}

// policySetMsg reports a policy change made from the pane.
type policySetMsg struct {
	p   busy.Policy
	err error
	// setting and value are kept for the next start (Options.SaveSetting).
	setting, value string
}

func (p *settingsPane) SetSize(w, h int) { p.w, p.h = w, max(h, 3) }

// meter draws a level (0..1, peak) as a bar of n cells on a dB scale
// from -60 dBFS, so speech shows and a full-scale tone fills it.
func meter(level float64, n int) string {
	fill := 0
	if level > 0 {
		db := 20 * math.Log10(level)
		fill = int(math.Round(float64(n) * (db + 60) / 60))
	}
	fill = min(max(fill, 0), n)
	return strings.Repeat("█", fill) + strings.Repeat("·", n-fill)
}

// View draws the rows, the meter and the VIP list; pol is the current
// busy policy, nil without a PolicyController.
func (p *settingsPane) View(pol *busy.Policy, now time.Time) string {
	var b strings.Builder
	b.WriteString(fitLine(p.st.Title.Render("Settings"), p.w))
	val := func(i int) string {
		switch i {
		case setAudio:
			return p.audio
		case setHold:
			return holdName(p.hold)
		case setBusy:
			if pol == nil {
				return "not available"
			}
			return actionName(pol.OnBusy, busy.Wait)
		case setDND:
			if pol == nil {
				return "not available"
			}
			return onOff(pol.DND)
		case setOverride:
			if pol == nil {
				return "not available"
			}
			o := pol.Override
			switch {
			case o.IsZero() || !o.Until.IsZero() && !now.Before(o.Until):
				return "off"
			case !o.Until.IsZero():
				return "until " + o.Until.Local().Format("15:04")
			default:
				return "until this call ends"
			}
		}
		return ""
	}
	labels := [setRows]string{"audio device", "hold dialect", "when busy", "do not disturb", "let calls through"}
	for i, l := range labels {
		cursor := "  "
		if i == p.sel {
			cursor = "▸ "
		}
		line := fitLine(fmt.Sprintf("%s%-18s %s", cursor, l, val(i)), p.w)
		if i == p.sel {
			line = p.st.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	bar := max(min((p.w-24)/2, 30), 5)
	b.WriteString("\n\n" + fitLine(fmt.Sprintf("  mic %s  speaker %s", meter(p.mic, bar), meter(p.spk, bar)), p.w))
	if p.xruns {
		b.WriteString("\n" + p.st.Dim.Render(fitLine(fmt.Sprintf("  overflows %d (mic audio lost)  underflows %d (speaker ran dry)", p.over, p.under), p.w)))
	}
	switch {
	case p.picking:
		b.WriteString(p.pickerView())
	case p.switcher != nil:
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  enter on audio device picks another; calls stay up", p.w)))
	case len(p.audioDevs) > 0:
		b.WriteString("\n" + p.st.Dim.Render(fitLine("  devices: "+strings.Join(p.audioDevs, ", ")+" (restart with --audio to switch)", p.w)))
	}
	b.WriteString("\n\n" + p.st.Title.Render("VIP callers") + p.st.Dim.Render("  always get through (--vip)"))
	if pol == nil || len(pol.VIP) == 0 {
		b.WriteString("\n" + p.st.Dim.Render("  none"))
	} else {
		for _, v := range pol.VIP {
			b.WriteString("\n" + fitLine("  "+v, p.w))
		}
	}
	return b.String()
}

// pickerRows is how many devices the picker shows at once.
const pickerRows = 5

// pickerView is the device list: a title line, then a window of
// pickerRows devices around the cursor.
func (p *settingsPane) pickerView() string {
	var b strings.Builder
	title := "  audio devices (enter switches, esc keeps " + p.audio + ")"
	if p.switching != "" {
		title = "  opening " + p.switching + "…"
	}
	b.WriteString("\n" + p.st.Title.Render(fitLine(title, p.w)))
	if p.pickDevs == nil {
		b.WriteString("\n" + p.st.Dim.Render(fitLine("    listing…", p.w)))
		return b.String()
	}
	first := min(max(p.pick-pickerRows/2, 0), max(len(p.pickDevs)-pickerRows, 0))
	for i := first; i < min(first+pickerRows, len(p.pickDevs)); i++ {
		cursor := "    "
		if i == p.pick {
			cursor = "  ▸ "
		}
		line := fitLine(cursor+p.pickDevs[i], p.w)
		if i == p.pick {
			line = p.st.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

func holdName(d api.HoldDialect) string {
	if d == api.HoldDefault {
		return "default (" + api.HoldSendonly.String() + ")"
	}
	return d.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (p *settingsPane) ShortHelp() []key.Binding {
	return []key.Binding{p.km.Up, p.km.Down, p.km.Select, p.km.Cancel}
}

func (p *settingsPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// openSettings shows the settings pane and starts the level meter.
func (m *Model) openSettings() tea.Cmd {
	m.mode = modeSettings
	m.settings.picking = false
	m.readLevels()
	if m.opts.Levels == nil {
		return nil
	}
	return levelTick()
}

func (m *Model) readLevels() {
	if m.opts.Levels != nil {
		m.settings.mic, m.settings.spk = m.opts.Levels()
	}
	if m.opts.Xruns != nil {
		m.settings.over, m.settings.under = m.opts.Xruns()
		m.settings.xruns = true
	}
}

// settingsKey handles a key in the settings pane.
func (m *Model) settingsKey(msg tea.KeyPressMsg) tea.Cmd {
	p := &m.settings
	if p.picking {
		return m.pickerKey(msg)
	}
	switch {
	case key.Matches(msg, m.km.Cancel, m.km.Settings, m.km.Quit):
		m.mode = modeCalls
	case key.Matches(msg, m.km.Up):
		p.sel = max(p.sel-1, 0)
	case key.Matches(msg, m.km.Down):
		p.sel = min(p.sel+1, setRows-1)
	case key.Matches(msg, m.km.Select):
		return m.changeSetting()
	}
	return nil
}

// changeSetting steps the selected setting to its next value.
func (m *Model) changeSetting() tea.Cmd {
	p := &m.settings
	switch p.sel {
	case setAudio:
		if p.switcher == nil {
			m.notice.set(api.NoticeInfo, "the audio device is chosen at start: anyphone --audio DEVICE (see anyphone devices)")
			return nil
		}
		p.picking, p.pickDevs, p.pick = true, nil, 0
		return audioDevicesCmd(p.switcher, m.opts.CommandTimeout)
	case setHold:
		if !p.canHoldWith {
			m.notice.set(api.NoticeInfo, "hold dialect: "+ErrNotAvailable.Error())
			return nil
		}
		i := 0
		for j, d := range holdDialects {
			if d == p.hold {
				i = j
			}
		}
		p.hold = holdDialects[(i+1)%len(holdDialects)]
		m.notice.set(api.NoticeInfo, "h now holds with "+holdName(p.hold))
		return m.saveSetting("hold_dialect", p.hold.String())
	}
	pc, ok := m.ctl.(PolicyController)
	if !ok || m.header.policy == nil {
		m.notice.set(api.NoticeInfo, "busy policy: "+ErrNotAvailable.Error())
		return nil
	}
	pol := *m.header.policy
	d := m.opts.CommandTimeout
	set := func(what string, f func() (busy.Policy, error)) tea.Cmd {
		return func() tea.Msg {
			_, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			np, err := f()
			if err != nil {
				return policySetMsg{err: fmt.Errorf("%s: %w", what, err)}
			}
			return policySetMsg{p: np}
		}
	}
	switch p.sel {
	case setBusy:
		cur := pol.OnBusy
		if cur == busy.Unset {
			cur = busy.Wait
		}
		i := 0
		for j, a := range busyActions {
			if a == cur {
				i = j
			}
		}
		next := busyActions[(i+1)%len(busyActions)]
		if next == busy.Voicemail && pol.VoicemailURI == "" {
			next = busyActions[(i+2)%len(busyActions)]
		}
		pol.OnBusy = next
		return saved(set("when busy", func() (busy.Policy, error) { return pol, pc.SetPolicy(pol) }), "on_busy", next.String())
	case setDND:
		pol.DND = !pol.DND
		return saved(set("do not disturb", func() (busy.Policy, error) { return pol, pc.SetPolicy(pol) }), "dnd", strconv.FormatBool(pol.DND))
	case setOverride:
		now := m.now
		if o := pol.Override; !o.IsZero() && (o.Until.IsZero() || now.Before(o.Until)) {
			return set("let calls through", func() (busy.Policy, error) {
				pc.ClearOverride()
				pol.Override = busy.Override{}
				return pol, nil
			})
		}
		return set("let calls through", func() (busy.Policy, error) {
			pol.Override = pc.LetThroughFor(overrideFor)
			return pol, nil
		})
	}
	return nil
}

// pickerKey handles a key while the device list is open.
func (m *Model) pickerKey(msg tea.KeyPressMsg) tea.Cmd {
	p := &m.settings
	switch {
	case key.Matches(msg, m.km.Cancel, m.km.Settings, m.km.Quit):
		p.picking = false
	case key.Matches(msg, m.km.Up):
		p.pick = max(p.pick-1, 0)
	case key.Matches(msg, m.km.Down):
		p.pick = max(min(p.pick+1, len(p.pickDevs)-1), 0)
	case key.Matches(msg, m.km.Select):
		if p.switching != "" || p.pick >= len(p.pickDevs) {
			return nil
		}
		p.switching = p.pickDevs[p.pick]
		m.notice.set(api.NoticeInfo, "opening audio device "+p.switching)
		return switchAudioCmd(p.switcher, p.switching, m.opts.CommandTimeout)
	}
	return nil
}

// onAudioDevices fills the picker with the switcher's list, the cursor on
// the device in use.
func (m *Model) onAudioDevices(msg audioDevicesMsg) {
	p := &m.settings
	if msg.err != nil {
		m.notice.set(api.NoticeWarn, "audio devices: "+errText(msg.err))
	}
	if !p.picking {
		return
	}
	p.pickDevs = msg.devs
	if p.pickDevs == nil {
		p.pickDevs = []string{}
	}
	p.pick = 0
	for i, d := range p.pickDevs {
		if d == p.audio {
			p.pick = i
		}
	}
}

// onAudioSwitched shows the new device, or keeps the old one on error.
func (m *Model) onAudioSwitched(msg audioSwitchedMsg) {
	p := &m.settings
	p.switching = ""
	if msg.err != nil {
		m.notice.set(api.NoticeError, "audio device "+msg.spec+": "+errText(msg.err)+" (still using "+p.audio+")")
		return
	}
	p.picking = false
	p.audio = msg.device
	m.header.audio = msg.device
	if msg.notice != "" {
		m.notice.set(api.NoticeWarn, msg.notice)
		return
	}
	m.notice.set(api.NoticeInfo, "audio device now "+msg.device)
}

// onPolicySet applies a policy changed from the settings pane.
func (m *Model) onPolicySet(msg policySetMsg) {
	if msg.err != nil {
		m.notice.set(api.NoticeError, errText(msg.err))
		return
	}
	p := msg.p
	m.header.policy = &p
	m.notice.set(api.NoticeInfo, "busy policy: "+policyLabel(p, m.now))
}
