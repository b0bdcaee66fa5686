package anydevice

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/vocab"
)

// Controller is the AnyDevice B2BUA. It owns one phone.Phone and every
// session placed or received through it. All methods are safe for
// concurrent use.
type Controller struct {
	cfg Config
	log *slog.Logger
	ph  *phone.Phone

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // session goroutines

	mu       sync.Mutex
	users    map[string]*User // id → user (Active is guarded by mu)
	byNumber map[string]*User
	sessions map[SessionID]*session
	legs     map[phone.CallID]*session
	orphans  map[phone.CallID][]phone.Event
	ports    map[phone.CallID]*Port
	charged  map[phone.CallID]bool // calls holding a trunk channel (gate.go)
	// past remembers the session of each ended leg for legMemory: the
	// outcome of a request on it can come later (outcome.go).
	past map[phone.CallID]pastLeg
	// edits are the device targets set with SetDeviceTarget: user →
	// device → target (saved with the active devices).
	edits    map[string]map[string]savedTarget
	channels int // len(charged)
	// peakChannels is the most channels in use at once (tests, status).
	peakChannels int
	closed       bool

	seq  atomic.Uint64
	rate rateLimiter

	subMu sync.Mutex
	subs  map[chan Event]struct{}
}

// New checks cfg and builds a Controller with its own phone. Call Start.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Phone.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Controller{
		cfg:      cfg,
		log:      log,
		users:    map[string]*User{},
		byNumber: map[string]*User{},
		sessions: map[SessionID]*session{},
		legs:     map[phone.CallID]*session{},
		orphans:  map[phone.CallID][]phone.Event{},
		ports:    map[phone.CallID]*Port{},
		charged:  map[phone.CallID]bool{},
		past:     map[phone.CallID]pastLeg{},
	}
	for i := range cfg.Users {
		u := cfg.Users[i]
		u.Devices = slices.Clone(u.Devices)
		u.Numbers = slices.Clone(u.Numbers)
		if len(u.Active) == 0 && len(u.Devices) > 0 {
			u.Active = []string{u.Devices[0].Name}
		}
		u.Active = slices.Clone(u.Active)
		c.users[u.ID] = &u
		for _, n := range u.Numbers {
			c.byNumber[n] = &u
		}
	}
	c.loadState()
	pc := cfg.Phone
	userEvents, userMedia, userScreen := pc.Events, pc.Media, pc.Screen
	pc.Events = func(ev phone.Event) {
		c.onPhoneEvent(ev)
		if userEvents != nil {
			userEvents(ev)
		}
	}
	pc.Media = func(ci phone.CallInfo) (audio.Source, audio.Sink, error) {
		if p := c.portFor(ci.ID, false); p != nil {
			return p, p, nil
		}
		if userMedia != nil {
			return userMedia(ci)
		}
		return nil, nil, nil
	}
	if !cfg.PCMRelay {
		pc.Packets = c.packetsFor
	}
	pc.Screen = func(ci phone.CallInfo) phone.Screening {
		if s, ok := c.screen(ci); ok {
			return s
		}
		if userScreen != nil {
			return userScreen(ci)
		}
		return phone.Screening{}
	}
	// One gate for every INVITE the phone would send (gate.go); a gate
	// given by the embedder still has the last word.
	userGate := pc.Authorize
	pc.Authorize = func(r phone.CallRequest) error {
		if err := c.authorize(r); err != nil {
			return err
		}
		if userGate != nil {
			if err := userGate(r); err != nil {
				c.uncharge(r.Call)
				return err
			}
		}
		return nil
	}
	if pc.Name == "" {
		pc.Name = "anydevice"
	}
	if pc.MaxCalls == 0 {
		// Every leg is a call of the phone: its default of 64 would cap
		// the controller at 32 bridged calls. The channel limit (plus the
		// legs still ringing or ending) bounds it instead.
		pc.MaxCalls = 4096
		if cfg.MaxChannels > 0 {
			pc.MaxCalls = 2*cfg.MaxChannels + 16
		}
	}
	if len(pc.InviteSources) == 0 {
		acl, err := cfg.inviteSources()
		if err != nil {
			return nil, fmt.Errorf("anydevice: %w", err)
		}
		pc.InviteSources = acl
	}
	ph, err := phone.New(pc)
	if err != nil {
		return nil, fmt.Errorf("anydevice: %w", err)
	}
	c.ph = ph
	return c, nil
}

