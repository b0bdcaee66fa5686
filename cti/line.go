package cti

import (
	"github.com/anyphone/anyphone/cti/journal"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/api"
)

// Line is one user's side of a shared AnyDevice controller (`anyphone
// controller`): the same product API as a Service, for a user with no
// phone of its own here. Every call is carried by one of the user's
// devices; dialling places a callback through the active device; calls to
// the user's numbers show as they ring the devices. The control protocol
// serves it like a Service (cti/ctl), so `anyphone ctl --user alice` drives
// a shared controller as it drives a TUI. The controller keeps the journal.
type Line struct {
	user string
	ad   AnyDevice
	log  *slog.Logger
	bus  api.Bus
	t    deviceTracker

	mu    sync.Mutex
	notes []Notice
	j     *journal.Journal // the controller's, shared by its users; nil: none (guarded by mu)
}

// ErrOnDevice refuses what only the device can do (answer, DTMF, mute); it
// is an ErrBadState (the control protocol's bad_state).
var ErrOnDevice = fmt.Errorf("%w: do this on the device that carries the call", ErrBadState)

// errControllerRegisters answers register and unregister on a Line.
var errControllerRegisters = fmt.Errorf("%w: the controller registers the users' numbers itself", ErrBadState)

// NewLine follows user's sessions at ad until Close.
func NewLine(ad AnyDevice, user string, log *slog.Logger) *Line {
	if log == nil {
		log = slog.Default()
	}
	l := &Line{user: user, ad: ad, log: log}
	l.t.publish, l.t.notify = l.bus.Publish, l.Notify
	l.t.watch(AnyDeviceRoute{Controller: ad, User: user})
	return l
}

// Close stops following the user's sessions; subscriptions close.
func (l *Line) Close() {
	l.t.close()
	l.bus.CloseAll()
}

// Notify publishes a notice and keeps it in the Snapshot.
func (l *Line) Notify(level NoticeLevel, text string) {
	n := Notice{Level: level, Text: text}
	l.mu.Lock()
	l.notes = append(l.notes, n)
	if len(l.notes) > 20 {
		l.notes = l.notes[len(l.notes)-20:]
	}
	l.mu.Unlock()
	l.bus.Publish(n)
}

// Dial places a callback through the user's active device.
func (l *Line) Dial(ctx context.Context, to string, o DialOptions) (CallID, error) {
	r, err := l.DialRouted(ctx, to, o)
	return r.CallID, err
}

// DialRouted is Dial reporting the device and the session.
func (l *Line) DialRouted(ctx context.Context, to string, _ DialOptions) (DialResult, error) {
	act, err := l.ad.ActiveDevices(l.user)
	if err != nil {
		return DialResult{}, err
	}
	dev := ""
	if len(act) > 0 {
		dev = act[0]
	}
	sid, err := l.ad.Callback(ctx, l.user, to, anydevice.CallbackOptions{Device: dev})
	if err != nil {
		return DialResult{}, err
	}
	l.bus.Publish(CallbackPlaced{To: to, Device: dev, Session: string(sid)})
	return DialResult{CallID: deviceCallID(sid), Device: dev, Session: string(sid)}, nil
}

func (l *Line) Answer(context.Context, CallID) error { return ErrOnDevice }
func (l *Line) Reject(context.Context, CallID, int, string) error {
	return ErrOnDevice
}

// Hangup ends a call (a consultation alone when id is one).
func (l *Line) Hangup(ctx context.Context, id CallID) error {
	return l.each(id, func(ad AnyDevice, user string, sid anydevice.SessionID, consult bool) error {
		if consult {
			return ad.EndConsult(user, sid)
		}
		return ad.Hangup(user, sid)
	})
}

