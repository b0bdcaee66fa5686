package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/journal"
)

// Options configures the UI. The zero value works: default keys, colours
// unless NO_COLOR is set, no contacts.
type Options struct {
	// Keys; nil means DefaultKeyMap().
	Keys *KeyMap
	// Account is shown in the header while no registration reports one
	// (e.g. our direct SIP URI).
	Account string
	// Unregistered is what the header says of the account while no
	// registration is known (default "no registrar"; "shared controller"
	// when attached to one).
	Unregistered string
	// Device names the active audio device in the header.
	Device string
	// Voicemail is the URI the voicemail key calls; "" uses the one the
	// message-waiting state names.
	Voicemail string
	// Number is the user's office number, the one people call: the header
	// shows where it rings ("+4930… on mobile"). "" shows the active
	// device alone.
	Number string
	// Contacts complete and resolve in the dial line (the built-in echo and
	// tone contacts, and the contacts file).
	Contacts []Contact
	// Why says why a call arrives ("team call for Alice", "forwarded from
	// …"); nil shows nothing. cmd wires the core's classifier here.
	Why func(api.CallInfo) string
	// NoColor drops every colour. NO_COLOR in the environment sets it too.
	NoColor bool
	// NoBell silences the terminal bell on incoming calls.
	NoBell bool
	// AltScreen and Mouse are set for the real program, off in tests.
	AltScreen bool
	Mouse     bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is where journal times are shown; nil means time.Local.
	Location *time.Location
	// AudioLost reports whether the sound card is lost (calls go on with
	// null audio until it is back); read when a notice arrives, since the
	// loss and the return are announced as notices. nil: never.
	AudioLost func() bool
	// Levels returns the microphone and speaker peaks (0..1) for the
	// settings pane's meter (audio.Hub.Levels); nil shows silence.
	Levels func() (mic, speaker float64)
	// Xruns returns the sound device's overflows (captured audio lost)
	// and underflows (the speaker ran dry) so far, shown under the
	// settings pane's meter; nil shows none.
	Xruns func() (overflows, underflows uint64)
	// SaveSetting keeps a value changed in the settings pane for the next
	// start: name is audio (a device spec), hold_dialect, on_busy or dnd
	// ("true"/"false"). nil keeps nothing. It is called off the event loop.
	SaveSetting func(name, value string) error
	// ExportDir is where the ladder view writes pcap files (w); "" means
	// the working directory.
	ExportDir string
	// AudioDevices lists the audio devices the settings pane names when
	// there is no Audio switcher.
	AudioDevices []string
	// Audio switches the audio device from the settings pane while calls
	// go on; nil means it is chosen at start (--audio).
	Audio AudioSwitcher
	// HoldDialect is how h holds (the config's sip.hold_dialect); the
	// settings pane changes it.
	HoldDialect api.HoldDialect
	// CommandTimeout bounds each command to the Controller (default 10 s).
	CommandTimeout time.Duration
}

// mode is which pane has the keyboard.
type mode int

const (
	modeCalls mode = iota
	modePrompt
	modeHelp
	modeLadder
	modeJournal
	modeDevices
	modeSettings
	modeDialogs
	modeTeam // team.go
)

// Model is the root model: it routes messages to the components and owns
// the subscription to the Controller's events. Use it through tea.Program;
// its methods are called on the program's event loop only.
type Model struct {
	ctl  Controller
	opts Options
	km   *KeyMap
	st   *Styles
	sub  *api.Subscription

	w, h    int
	dark    bool
	color   bool
	mode    mode
	now     time.Time
	ticking bool
	quitArm bool // q pressed once with calls up

	pendingRefer api.CallID // a REFER waiting for :accept-transfer
	afterPrompt  mode       // the pane a prompt returns to (and shows under it)

	header header
	calls  callList
	dial   dialLine
	notice noticeLine
	help   help.Model
	ladder ladderView
	// dialogs is the SIP dialog list; seen the calls it lists, others the
	// dialogs no call owns; fromList: the open ladder was picked there.
	dialogs  dialogList
	seen     []seenCall
	others   []api.Dialog
	fromList bool

	journal  journalPane
	devices  devicesPane
	settings settingsPane
	team     teamPane // team.go
}