// Start starts the controller's phone (listen, register). It serves until
// ctx ends or Close.
func (c *Controller) Start(ctx context.Context) error {
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.servePresence() // presence.go
	if err := c.ph.Start(c.ctx); err != nil {
		return fmt.Errorf("anydevice: %w", err)
	}
	return c.publishPresence() // presence.go
}

// Phone is the controller's SIP user agent (its address, ladder, calls).
func (c *Controller) Phone() *phone.Phone { return c.ph }

// Shutdown hangs up every session and stops the phone.
func (c *Controller) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	ss := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.do(func() { s.hangupAll(reasonNormal) })
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	err := c.ph.Shutdown(ctx)
	if c.cancel != nil {
		c.cancel()
	}
	return err
}

// Close drops everything at once.
func (c *Controller) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	return c.ph.Close()
}

func (c *Controller) emit(ev Event) {
	c.presenceEvent(ev) // presence.go
	if c.cfg.Events != nil {
		c.cfg.Events(ev)
	}
	c.subMu.Lock()
	for ch := range c.subs {
		select {
		case ch <- ev:
		default: // a slow subscriber loses events; it never blocks us
		}
	}
	c.subMu.Unlock()
}

// Subscribe returns a channel of every event from now on (buffered: a
// subscriber that falls behind loses events) and a function that ends the
// subscription.
func (c *Controller) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, max(buf, 1))
	c.subMu.Lock()
	if c.subs == nil {
		c.subs = map[chan Event]struct{}{}
	}
	c.subs[ch] = struct{}{}
	c.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.subMu.Lock()
			delete(c.subs, ch)
			c.subMu.Unlock()
		})
	}
}

// refuse records a refusal as an event and returns it as an error.
func (c *Controller) refuse(user, rule, detail string) error {
	return c.refuseTo(user, "", rule, detail)
}

// refuseTo is refuse for a call that was asked for: target is the
// destination the user wanted, for the journal.
func (c *Controller) refuseTo(user, target, rule, detail string) error {
	c.log.Warn("refused", "user", user, "rule", rule, "detail", detail)
	c.emit(Refused{Time: time.Now(), User: user, Rule: rule, Target: target, Detail: detail})
	return &RefusedError{User: user, Rule: rule, Detail: detail}
}

// Authenticate checks a user's token in constant time (the lengths leak
// nothing either: both sides are hashed first). A refusal is evented with
// rule "auth".
func (c *Controller) Authenticate(userID, token string) error {
	c.mu.Lock()
	u := c.users[userID]
	c.mu.Unlock()
	want := ""
	if u != nil {
		want = u.Token.Reveal()
	}
	if !vocab.TokenMatches(want, token) || u == nil {
		_ = c.refuse(userID, "auth", "bad or missing token")
		return ErrUnauthenticated
	}
	return nil
}

// user returns a copy of user id.
func (c *Controller) user(id string) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.users[id]
	if !ok {
		return User{}, false
	}
	cp := *u
	cp.Active = slices.Clone(u.Active)
	return cp, true
}

