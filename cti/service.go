// Package cti is anyphone's product API: the one Service every frontend (the
// TUI, the headless endpoint, the control protocol) drives, with a closed set
// of events, a Snapshot and Subscribe. It owns the routing policy between
// the local line and AnyDevice (anydevice.go).
//
// Every method that takes a ctx honours it: the call commands (Answer,
// Hangup, Hold, Transfer, ...) are not started when ctx is already done and
// return ctx.Err(); those that wait (Dial, Register, Shutdown, the journal)
// pass ctx on.
//
// cti may import phone and anydevice; it must not import ui, and it must not
// import sipgo, diago or pion (only phone does).
package cti

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// Options configures a Service.
type Options struct {
	// Phone configures the SIP user agent. Its Events field is owned by the
	// Service and overwritten.
	Phone phone.Config
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// SubscriberBuffer bounds each subscriber's queue (default 256).
	SubscriberBuffer int

	// User is whose journal this is; "" means the account's AOR, else the
	// phone's name.
	User string
	// Device names this device in the journal; "" means "desk".
	Device string
	// Journal, if set, gets one row per call when the call ends (see
	// journaling.go). The Service does not close it.
	Journal *journal.Journal
	// Policy is the busy policy. Nil means call waiting with no no-answer
	// timeout until SetPolicy is called.
	Policy *busy.Policy
	// AnswerKeepsOthers: Answer does not hold the other active calls first
	// (answer.go); for load endpoints whose calls are independent.
	AnswerKeepsOthers bool
	// PresenceServer, when set, receives our phone state as RFC 3903
	// PUBLISHes of dialog-info (a sip: URI or host:port; presence.go).
	PresenceServer string
}

// Service is the product API. All methods are safe for concurrent use.
type Service struct {
	log   *slog.Logger
	ph    *phone.Phone
	bus   api.Bus
	opts  Options
	mu    sync.Mutex
	notes []Notice
	tls   tlsNotices // tlsnotice.go
	hooks []func(Event)

	policy policyState // see policy.go
	// ownPresence is the last OwnPresenceChanged's state (presence.go).
	ownPresence struct {
		sync.Mutex
		last    [sha256.Size]byte // digest of the last state's JSON
		dialogs int               // dialogs in the last state
		pending bool              // a derivation is scheduled (presence.go)
	}
	journal  *journaling       // see journaling.go
	route    AnyDeviceRoute    // dial routing, see anydevice.go; guarded by mu
	devices  deviceTracker     // calls carried by other devices (devicecalls.go)
	contacts map[string]string // name → URI for Dial (SetContacts); guarded by mu
	regs     regNotices        // registrar unreachable and back (regnotice.go)
}