// New builds the root model. It subscribes to ctl at once, so no event
// between New and the first frame is lost; the subscription is closed when
// the event feed ends (the Controller shuts down).
func New(ctl Controller, o Options) *Model {
	km := o.Keys
	if km == nil {
		d := DefaultKeyMap()
		km = &d
	}
	_, isDev := ctl.(DeviceController)
	if _, ok := ctl.(DeviceEditor); !ok || !isDev {
		km.Edit.SetEnabled(false)
	}
	if _, ok := ctl.(PresenceWatcher); !ok {
		km.Team.SetEnabled(false) // team.go
	}
	if _, ok := ctl.(Picker); !ok {
		km.Pickup.SetEnabled(false)
	}
	if _, ok := ctl.(Transferer); !ok {
		km.Transfer.SetEnabled(false)
		km.Consult.SetEnabled(false)
		km.Conference.SetEnabled(false)
		km.CompleteTransfer.SetEnabled(false)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if _, set := os.LookupEnv("NO_COLOR"); set {
		o.NoColor = true
	}
	m := &Model{ctl: ctl, opts: o, km: km, dark: true, color: !o.NoColor, w: 80, h: 24}
	m.st = NewStyles(m.dark, m.color)
	m.header = header{st: m.st, account: o.Account, audio: o.Device, unregistered: o.Unregistered, number: o.Number}
	if pc, ok := ctl.(PolicyController); ok {
		p := pc.Policy()
		m.header.policy = &p
	}
	m.calls = callList{st: m.st, km: km, why: o.Why}
	m.dial = newDialLine(m.st, km, o.Contacts)
	m.notice = noticeLine{st: m.st}
	m.help = help.New()
	m.help.Styles = m.st.Help
	m.ladder = ladderView{st: m.st, km: km}
	m.dialogs = dialogList{st: m.st, km: km, loc: o.Location}
	m.journal = journalPane{st: m.st, km: km, loc: o.Location}
	m.devices = devicesPane{st: m.st, km: km}
	m.team = teamPane{st: m.st, km: km}
	_, canHoldWith := ctl.(HoldWither)
	m.settings = settingsPane{st: m.st, km: km, hold: o.HoldDialect, audio: o.Device, audioDevs: o.AudioDevices, canHoldWith: canHoldWith, switcher: o.Audio}
	m.sub = ctl.Subscribe()
	m.applySnapshot(ctl.Snapshot())
	m.now = o.Now()
	m.header.now = m.now
	m.layout()
	return m
}

// Messages the root model handles.
type (
	// snapshotMsg is a fresh Snapshot, taken after a Lagged event.
	snapshotMsg struct{ snap api.Snapshot }
	// feedClosedMsg: the subscription ended (the Service shut down).
	feedClosedMsg struct{}
	// tickMsg redraws the call timers once a second while a call is up.
	tickMsg time.Time
	// resultMsg reports a command to the Controller: what was asked and
	// its error, if any.
	resultMsg struct {
		what   string
		err    error
		follow api.CallID // a call the command placed: the cursor goes to it
	}
	// unreadMsg is the unread missed-call count read at start.
	unreadMsg struct{ n int }
	// recentMsg carries the journal's recent numbers and URIs for the dial
	// line's completion, most recent first.
	recentMsg struct{ targets []string }
	// dialResultMsg reports a Dial.
	dialResultMsg struct {
		to  string
		id  api.CallID
		err error
	}
)

// waitEvent reads the next event; Update re-arms it after each one.
func waitEvent(sub *api.Subscription) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-sub.C
		if !ok {
			return feedClosedMsg{}
		}
		return ev
	}
}

// unreadCmd reads the unread missed-call count.
func unreadCmd(j Journaler, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		n, err := j.UnreadMissed(ctx)
		if err != nil {
			return resultMsg{what: "journal", err: err}
		}
		return unreadMsg{n: n}
	}
}

// recentLimit is how many journal entries the dial line's completion
// looks at.
const recentLimit = 200