// Users lists the configured user ids.
func (c *Controller) Users() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.users))
	for id := range c.users {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// UserDevices returns the user's devices.
func (c *Controller) UserDevices(userID string) ([]Device, error) {
	u, ok := c.user(userID)
	if !ok {
		return nil, ErrNoSuchUser
	}
	return slices.Clone(u.Devices), nil
}

// ActiveDevices returns the user's active device names.
func (c *Controller) ActiveDevices(userID string) ([]string, error) {
	u, ok := c.user(userID)
	if !ok {
		return nil, ErrNoSuchUser
	}
	return u.Active, nil
}

// SetActiveDevice makes names the user's active devices (follow-me rings
// them all; callbacks use the first). Only the user's own devices are
// accepted; the choice is persisted when Config.StatePath is set.
func (c *Controller) SetActiveDevice(userID string, names ...string) error {
	u, ok := c.user(userID)
	if !ok {
		return ErrNoSuchUser
	}
	if len(names) == 0 {
		return fmt.Errorf("set active device: %w", ErrNoSuchDevice)
	}
	for _, n := range names {
		if _, ok := u.Device(n); !ok {
			return c.refuse(userID, "device-not-owned", "set active device "+n)
		}
	}
	if len(names) > 1 && !u.Policy.simring() {
		return c.refuse(userID, "simring", fmt.Sprintf("%d active devices at once", len(names)))
	}
	c.mu.Lock()
	c.users[userID].Active = slices.Clone(names)
	c.mu.Unlock()
	c.saveState()
	c.emit(ActiveDeviceChanged{User: userID, Active: slices.Clone(names)})
	return nil
}

// SetDeviceTarget makes the user's device name ring target (a SIP URI or
// a number) from now on, checked as a configured target is (the user's
// policy judges a number). A device the user does not own, a target that
// is none and one the policy refuses are refused (*RefusedError, rules
// device-not-owned, not-a-target, or the policy's). Calls under way keep their legs. The target is
// persisted with the active devices when Config.StatePath is set, so it
// survives a restart; DeviceChanged reports it.
func (c *Controller) SetDeviceTarget(userID, name, target string) error {
	target = strings.TrimSpace(target)
	u, ok := c.user(userID)
	if !ok {
		return ErrNoSuchUser
	}
	d, ok := u.Device(name)
	if !ok {
		return c.refuse(userID, "device-not-owned", "set the target of device "+name)
	}
	if err := checkTarget(target); err != nil {
		return c.refuse(userID, "not-a-target", "device "+d.Name+": "+err.Error())
	}
	if rule := u.Policy.judgeDevice(target); rule != "" {
		// Not a call that was asked for (refuseTo): no journal row for a
		// call to target.
		return c.refuse(userID, rule, "device "+d.Name+" target "+target)
	}
	if err := c.cfg.routable(target); err != nil {
		return fmt.Errorf("device %s: %w", d.Name, err)
	}
	c.mu.Lock()
	cur := c.users[userID]
	i := slices.IndexFunc(cur.Devices, func(x Device) bool { return strings.EqualFold(x.Name, name) })
	if i < 0 { // gone meanwhile: devices are never removed, but be safe
		c.mu.Unlock()
		return fmt.Errorf("set device target: %w: %s", ErrNoSuchDevice, name)
	}
	if cur.Devices[i].Target == target {
		c.mu.Unlock()
		return nil
	}
	configured := cur.Devices[i].Target
	if prev, ok := c.edits[userID][cur.Devices[i].Name]; ok {
		configured = prev.Configured
	}
	c.editTarget(userID, cur.Devices[i].Name, savedTarget{Target: target, Configured: configured})
	// A new slice: copies of the user (sessions, UserDevices) keep theirs.
	devs := slices.Clone(cur.Devices)
	devs[i].Target = target
	cur.Devices = devs
	d = devs[i]
	c.mu.Unlock()
	c.saveState()
	c.emit(DeviceChanged{User: userID, Device: d})
	return nil
}

type savedState struct {
	Active map[string][]string `json:"active"`
	// Targets are the device targets changed with SetDeviceTarget: user →
	// device name → target.
	Targets map[string]map[string]savedTarget `json:"targets,omitempty"`
}

// savedTarget is a device target set with SetDeviceTarget. It applies at
// the next start while the device's configured target is still the one
// it replaced: a changed configuration wins.
type savedTarget struct {
	Target     string `json:"target"`
	Configured string `json:"configured"`
}

// editTarget records a device target set at run time (for saveState).
// Callers hold c.mu, or own c (New).
func (c *Controller) editTarget(user, device string, t savedTarget) {
	if c.edits == nil {
		c.edits = map[string]map[string]savedTarget{}
	}
	if c.edits[user] == nil {
		c.edits[user] = map[string]savedTarget{}
	}
	c.edits[user][device] = t
}

func (c *Controller) loadState() {
	if c.cfg.StatePath == "" {
		return
	}
	b, err := os.ReadFile(c.cfg.StatePath)
	if err != nil {
		return
	}
	var st savedState
	if json.Unmarshal(b, &st) != nil {
		c.log.Warn("state file unreadable", "path", c.cfg.StatePath)
		return
	}
	for id, targets := range st.Targets {
		u := c.users[id]
		if u == nil {
			continue
		}
		for name, t := range targets {
			i := slices.IndexFunc(u.Devices, func(d Device) bool { return strings.EqualFold(d.Name, name) })
			switch {
			case i < 0 || u.Devices[i].Target != t.Configured:
				continue // the configuration changed since: it wins
			case checkTarget(t.Target) != nil || u.Policy.judgeDevice(t.Target) != "":
				c.log.Warn("state file: device target refused", "user", id, "device", name)
				continue
			}
			u.Devices[i].Target = t.Target
			c.editTarget(id, u.Devices[i].Name, t)
		}
	}
	for id, act := range st.Active {
		u := c.users[id]
		if u == nil {
			continue
		}
		okAll := len(act) > 0
		for _, n := range act {
			if _, ok := u.Device(n); !ok {
				okAll = false
			}
		}
		if okAll {
			u.Active = act
		}
	}
}

func (c *Controller) saveState() {
	if c.cfg.StatePath == "" {
		return
	}
	c.mu.Lock()
	st := savedState{Active: map[string][]string{}}
	for id, u := range c.users {
		st.Active[id] = slices.Clone(u.Active)
	}
	if len(c.edits) > 0 {
		st.Targets = map[string]map[string]savedTarget{}
		for id, m := range c.edits {
			st.Targets[id] = maps.Clone(m)
		}
	}
	c.mu.Unlock()
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := c.cfg.StatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		c.log.Warn("state file", "err", err)
		return
	}
	_ = os.Rename(tmp, c.cfg.StatePath)
}