// New builds a Service around a new phone. Call Start.
func New(opts Options) (*Service, error) {
	s := &Service{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	pc := opts.Phone
	pc.Events = s.onPhoneEvent
	if pc.Logger == nil {
		pc.Logger = s.log
	}
	if err := s.initPolicy(&pc); err != nil {
		return nil, err
	}
	ph, err := phone.New(pc)
	if err != nil {
		s.policy.engine.Close()
		return nil, err
	}
	s.ph = ph
	s.initPresence() // presence.go
	s.initJournal(&pc)
	s.devices.publish, s.devices.notify, s.devices.journal = s.publish, s.Notify, s.journalCall
	return s, nil
}

// Start brings the phone up (listen, register).
func (s *Service) Start(ctx context.Context) error {
	if err := s.ph.Start(ctx); err != nil {
		return err
	}
	if s.ph.TLSInsecure() {
		s.Notify(NoticeWarn, "TLS server certificates are NOT verified (tls_insecure_skip_verify): anyone on the path can read and change your calls' signalling")
	}
	return s.startPublishing() // presence.go
}

// Addr is the SIP address we listen on (host:port).
func (s *Service) Addr() string { return s.ph.Addr() }

// URI is a SIP URI that reaches this phone directly.
func (s *Service) URI() string { return s.ph.URI() }

// Shed is how many new INVITEs load shedding refused with 503
// (phone.Config.OverloadDelay).
func (s *Service) Shed() int64 { return s.ph.Shed() }

// OnEvent adds a synchronous observer of every event (for in-process policy
// such as the endpoint's auto-answer). f must not block.
func (s *Service) OnEvent(f func(Event)) {
	s.mu.Lock()
	s.hooks = append(s.hooks, f)
	s.mu.Unlock()
}

func (s *Service) onPhoneEvent(ev phone.Event) {
	var out Event
	switch e := ev.(type) {
	case phone.CallChanged:
		out = CallChanged{Call: e.Call}
	case phone.DTMFReceived:
		out = DTMFReceived{CallID: e.CallID, Digit: string(e.Digit)}
	case phone.MediaTimeout:
		out = MediaTimeout{CallID: e.CallID, Seconds: e.Silent.Seconds()}
	case phone.RegistrationChanged:
		out = RegistrationChanged{Reg: e.Reg}
		s.regNotice(e.Reg) // regnotice.go
		if text := s.tls.regNotice(e.Reg.AOR, e.Reg.Err); text != "" {
			defer s.Notify(NoticeError, text) // after the registration event
		}
	case phone.MessageWaiting:
		out = MessageWaiting{MWI: e.Summary}
	case phone.RedirectFollowed:
		s.redirected(e) // endnote.go
		return
	case phone.CallRefused:
		s.refused(e) // endnote.go
		return
	case phone.PresenceReceived:
		out = PresenceChanged{Watch: e.Watch}
	case phone.BindingLost:
		s.Notify(NoticeWarn, "the registrar "+e.Reg.Registrar+" lost our binding for "+e.Reg.AOR+": registering again")
		return
	default:
		if out = midcallEvent(ev); out == nil { // midcall.go
			return
		}
	}
	s.publish(out)
	if e, ok := ev.(phone.CallChanged); ok && e.Call.State == phone.CallEnded {
		s.policyCallEnded(e.Call)
		if !s.forkedLeg(e.Call) {
			s.journalCall(e.Call)
		}
	}
}

func (s *Service) publish(ev Event) {
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	for _, h := range hooks {
		h(ev)
	}
	s.bus.Publish(ev)
	switch ev.(type) {
	case CallChanged, PolicyChanged:
		s.presenceChanged() // presence.go: after the event that changed it
	}
}

// Notify publishes a notice for the user and keeps it in the Snapshot.
func (s *Service) Notify(level NoticeLevel, text string) {
	n := Notice{Level: level, Text: text}
	s.mu.Lock()
	s.notes = append(s.notes, n)
	if len(s.notes) > 20 {
		s.notes = s.notes[len(s.notes)-20:]
	}
	s.mu.Unlock()
	s.publish(n)
}

// Subscribe returns a subscription receiving every event from now on. Take
// a Snapshot after subscribing to start from a consistent state. Close it
// when done.
func (s *Service) Subscribe() *Subscription { return s.bus.Subscribe(s.opts.SubscriberBuffer) }

// Snapshot returns the current calls, registrations and recent notices.
func (s *Service) Snapshot() Snapshot {
	snap := Snapshot{Calls: append(s.ph.Calls(), s.devices.snapshot()...)}
	if r, ok := s.ph.Registration(); ok {
		snap.Regs = []RegInfo{r}
	}
	if ms, ok := s.ph.MWI(); ok {
		snap.MWI = &ms
	}
	snap.Transport, snap.TLSInsecure = s.ph.Transport(), s.ph.TLSInsecure()
	s.mu.Lock()
	snap.Notices = append([]Notice(nil), s.notes...)
	s.mu.Unlock()
	return snap
}

// Call returns one call.
func (s *Service) Call(id CallID) (CallInfo, bool) {
	if ci, ok := s.devices.call(id); ok {
		return ci, true
	}
	return s.ph.Call(id)
}

// Ladder returns the SIP messages of a call for the ladder view.
func (s *Service) Ladder(id CallID) []SIPMessage {
	if msgs, ok := s.devices.ladder(id); ok {
		return msgs
	}
	return s.ph.Ladder(id)
}

// Dialogs lists the SIP dialogs no call owns (REGISTER, OPTIONS,
// SUBSCRIBE) whose ladders are kept; Ladder reads one by its SIP Call-ID.
func (s *Service) Dialogs() []Dialog { return s.ph.Dialogs() }

// dialLocal places a call on the local line (Dial routes, anydevice.go).
func (s *Service) dialLocal(ctx context.Context, to string, o DialOptions) (CallID, error) {
	po := phone.DialOptions{FromUser: o.FromUser, FromDisplay: o.FromDisplay}
	for k, v := range o.Headers {
		po.Headers = append(po.Headers, [2]string{k, v})
	}
	return s.ph.Dial(ctx, to, po)
}

// Answer accepts a ringing incoming call. Unless Options.AnswerKeepsOthers,
// it first holds every other active call (answer.go), waiting for those
// re-INVITEs at most half a second (a silent peer does not keep the new call
// ringing); the 200 itself is sent by the phone's call goroutine.
func (s *Service) Answer(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.opts.AnswerKeepsOthers {
		if c, ok := s.ph.Call(id); ok && c.State == phone.CallIncoming {
			s.holdOthers(ctx, id)
		}
	}
	return s.ph.Answer(id)
}

// Reject declines a ringing incoming call with code (0: 486) and an optional
// reason phrase. It never blocks (the call goroutine responds), so ctx is
// only checked.
func (s *Service) Reject(ctx context.Context, id CallID, code int, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.Reject(id, code, reason)
}

// Hangup ends a call in any state.
func (s *Service) Hangup(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, consult bool) error {
		if consult {
			return ad.EndConsult(user, sid)
		}
		return ad.Hangup(user, sid)
	}); ok {
		return err
	}
	return s.ph.HangupContext(ctx, id)
}