// recentCmd reads the numbers and URIs of the latest calls, newest first,
// each once.
func recentCmd(j Journaler, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		es, err := j.Journal(ctx, journal.Filter{Limit: recentLimit})
		if err != nil {
			return resultMsg{what: "journal", err: err}
		}
		seen := map[string]bool{}
		var out []string
		for _, e := range es {
			if t := e.CallBack(); t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
		return recentMsg{targets: out}
	}
}

func snapshotCmd(c Controller) tea.Cmd {
	return func() tea.Msg { return snapshotMsg{snap: c.Snapshot()} }
}

func tickCmd() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// do runs f against the Controller off the event loop.
func (m *Model) do(what string, f func(ctx context.Context, c Controller) error) tea.Cmd {
	c, d := m.ctl, m.opts.CommandTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return resultMsg{what: what, err: f(ctx, c)}
	}
}

// place is do for a command that places a call: the cursor follows it.
func (m *Model) place(what string, f func(ctx context.Context, c Controller) (api.CallID, error)) tea.Cmd {
	c, d := m.ctl, m.opts.CommandTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		id, err := f(ctx, c)
		return resultMsg{what: what, err: err, follow: id}
	}
}

func (m *Model) dialCmd(to string) tea.Cmd {
	c, d := m.ctl, m.opts.CommandTimeout
	holds := m.activeUnheld("")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		for _, id := range holds {
			if err := c.Hold(ctx, id); err != nil {
				return dialResultMsg{to: to, err: fmt.Errorf("hold %s first: %w", id, err)}
			}
		}
		id, err := c.Dial(ctx, to, api.DialOptions{})
		return dialResultMsg{to: to, id: id, err: err}
	}
}