// Status is a user's view: sessions and channel use.
type Status struct {
	User        string        `json:"user"`
	Active      []string      `json:"active"`
	Sessions    []SessionInfo `json:"sessions"`
	Channels    int           `json:"channels"`     // in use by the whole controller
	MaxChannels int           `json:"max_channels"` // 0: unlimited
}

// Status returns the user's sessions ("" for every user's) and the
// controller's channel use.
func (c *Controller) Status(userID string) (Status, error) {
	st := Status{User: userID, MaxChannels: c.cfg.MaxChannels}
	if userID != "" {
		u, ok := c.user(userID)
		if !ok {
			return st, ErrNoSuchUser
		}
		st.Active = u.Active
	}
	c.mu.Lock()
	ss := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		if userID == "" || s.user.ID == userID {
			ss = append(ss, s)
		}
	}
	st.Channels = c.channels
	c.mu.Unlock()
	for _, s := range ss {
		st.Sessions = append(st.Sessions, s.snapshot())
	}
	slices.SortFunc(st.Sessions, func(a, b SessionInfo) int { return a.Created.Compare(b.Created) })
	return st, nil
}

// Session returns one session's current value.
func (c *Controller) Session(id SessionID) (SessionInfo, bool) {
	c.mu.Lock()
	s := c.sessions[id]
	c.mu.Unlock()
	if s == nil {
		return SessionInfo{}, false
	}
	return s.snapshot(), true
}

// portFor returns the relay port of a call; create makes one if missing.
// The phone asks for it when the call's media starts, which may be before
// the session learned the call's id: both sides then meet here.
func (c *Controller) portFor(id phone.CallID, create bool) *Port {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.ports[id]
	if p == nil && (create || c.legs[id] != nil || c.orphans[id] != nil) {
		p = NewPort()
		c.ports[id] = p
	}
	return p
}

// onPhoneEvent routes phone events to sessions. It runs on phone
// goroutines and never blocks.
func (c *Controller) onPhoneEvent(ev phone.Event) {
	var id phone.CallID
	switch e := ev.(type) {
	case phone.CallChanged:
		id = e.Call.ID
	case phone.DTMFReceived:
		id = e.CallID
	case phone.RequestOutcome:
		c.onRequestOutcome(e) // outcome.go
		return
	case phone.SourceRejected:
		_ = c.refuse("", "sip-source", fmt.Sprintf("%s from %s", e.Method, e.Source))
		return
	case phone.RedirectReceived:
		c.mu.Lock()
		s := c.legs[e.CallID]
		c.mu.Unlock()
		user := ""
		if s != nil {
			user = s.user.ID
		}
		_ = c.refuseTo(user, strings.Join(e.Targets, ", "), "redirect",
			fmt.Sprintf("%d %s on leg %s not followed (to %s)", e.Code, e.Reason, e.CallID, strings.Join(e.Targets, ", ")))
		return
	default:
		return
	}
	c.mu.Lock()
	if cc, ok := ev.(phone.CallChanged); ok && cc.Call.State == phone.CallEnded {
		c.unchargeLocked(id) // every leg's channel, whoever placed it
	}
	s := c.legs[id]
	if s == nil {
		if cc, ok := ev.(phone.CallChanged); ok && cc.Call.Direction == phone.Incoming {
			// A call our screen refused (busy on busy, channels) is
			// published as incoming before its final response: no fork.
			refused := cc.Call.Screen == phone.ScreenReject || cc.Call.Screen == phone.ScreenRedirect
			if cc.Call.State == phone.CallIncoming && !c.closed && !refused {
				s = c.newFollowMeLocked(cc.Call)
			}
		} else if len(c.orphans) < 4096 {
			c.orphans[id] = append(c.orphans[id], ev)
		}
	}
	c.mu.Unlock()
	if s != nil {
		s.post(ev)
	}
}