// HangupAll ends every call.
func (l *Line) HangupAll(ctx context.Context) error {
	var errs []error
	for _, c := range l.t.snapshot() {
		if err := l.Hangup(ctx, c.ID); err != nil && !errors.Is(err, ErrNoSuchCall) {
			errs = append(errs, fmt.Errorf("hangup %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (l *Line) SendDTMF(context.Context, CallID, string) error { return ErrOnDevice }
func (l *Line) Mute(context.Context, CallID, bool) error       { return ErrOnDevice }

// Register and Unregister: the controller registers the users' numbers.
func (l *Line) Register(context.Context) error   { return errControllerRegisters }
func (l *Line) Unregister(context.Context) error { return errControllerRegisters }

// Snapshot returns the user's calls and recent notices.
func (l *Line) Snapshot() Snapshot {
	snap := Snapshot{Calls: l.t.snapshot()}
	l.mu.Lock()
	snap.Notices = append([]Notice(nil), l.notes...)
	l.mu.Unlock()
	return snap
}

// Subscribe returns a subscription to every event from now on.
func (l *Line) Subscribe() *Subscription { return l.bus.Subscribe(256) }

// Call returns one call.
func (l *Line) Call(id CallID) (CallInfo, bool) { return l.t.call(id) }

// Ladder is the SIP messages of a call's legs at the controller.
func (l *Line) Ladder(id CallID) []SIPMessage {
	msgs, _ := l.t.ladder(id)
	return msgs
}

func (l *Line) Hold(ctx context.Context, id CallID) error { return l.held(id, true) }
func (l *Line) HoldWith(ctx context.Context, id CallID, _ HoldDialect) error {
	return l.held(id, true) // each leg is held in its device's own dialect
}
func (l *Line) Resume(ctx context.Context, id CallID) error { return l.held(id, false) }

func (l *Line) held(id CallID, on bool) error {
	if err, ok := l.t.hold(id, on); ok {
		return err
	}
	return ErrNoSuchCall
}

func (l *Line) Transfer(ctx context.Context, id CallID, target string) error {
	return l.each(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Transfer(user, sid, target)
	})
}

// Consult calls target; the consultation is a call of its own.
func (l *Line) Consult(ctx context.Context, id CallID, target string) (CallID, error) {
	var cid CallID
	err := l.each(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		cid = consultCallID(sid)
		return ad.Consult(user, sid, target)
	})
	return cid, err
}

func (l *Line) Toggle(ctx context.Context, id CallID) error {
	return l.each(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Toggle(user, sid)
	})
}

func (l *Line) CompleteTransfer(ctx context.Context, heldID, _ CallID) error {
	return l.each(heldID, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.CompleteTransfer(user, sid)
	})
}

func (l *Line) Conference(ctx context.Context, a, _ CallID) error {
	return l.each(a, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Conference(user, sid)
	})
}

func (l *Line) Split(context.Context, CallID) error       { return ErrBadState }
func (l *Line) AcceptRefer(context.Context, CallID) error { return ErrBadState }
func (l *Line) RejectRefer(context.Context, CallID) error { return ErrBadState }

// SetDevice makes name the user's active device.
func (l *Line) SetDevice(ctx context.Context, name string) error { return l.t.setDevice(name) }

// SetDeviceTarget makes the user's device name ring target from now on.
func (l *Line) SetDeviceTarget(ctx context.Context, name, target string) error {
	return l.t.setDeviceTarget(name, target)
}

// Devices returns the user's active devices.
func (l *Line) Devices(ctx context.Context) ([]string, error) { return l.t.devices() }

// DeviceList returns the user's devices.
func (l *Line) DeviceList(ctx context.Context) ([]DeviceInfo, error) { return l.t.deviceList() }

// Move carries a call over to another device.
func (l *Line) Move(ctx context.Context, id CallID, device string) error { return l.t.move(id, device) }

// each runs f for id's session, or says there is no such call.
func (l *Line) each(id CallID, f func(ad AnyDevice, user string, sid anydevice.SessionID, consult bool) error) error {
	if err, ok := l.t.on(id, f); ok {
		return err
	}
	return fmt.Errorf("call %s: %w", id, ErrNoSuchCall)
}