// activeUnheld lists the active calls not on local hold, except one.
func (m *Model) activeUnheld(except api.CallID) []api.CallID {
	var ids []api.CallID
	for _, c := range m.calls.calls {
		// A conference partner of except is resumed with it (cti).
		if c.ID != except && (except == "" || c.Conference != except) && c.State == api.CallActive && !c.LocalHold {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// Init starts the event feed and asks the terminal for its background.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvent(m.sub), tea.RequestBackgroundColor}
	if j, ok := m.ctl.(Journaler); ok {
		cmds = append(cmds, unreadCmd(j, m.opts.CommandTimeout), recentCmd(j, m.opts.CommandTimeout))
	}
	if d, ok := m.deviceController(); ok {
		cmds = append(cmds, devicesCmd(d, m.opts.CommandTimeout))
	}
	if pw, ok := m.ctl.(PresenceWatcher); ok {
		cmds = append(cmds, watchesCmd(pw))
	}
	if c := m.startTick(); c != nil {
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

func (m *Model) startTick() tea.Cmd {
	if m.ticking || len(m.calls.calls) == 0 && !m.sipView() {
		return nil
	}
	m.ticking = true
	return tickCmd()
}

func (m *Model) applySnapshot(s api.Snapshot) {
	m.calls.reset(s.Calls)
	for _, c := range s.Calls {
		m.seen = noteCall(m.seen, c, m.opts.Now())
	}
	m.header.calls = len(m.calls.calls)
	m.devices.setCalls(m.calls.calls)
	if len(s.Regs) > 0 {
		r := s.Regs[0]
		m.header.reg = &r
	}
	if n := len(s.Notices); n > 0 {
		m.notice.last = s.Notices[n-1]
	}
	m.header.mwi = s.MWI
	m.header.transport, m.header.insecure = s.Transport, s.TLSInsecure
}

// layout hands each component its size: header, rule, body, input,
// notice, help; one line each except the body.
func (m *Model) layout() {
	body := max(m.h-5, 1)
	m.header.SetSize(m.w, 1)
	m.calls.SetSize(m.w, body)
	m.ladder.SetSize(m.w, body)
	m.dialogs.SetSize(m.w, body)
	m.journal.SetSize(m.w, body)
	m.devices.SetSize(m.w, body)
	m.team.SetSize(m.w, body)
	m.settings.SetSize(m.w, body)
	m.dial.SetSize(m.w, 1)
	m.notice.SetSize(m.w, 1)
	m.help.SetWidth(m.w)
}

// Update routes a message. It never blocks: commands to the Controller
// run in the returned tea.Cmd.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		*m.st = *NewStyles(m.dark, m.color)
		m.help.Styles = m.st.Help
		m.dial.restyle()
		return m, nil
	case tickMsg:
		m.now = time.Time(msg)
		m.header.now = m.now
		if len(m.calls.calls) == 0 && !m.sipView() {
			m.ticking = false
			return m, nil
		}
		m.ticking = true
		switch m.mode {
		case modeDialogs: // a keepalive or a refresh adds messages
			return m, tea.Batch(tickCmd(), dialogsCmd(m.ctl))
		case modeLadder:
			return m, tea.Batch(tickCmd(), ladderCmd(m.ctl, m.ladder.id))
		}
		return m, tickCmd()
	case feedClosedMsg:
		m.notice.set(api.NoticeWarn, "the phone stopped")
		return m, nil
	case api.Lagged:
		cmds := []tea.Cmd{waitEvent(m.sub), snapshotCmd(m.ctl)}
		if d, ok := m.deviceController(); ok {
			cmds = append(cmds, devicesCmd(d, m.opts.CommandTimeout)) // a change may be among the lost
		}
		return m, tea.Batch(cmds...)
	case api.DevicesChanged:
		m.onDevices(devicesMsg{st: deviceStatus{Devices: msg.Devices, Active: msg.Active}})
		return m, waitEvent(m.sub)
	case api.PresenceChanged:
		m.team.upsert(msg.Watch)
		return m, waitEvent(m.sub)
	case watchesMsg:
		m.team.set(msg.ws)
		return m, nil
	case snapshotMsg:
		m.applySnapshot(msg.snap)
		return m, m.startTick()
	case api.CallChanged:
		return m, tea.Batch(waitEvent(m.sub), m.onCall(msg.Call))
	case api.RegistrationChanged, api.PolicyChanged, api.MessageWaiting:
		m.header.Update(msg)
		if _, reg := msg.(api.RegistrationChanged); reg && m.mode == modeDialogs {
			return m, tea.Batch(waitEvent(m.sub), dialogsCmd(m.ctl)) // a REGISTER dialog grew
		}
		return m, waitEvent(m.sub)
	case api.JournalChanged:
		m.header.Update(msg)
		cmds := []tea.Cmd{waitEvent(m.sub), m.onJournalChanged(msg)}
		if j, ok := m.ctl.(Journaler); ok && msg.Entry.ID != 0 {
			cmds = append(cmds, recentCmd(j, m.opts.CommandTimeout)) // a new call to complete
		}
		return m, tea.Batch(cmds...)
	case api.PolicyDecision:
		m.onPolicyDecision(msg)
		return m, waitEvent(m.sub)
	case unreadMsg:
		m.header.missed = msg.n
		return m, nil
	case recentMsg:
		m.dial.setRecent(msg.targets)
		return m, nil
	case api.Notice:
		m.notice.Update(msg)
		if m.opts.AudioLost != nil {
			m.header.audioLost = m.opts.AudioLost() // lost and back come as notices
		}
		return m, waitEvent(m.sub)
	case api.DTMFReceived:
		m.notice.set(api.NoticeInfo, "received DTMF "+msg.Digit)
		return m, waitEvent(m.sub)
	case api.MediaTimeout:
		m.notice.set(api.NoticeWarn, fmt.Sprintf("no audio from the other side for %.0f s", msg.Seconds))
		return m, waitEvent(m.sub)
	case api.RequestOutcome:
		m.onRequestOutcome(msg)
		return m, waitEvent(m.sub)
	case api.TransferProgress, api.ReferReceived, api.InitialHoldResult:
		if r, ok := msg.(api.ReferReceived); ok && r.Pending {
			m.pendingRefer = r.CallID
		}
		m.onMidcall(msg.(api.Event))
		return m, waitEvent(m.sub)
	case resultMsg:
		if msg.err != nil {
			m.notice.set(api.NoticeError, msg.what+": "+errText(msg.err))
		} else if msg.follow != "" {
			m.calls.follow(msg.follow) // a call we placed (consultation)
		}
		return m, nil
	case dialResultMsg:
		if msg.err != nil {
			m.notice.set(api.NoticeError, "dial "+msg.to+": "+errText(msg.err))
			return m, nil
		}
		m.calls.follow(msg.id)
		if dev := m.calls.deviceOf(msg.id); dev != "" || m.devices.status.remoteActive() {
			if dev == "" {
				dev = m.devices.status.Active[0]
			}
			// A callback: the device rings first; its progress, and a
			// failure, show on the call itself.
			m.notice.set(api.NoticeInfo, "calling "+msg.to+" through "+dev+": answer it there")
			return m, nil
		}
		m.notice.set(api.NoticeInfo, "calling "+msg.to)
		return m, nil
	case ladderMsg:
		if msg.id == m.ladder.id {
			m.ladder.set(msg.msgs)
		}
		return m, nil
	case dialogsMsg:
		m.others = msg.dialogs
		m.dialogs.set(m.seen, m.others)
		return m, nil
	case journalMsg:
		m.journal.set(msg)
		return m, nil
	case devicesMsg:
		m.onDevices(msg)
		return m, nil
	case levelMsg:
		if m.mode != modeSettings {
			return m, nil
		}
		m.readLevels()
		return m, levelTick()
	case policySetMsg:
		m.onPolicySet(msg)
		if msg.err == nil && msg.setting != "" {
			return m, m.saveSetting(msg.setting, msg.value)
		}
		return m, nil
	case audioDevicesMsg:
		m.onAudioDevices(msg)
		return m, nil
	case audioSwitchedMsg:
		m.onAudioSwitched(msg)
		if msg.err == nil {
			return m, m.saveSetting("audio", msg.spec)
		}
		return m, nil
	case promptDoneMsg:
		return m, m.onPrompt(msg)
	case ladderExportMsg:
		if msg.err != nil {
			m.notice.set(api.NoticeError, "write pcap: "+errText(msg.err))
		} else {
			m.notice.set(api.NoticeInfo, fmt.Sprintf("wrote %d SIP messages to %s", msg.n, msg.path))
		}
		return m, nil
	case tea.MouseClickMsg:
		return m, m.onClick(msg)
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case api.Event:
		// An event this UI does not show (yet): keep the feed going.
		return m, waitEvent(m.sub)
	}
	if m.mode == modePrompt {
		return m, m.dial.Update(msg)
	}
	return m, nil
}

// errText is an error for the notice line: SIP rejections as code and
// phrase.
func errText(err error) string {
	var rej *api.RejectedError
	if errors.As(err, &rej) {
		return rej.Error()
	}
	return err.Error()
}

// onCall applies a call's new value and raises the incoming-call alert.
func (m *Model) onCall(c api.CallInfo) tea.Cmd {
	m.now = m.opts.Now()
	m.header.now = m.now
	var prev api.CallState
	for _, x := range m.calls.calls {
		if x.ID == c.ID {
			prev = x.State
		}
	}
	isNew := m.calls.upsert(c)
	m.seen = noteCall(m.seen, c, m.now)
	if m.mode == modeDialogs {
		m.dialogs.set(m.seen, m.others)
	}
	m.header.calls = len(m.calls.calls)
	m.devices.setCalls(m.calls.calls)
	var cmds []tea.Cmd
	name, number := peerNames(c.Remote)
	who := name
	if number != name {
		who += " (" + number + ")"
	}
	switch {
	case isNew && c.State == api.CallIncoming:
		m.calls.selectID(c.ID)
		if len(m.activeUnheld(c.ID)) > 0 {
			m.notice.set(api.NoticeWarn, "call waiting: "+who+" — a to answer (holds the current call), r to reject")
		} else {
			m.notice.set(api.NoticeWarn, "incoming call from "+who+" — a to answer, r to reject")
		}
		if !m.opts.NoBell {
			cmds = append(cmds, tea.Raw("\a"))
		}
	case c.State == api.CallActive && prev != api.CallActive && c.Direction == api.Outgoing &&
		strings.HasPrefix(m.notice.last.Text, "calling "):
		// The "calling …" line is stale once the call is up (a
		// consultation's hint stays: it says what T and tab do).
		where := ""
		if c.Device != "" {
			where = " on " + c.Device
		}
		m.notice.set(api.NoticeInfo, "talking to "+who+where)
	case c.State == api.CallEnded:
		why := "ended"
		if c.End != nil {
			why = c.End.Cause.String()
			if c.End.Code >= 300 {
				why = fmt.Sprintf("%s %d %s", why, c.End.Code, c.End.Reason)
			}
			if c.End.Q850 != 0 {
				why += fmt.Sprintf(" (Q.850 %d %s)", c.End.Q850, api.Q850Text(c.End.Q850))
			}
			why += endDetail(*c.End) // enddetail.go
		}
		m.notice.set(api.NoticeInfo, "call with "+who+" ended: "+strings.TrimSpace(why))
	}
	if m.mode == modeLadder && c.ID == m.ladder.id {
		cmds = append(cmds, ladderCmd(m.ctl, c.ID))
	}
	cmds = append(cmds, m.startTick())
	return tea.Batch(cmds...)
}

func (m *Model) onClick(msg tea.MouseClickMsg) tea.Cmd {
	if m.mode != modeCalls || msg.Button != tea.MouseLeft {
		return nil
	}
	return m.calls.Update(listClickMsg{row: msg.Y - 2})
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	switch m.mode {
	case modePrompt:
		cmd := m.dial.Update(msg)
		if m.dial.kind == promptNone {
			m.mode, m.afterPrompt = m.afterPrompt, modeCalls
		}
		return cmd
	case modeHelp:
		if key.Matches(msg, m.km.Help, m.km.Cancel, m.km.Quit) {
			m.mode = modeCalls
		}
		return nil
	case modeLadder:
		if m.ladder.Searching() {
			m.ladder.Update(msg)
			return nil
		}
		if key.Matches(msg, m.km.Pcap) {
			return exportLadderCmd(m.opts.ExportDir, m.ladder.id, m.ladder.msgs, m.now)
		}
		if key.Matches(msg, m.km.Dialogs) {
			return m.openDialogs()
		}
		if key.Matches(msg, m.km.Quit) {
			m.mode = modeCalls
			return nil
		}
		if m.ladder.Update(msg) {
			if m.fromList {
				return m.openDialogs() // back to the list it was picked from
			}
			m.mode = modeCalls
		}
		return nil
	case modeDialogs:
		if key.Matches(msg, m.km.Quit) {
			m.mode = modeCalls
			return nil
		}
		open, back := m.dialogs.Update(msg)
		switch {
		case back:
			m.mode = modeCalls
		case open:
			r, _ := m.dialogs.selected()
			m.ladder.open(r.id, r.peer)
			m.mode, m.fromList = modeLadder, true
			return tea.Batch(ladderCmd(m.ctl, r.id), m.startTick())
		}
		return nil
	case modeJournal:
		return m.journalKey(msg)
	case modeDevices:
		return m.devicesKey(msg)
	case modeTeam:
		return m.teamKey(msg)
	case modeSettings:
		return m.settingsKey(msg)
	}
	if !key.Matches(msg, m.km.Quit) {
		m.quitArm = false
	}
	c, have := m.calls.selected()
	switch {
	case key.Matches(msg, m.km.Quit):
		if len(m.calls.calls) == 0 || m.quitArm {
			return tea.Quit
		}
		m.quitArm = true
		m.notice.set(api.NoticeWarn, plural(len(m.calls.calls), "call")+" up: press q again to hang up and quit")
		return nil
	case key.Matches(msg, m.km.Help):
		m.mode = modeHelp
		return nil
	case key.Matches(msg, m.km.Command):
		m.mode = modePrompt
		return m.dial.open(promptCommand, "")
	case key.Matches(msg, m.km.Dial):
		m.mode = modePrompt
		return m.dial.open(promptDial, "")
	case key.Matches(msg, m.km.Up, m.km.Down):
		return m.calls.Update(msg)
	case key.Matches(msg, m.km.Journal):
		return m.openJournal()
	case key.Matches(msg, m.km.Dialogs), key.Matches(msg, m.km.Ladder) && !have:
		// l without a call: the list of every dialog to pick one from
		return m.openDialogs()
	case key.Matches(msg, m.km.Devices):
		return m.openDevices()
	case key.Matches(msg, m.km.Team):
		return m.openTeam()
	case key.Matches(msg, m.km.Settings):
		return m.openSettings()
	case key.Matches(msg, m.km.Voicemail):
		return m.callVoicemail() // mwi.go
	case key.Matches(msg, m.km.DTMF):
		if have && c.State == api.CallActive && !c.LocalHold {
			return m.dtmf(c.ID, msg.String())
		}
		m.mode = modePrompt
		return m.dial.open(promptDial, msg.String())
	case key.Matches(msg, m.km.Answer):
		return m.answer()
	}
	if !have {
		if key.Matches(msg, m.km.Reject, m.km.Hangup, m.km.Hold, m.km.Toggle, m.km.Mute, m.km.Ladder,
			m.km.Transfer, m.km.Consult, m.km.Conference, m.km.CompleteTransfer) {
			m.notice.set(api.NoticeInfo, "no call selected")
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.km.Reject):
		return m.reject(c)
	case key.Matches(msg, m.km.Hangup):
		return m.hangup(c.ID)
	case key.Matches(msg, m.km.Hold):
		return m.holdToggle(c)
	case key.Matches(msg, m.km.Toggle):
		return m.swap()
	case key.Matches(msg, m.km.Mute):
		return m.mute(c)
	case key.Matches(msg, m.km.Ladder):
		name, _ := peerNames(c.Remote)
		m.ladder.open(c.ID, name)
		m.mode, m.fromList = modeLadder, false
		return ladderCmd(m.ctl, c.ID)
	case key.Matches(msg, m.km.Transfer):
		return m.startTransfer(c, promptTransfer)
	case key.Matches(msg, m.km.Consult):
		return m.startTransfer(c, promptConsult)
	case key.Matches(msg, m.km.CompleteTransfer):
		return m.completeTransfer()
	case key.Matches(msg, m.km.Conference):
		return m.conference()
	}
	return nil
}

func (m *Model) answer() tea.Cmd {
	var target api.CallID
	if c, ok := m.calls.selected(); ok && c.State == api.CallIncoming {
		target = c.ID
	} else {
		for _, c := range m.calls.calls {
			if c.State == api.CallIncoming {
				target = c.ID
				break
			}
		}
	}
	if target == "" {
		m.notice.set(api.NoticeInfo, "no incoming call to answer")
		return nil
	}
	holds := m.activeUnheld(target)
	return m.do("answer", func(ctx context.Context, c Controller) error {
		for _, id := range holds {
			if err := c.Hold(ctx, id); err != nil {
				return fmt.Errorf("hold %s first: %w", id, err)
			}
		}
		return c.Answer(ctx, target)
	})
}

func (m *Model) reject(c api.CallInfo) tea.Cmd {
	if c.State != api.CallIncoming {
		m.notice.set(api.NoticeInfo, "only a ringing incoming call can be rejected; e hangs up")
		return nil
	}
	id := c.ID
	return m.do("reject", func(ctx context.Context, ctl Controller) error { return ctl.Reject(ctx, id, 0, "") })
}

func (m *Model) hangup(id api.CallID) tea.Cmd {
	return m.do("hang up", func(ctx context.Context, c Controller) error { return c.Hangup(ctx, id) })
}

func (m *Model) holdToggle(c api.CallInfo) tea.Cmd {
	if c.State != api.CallActive {
		m.notice.set(api.NoticeInfo, "only an active call can be held")
		return nil
	}
	id := c.ID
	if c.LocalHold {
		holds := m.activeUnheld(id)
		return m.do("resume", func(ctx context.Context, ctl Controller) error {
			for _, o := range holds {
				if err := ctl.Hold(ctx, o); err != nil {
					return fmt.Errorf("hold %s first: %w", o, err)
				}
			}
			return ctl.Resume(ctx, id)
		})
	}
	if hw, ok := m.ctl.(HoldWither); ok && m.settings.hold != api.HoldDefault {
		d := m.settings.hold
		return m.do("hold", func(ctx context.Context, _ Controller) error { return hw.HoldWith(ctx, id, d) })
	}
	return m.do("hold", func(ctx context.Context, ctl Controller) error { return ctl.Hold(ctx, id) })
}

func (m *Model) mute(c api.CallInfo) tea.Cmd {
	id, on := c.ID, !c.Muted
	what := "mute"
	if !on {
		what = "unmute"
	}
	return m.do(what, func(ctx context.Context, ctl Controller) error { return ctl.Mute(ctx, id, on) })
}

func (m *Model) dtmf(id api.CallID, digits string) tea.Cmd {
	m.notice.set(api.NoticeInfo, "DTMF "+digits)
	return m.do("DTMF", func(ctx context.Context, c Controller) error { return c.SendDTMF(ctx, id, digits) })
}

func (m *Model) onPrompt(p promptDoneMsg) tea.Cmd {
	if m.mode == modePrompt {
		m.mode = m.afterPrompt
	}
	m.afterPrompt = modeCalls
	if p.value == "" {
		return nil
	}
	switch p.kind {
	case promptDevice:
		return m.editDevice(p.device, p.value)
	case promptDial:
		return m.dialCmd(m.dial.resolve(p.value))
	case promptTransfer, promptConsult:
		return m.transferTo(p.kind, p.call, p.value)
	case promptCommand:
		return m.runCommand(p.value)
	}
	return nil
}

// View draws the whole screen: header, rule, body, input line, notice
// line, help bar.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = m.opts.AltScreen
	if m.opts.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "anyphone"
	return v
}

// Render is the screen as a string (the content of View).
func (m *Model) Render() string {
	body := max(m.h-5, 1)
	var main string
	var hk help.KeyMap = m.km
	view := m.mode
	if view == modePrompt {
		view = m.afterPrompt // the pane the prompt is about stays in view
	}
	switch view {
	case modeHelp:
		full := m.help
		full.ShowAll = true
		main = m.st.Title.Render("Keys") + "\n" + full.View(m.km) + "\n\n" +
			m.st.Dim.Render(ansi.Wordwrap("Commands (:): "+strings.Join(commandNames, " "), m.w, ""))
		hk = bindings{m.km.Help, m.km.Cancel}
	case modeLadder:
		main = m.ladder.View()
		hk = &m.ladder
	case modeDialogs:
		main = m.dialogs.View()
		hk = &m.dialogs
	case modeJournal:
		main = m.journal.View()
		hk = &m.journal
	case modeDevices:
		main = m.devices.View()
		hk = &m.devices
	case modeTeam:
		main = m.team.View()
		hk = &m.team
	case modeSettings:
		main = m.settings.View(m.header.policy, m.now)
		hk = &m.settings
	default:
		main = m.calls.View(m.now)
	}
	if m.mode == modePrompt {
		hk = &m.dial
	}
	main = lipgloss.NewStyle().Height(body).MaxHeight(body).Render(main)
	rule := m.st.Rule.Render(strings.Repeat("─", max(m.w, 1)))
	lines := []string{m.header.View(), rule, main, m.dial.View(), m.notice.View(), fitLine(m.help.View(hk), m.w)}
	return strings.Join(lines, "\n")
}

// bindings adapts a list of bindings to help.KeyMap.
type bindings []key.Binding

func (b bindings) ShortHelp() []key.Binding  { return b }
func (b bindings) FullHelp() [][]key.Binding { return [][]key.Binding{b} }

// openDialogs shows the SIP dialog list, fetching the dialogs no call owns
// (again every second while it is open).
func (m *Model) openDialogs() tea.Cmd {
	m.mode = modeDialogs
	m.dialogs.set(m.seen, m.others)
	return tea.Batch(dialogsCmd(m.ctl), m.startTick())
}

// sipView reports whether the dialog list or a ladder is open: they are
// read again every second.
func (m *Model) sipView() bool { return m.mode == modeDialogs || m.mode == modeLadder }