// attach routes call id's events to s, with those that arrived before.
func (c *Controller) attach(id phone.CallID, s *session) {
	c.mu.Lock()
	c.legs[id] = s
	early := c.orphans[id]
	delete(c.orphans, id)
	c.mu.Unlock()
	for _, ev := range early {
		s.post(ev)
	}
}

// detach forgets a call that ended.
func (c *Controller) detach(id phone.CallID) {
	c.mu.Lock()
	if s := c.legs[id]; s != nil {
		c.rememberLocked(id, s) // outcome.go
	}
	delete(c.legs, id)
	delete(c.ports, id)
	delete(c.orphans, id)
	c.mu.Unlock()
}

// screen decides about an incoming call to the controller: calls to a
// user's number ring (and go to voicemail after the user's timeout); calls
// to anything else are refused.
func (c *Controller) screen(ci phone.CallInfo) (phone.Screening, bool) {
	c.mu.Lock()
	u := c.byNumber[ci.Local.User]
	var cp User
	if u != nil {
		cp = *u
	}
	c.mu.Unlock()
	if u == nil {
		_ = c.refuse("", "unknown-number", "incoming call to "+ci.Local.User)
		return phone.Screening{Action: phone.ScreenReject, Rule: "anydevice:unknown-number", Code: 404, Phrase: "Not Found"}, true
	}
	if scr, busy := c.busyOnBusy(cp, ci); busy {
		return scr, true // presence.go
	}
	if !c.channelsFree(2) {
		_ = c.refuse(cp.ID, "channels", "incoming call from "+ci.Remote.User)
		return phone.Screening{Action: phone.ScreenReject, Rule: "anydevice:channels", Code: 503, Phrase: "Service Unavailable"}, true
	}
	after := cp.VoicemailAfter
	if after == 0 {
		after = 30 * time.Second
	}
	then := &phone.Screening{Action: phone.ScreenReject, Rule: "anydevice:no-answer", Code: 480, Phrase: "Temporarily Unavailable"}
	if cp.Voicemail != "" {
		then = &phone.Screening{
			Action: phone.ScreenRedirect, Rule: "anydevice:voicemail", Target: cp.Voicemail,
			Headers: [][2]string{{"History-Info", historyInfo(c.identityURI(cp.Office()), cp.Voicemail, 408)}},
		}
	}
	return phone.Screening{Action: phone.ScreenSilent, Rule: "anydevice:follow-me", NoAnswer: after, NoAnswerThen: then}, true
}

// identityURI is the SIP URI we assert for a number of ours.
func (c *Controller) identityURI(number string) string {
	host := c.cfg.Domain
	if host == "" {
		host = c.ph.Addr()
	}
	return "sip:" + number + "@" + host
}

// routable reports ErrNoTrunk for a number when there is no trunk and no
// account to dial it through; a SIP URI is always routable.
func (c *Config) routable(t string) error {
	if isURI(t) || c.Trunk != "" || c.Phone.Account != nil {
		return nil
	}
	return fmt.Errorf("%q: %w", t, ErrNoTrunk)
}

// isURI reports whether a target is a SIP address rather than a number.
func isURI(t string) bool {
	return strings.HasPrefix(t, "sip:") || strings.HasPrefix(t, "sips:") || strings.Contains(t, "@")
}

// target turns a device target or destination into something to dial: a
// SIP URI as is, a number through the trunk.
func (c *Controller) target(t string) string {
	if isURI(t) {
		return t
	}
	if c.cfg.Trunk != "" {
		return "sip:" + t + "@" + c.cfg.Trunk
	}
	return t
}

// historyInfo builds an RFC 7044 History-Info value: the original target
// (index 1, with the Reason it was retargeted for: 302 follow-me, 408 no
// answer) and the new target next (index 1.1, rc), so that the device sees a secondary call and does not
// forward it again.
func historyInfo(orig, next string, cause int) string {
	if !strings.HasPrefix(next, "sip") {
		next = "sip:" + next
	}
	return fmt.Sprintf("<%s?Reason=SIP%%3Bcause%%3D%d>;index=1, <%s>;index=1.1;rc=1", orig, cause, next)
}