// HangupAll ends every call.
func (s *Service) HangupAll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	for _, c := range s.Snapshot().Calls {
		if err := s.Hangup(ctx, c.ID); err != nil && !errors.Is(err, phone.ErrNoSuchCall) {
			errs = append(errs, fmt.Errorf("hangup %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// SendDTMF sends digits on a call. It only queues them for the media
// pump and never blocks, so ctx is only checked.
func (s *Service) SendDTMF(ctx context.Context, id CallID, digits string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.SendDTMF(id, digits)
}

// Mute mutes or unmutes our audio on a call. It never blocks, so ctx is
// only checked.
func (s *Service) Mute(ctx context.Context, id CallID, on bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.SetMute(id, on)
}

// Register starts registering the account.
func (s *Service) Register(ctx context.Context) error { return s.ph.Register(ctx) }

// Unregister removes our own binding.
func (s *Service) Unregister(ctx context.Context) error { return s.ph.Unregister(ctx) }

// Shutdown hangs up every call, unregisters and stops; subscriptions close.
func (s *Service) Shutdown(ctx context.Context) error {
	s.devices.close()
	err := s.ph.Shutdown(ctx)
	s.stopJournal()
	s.policy.engine.Close()
	s.bus.CloseAll()
	return err
}

// Close stops at once.
func (s *Service) Close() error {
	s.devices.close()
	err := s.ph.Close()
	s.stopJournal()
	s.policy.engine.Close()
	s.bus.CloseAll()
	return err
}

// Hold puts a call on hold in the configured dialect.
func (s *Service) Hold(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.hold(id, true); ok {
		return err
	}
	return s.eachLeg(ctx, id, s.ph.HoldContext) // conference.go
}

// Resume takes a call off hold.
func (s *Service) Resume(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.hold(id, false); ok {
		return err
	}
	return s.eachLeg(ctx, id, s.ph.ResumeContext) // conference.go
}
