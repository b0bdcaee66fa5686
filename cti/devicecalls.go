package cti

// Calls carried by another device. An AnyDevice session (a callback through
// the mobile, a follow-me call the home phone took) is a cti call like a
// desk call: it has an ID ("d" + the session id), a Device, a state, the
// same CallChanged events, a place in Snapshot, and the commands work on it
// (hang up, hold and resume, consult, toggle, transfer, conference, move).
// The controller carries them out on its legs. One journal row records each
// when it ends, with its device and, for a failed one, who failed and why.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// deviceCallPrefix starts the CallID of a call carried by another device;
// consultSuffix ends the id of its consultation, which is a call of its
// own for the user (held or active, like a desk consultation).
const (
	deviceCallPrefix = "d"
	consultSuffix    = ".c"
)

func deviceCallID(sid anydevice.SessionID) CallID { return CallID(deviceCallPrefix + string(sid)) }

func consultCallID(sid anydevice.SessionID) CallID { return deviceCallID(sid) + consultSuffix }

// sessionOf returns the session behind a device call's id, and whether the
// id is the session's consultation.
func sessionOf(id CallID) (sid anydevice.SessionID, consult, ok bool) {
	s, ok := strings.CutPrefix(string(id), deviceCallPrefix)
	s, consult = strings.CutSuffix(s, consultSuffix)
	return anydevice.SessionID(s), consult, ok && s != ""
}

// deviceTracker follows one user's sessions at a controller as calls.
// The Service has one (calls on the user's other devices beside its own);
// a Line (line.go) is nothing else. It publishes through the callbacks its
// owner gives; its own mutex guards its maps.
type deviceTracker struct {
	publish func(Event)
	notify  func(NoticeLevel, string)
	journal func(CallInfo) // nil: the owner keeps no journal

	mu    sync.Mutex
	route AnyDeviceRoute
	calls map[CallID]CallInfo
	// over lists the calls published as ended (and journaled): a session
	// may go on after the user's part ended (a transfer), but the user's
	// call ended once.
	over map[CallID]bool
	stop func() // ends the watcher of the current route
	done chan struct{}
}

// watch follows r's controller for r.User's sessions from now on (the
// previous route's watcher is told to stop).
func (t *deviceTracker) watch(r AnyDeviceRoute) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		t.stop()
	}
	t.route, t.calls, t.over = r, nil, nil
	t.stop, t.done = nil, nil
	if r.Controller == nil {
		return
	}
	ch, unsub := r.Controller.Subscribe(256)
	quit := make(chan struct{})
	done := make(chan struct{})
	t.stop = func() { unsub(); close(quit) }
	t.done = done
	// The watcher: owned by the tracker, ended by the next watch or by
	// close, which waits for it.
	go func() {
		defer close(done)
		// Sessions that began before we watched.
		if st, err := r.Controller.Status(r.User); err == nil {
			for _, si := range st.Sessions {
				t.session(r, si, false)
			}
		}
		t.devicesChanged(r) // the devices of this route
		for {
			select {
			case <-quit:
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				switch e := ev.(type) {
				case anydevice.SessionChanged:
					t.session(r, e.Session, false)
				case anydevice.SessionEnded:
					t.session(r, e.Session, true)
				case anydevice.ActiveDeviceChanged:
					if e.User == r.User {
						t.devicesChanged(r)
					}
				case anydevice.DeviceChanged:
					if e.User == r.User {
						t.devicesChanged(r)
					}
				case anydevice.RequestOutcome:
					if e.User == r.User {
						t.publish(deviceOutcome(e))
					}
				case anydevice.Refused:
					if e.User == r.User && e.Target != "" {
						t.notify(NoticeWarn, "AnyDevice refused "+e.Target+": "+e.Rule+" ("+e.Detail+")")
					} else if e.User == r.User {
						t.notify(NoticeWarn, "AnyDevice refused "+e.Detail+": "+e.Rule)
					}
				}
			}
		}
	}()
}

// deviceOutcome is the outcome of a request the controller sent on one of
// a device call's legs, as the user's own: the call is the device call (or
// its consultation), the text names the leg ("mobile: BYE: timed out after
// 32 s").
func deviceOutcome(e anydevice.RequestOutcome) RequestOutcome {
	id := deviceCallID(e.Session)
	if e.Role == "consult" {
		id = consultCallID(e.Session)
	}
	o := midcallEvent(e.Outcome).(RequestOutcome)
	o.CallID = id
	if leg := e.Leg(); leg != "" {
		o.Text = leg + ": " + o.Text
	}
	return o
}

// close ends the watcher and waits for it.
func (t *deviceTracker) close() {
	t.mu.Lock()
	stop, done := t.stop, t.done
	t.stop, t.done = nil, nil
	t.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// session publishes a session of r.User as calls (the call and, while
// there is one, its consultation); last is true for the session's last
// word (SessionEnded). Every call is journaled once, when it ends.
func (t *deviceTracker) session(r AnyDeviceRoute, si anydevice.SessionInfo, last bool) {
	if si.User != r.User {
		return
	}
	local := r.Local != "" && localCarries(si, r.Local)
	for _, ci := range deviceCalls(si, last) {
		if local {
			// This softphone rings or carries it: its own call is the one
			// the user sees and the journal keeps.
			t.mu.Lock()
			_, known := t.calls[ci.ID]
			delete(t.calls, ci.ID)
			t.mu.Unlock()
			if known {
				gone := ci
				gone.State, gone.End = phone.CallEnded, &phone.EndInfo{Cause: phone.EndAnsweredElsewhere, Text: "on " + r.Local}
				t.publish(CallChanged{Call: gone})
			}
			continue
		}
		if ci.State == phone.CallEnded && !last && si.State == anydevice.StateEnded {
			continue // SessionEnded follows with the final value
		}
		t.mu.Lock()
		if t.calls == nil {
			t.calls, t.over = map[CallID]CallInfo{}, map[CallID]bool{}
		}
		if t.over[ci.ID] {
			t.mu.Unlock()
			continue
		}
		_, known := t.calls[ci.ID]
		if ci.State == phone.CallEnded {
			delete(t.calls, ci.ID)
			t.over[ci.ID] = true
		} else {
			t.calls[ci.ID] = ci
		}
		t.mu.Unlock()
		if ci.State == phone.CallEnded && !known && strings.HasSuffix(string(ci.ID), consultSuffix) {
			continue // a consultation the user never saw
		}
		t.publish(CallChanged{Call: ci})
		if ci.State != phone.CallEnded {
			continue
		}
		if e := ci.End; e != nil && (e.Code >= 300 || e.Cause == phone.EndFailed) {
			t.notify(NoticeWarn, fmt.Sprintf("call to %s via %s failed: %s", partyName(ci.Remote), deviceOr(ci), e.Text))
		}
		if t.journal != nil {
			t.journal(ci)
		}
	}
}

// snapshot lists the device calls in the order they began.
func (t *deviceTracker) snapshot() []CallInfo {
	t.mu.Lock()
	out := make([]CallInfo, 0, len(t.calls))
	for _, ci := range t.calls {
		out = append(out, ci)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b CallInfo) int { return a.Created.Compare(b.Created) })
	return out
}

// call returns one device call.
func (t *deviceTracker) call(id CallID) (CallInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ci, ok := t.calls[id]
	return ci, ok
}

// on runs f for a device call's session (consult: the id is the session's
// consultation); ok is false for an id that is not a device call's.
func (t *deviceTracker) on(id CallID, f func(ad AnyDevice, user string, sid anydevice.SessionID, consult bool) error) (err error, ok bool) {
	sid, consult, isDev := sessionOf(id)
	if !isDev {
		return nil, false
	}
	t.mu.Lock()
	r := t.route
	_, known := t.calls[id]
	t.mu.Unlock()
	if r.Controller == nil || !known {
		return ErrNoSuchCall, true
	}
	return translateDeviceErr(f(r.Controller, r.User, sid, consult)), true
}

// hold holds (on) or resumes a device call. With a consultation the user
// talks to one party at a time: holding the one talked to, or resuming the
// one parked, swaps them (the controller's toggle).
func (t *deviceTracker) hold(id CallID, on bool) (error, bool) {
	return t.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, consult bool) error {
		ci, _ := t.call(id)
		if _, hasConsult := t.call(consultCallID(sid)); hasConsult || consult {
			if ci.LocalHold == on {
				return nil
			}
			return ad.Toggle(user, sid)
		}
		if on {
			return ad.Hold(user, sid)
		}
		return ad.Resume(user, sid)
	})
}

// setDevice makes name the user's active device; "desk,mobile" makes both
// active (the first carries callbacks, all ring for calls to the user,
// where the user's policy allows simultaneous ring).
func (t *deviceTracker) setDevice(name string) error {
	t.mu.Lock()
	r := t.route
	t.mu.Unlock()
	if r.Controller == nil {
		return errors.New("cti: no AnyDevice controller")
	}
	var names []string
	for n := range strings.SplitSeq(name, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return errors.New("device: missing")
	}
	return r.Controller.SetActiveDevice(r.User, names...)
}

// devicesChanged publishes r.User's devices as they are now.
func (t *deviceTracker) devicesChanged(r AnyDeviceRoute) {
	act, err := r.Controller.ActiveDevices(r.User)
	if err != nil {
		return
	}
	devs, err := r.Controller.UserDevices(r.User)
	if err != nil {
		return
	}
	t.publish(DevicesChanged{Active: act, Devices: deviceInfos(r, devs)})
}

// setDeviceTarget makes the user's device name ring target. This
// softphone's address is not the controller's to change.
func (t *deviceTracker) setDeviceTarget(name, target string) error {
	t.mu.Lock()
	r := t.route
	t.mu.Unlock()
	switch {
	case r.Controller == nil:
		return errors.New("cti: no AnyDevice controller")
	case r.Local != "" && strings.EqualFold(name, r.Local):
		return fmt.Errorf("%s is this softphone, its address is the SIP account's: %w", r.Local, ErrBadState)
	}
	return r.Controller.SetDeviceTarget(r.User, name, target)
}

// devices returns the user's active devices (local alone without a
// controller).
func (t *deviceTracker) devices() ([]string, error) {
	t.mu.Lock()
	r := t.route
	t.mu.Unlock()
	if r.Controller == nil {
		return []string{r.Local}, nil
	}
	return r.Controller.ActiveDevices(r.User)
}

// deviceList returns the user's devices (this softphone alone without a
// controller).
func (t *deviceTracker) deviceList() ([]DeviceInfo, error) {
	t.mu.Lock()
	r := t.route
	t.mu.Unlock()
	if r.Controller == nil {
		return []DeviceInfo{{Name: r.Local, Local: true}}, nil
	}
	devs, err := r.Controller.UserDevices(r.User)
	if err != nil {
		return nil, err
	}
	return deviceInfos(r, devs), nil
}

// deviceInfos are the controller's devices as r's user sees them.
func deviceInfos(r AnyDeviceRoute, devs []anydevice.Device) []DeviceInfo {
	out := make([]DeviceInfo, 0, len(devs))
	for _, d := range devs {
		out = append(out, DeviceInfo{Name: d.Name, Target: d.Target, Local: r.Local != "" && strings.EqualFold(d.Name, r.Local)})
	}
	return out
}

// ladder is the SIP ladder of a device call: its session's legs (the
// consultation's call shows the whole session too).
func (t *deviceTracker) ladder(id CallID) ([]SIPMessage, bool) {
	var msgs []SIPMessage
	_, ok := t.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		var err error
		msgs, err = ad.Ladder(user, sid)
		return err
	})
	return msgs, ok
}

// move carries a device call over to another device.
func (t *deviceTracker) move(id CallID, device string) error {
	if err, ok := t.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Move(user, sid, device)
	}); ok {
		return err
	}
	return fmt.Errorf("move %s: %w (only calls on another device move)", id, ErrBadState)
}

// localCarries reports whether this softphone (device local) carries the
// session, or rings for it while nobody answered.
func localCarries(si anydevice.SessionInfo, local string) bool {
	if si.Device != "" {
		return strings.EqualFold(si.Device, local)
	}
	for _, l := range si.Legs {
		if l.Role == "device" && strings.EqualFold(l.Device, local) && l.Call.State != phone.CallEnded {
			return true
		}
	}
	return false
}

// forkedLeg reports whether an ended local call is a follow-me leg of one
// of the user's numbers that was not answered here: the controller's
// session (a device call) records that call.
func (s *Service) forkedLeg(ci CallInfo) bool {
	if ci.Direction != phone.Incoming || !ci.Answered.IsZero() {
		return false
	}
	s.mu.Lock()
	nums := s.route.Numbers
	s.mu.Unlock()
	if len(nums) == 0 {
		return false
	}
	sec := phone.ClassifySecondary(ci.Headers, ci.Local.URI)
	if sec.Kind != phone.SecondaryForked {
		return false
	}
	for _, n := range nums {
		if phone.SameAOR(sec.For.URI, "tel:"+n) || sec.For.User == n {
			return true
		}
	}
	return false
}

func deviceOr(ci CallInfo) string {
	if ci.Device == "" {
		return "the device"
	}
	return ci.Device
}

// deviceCalls is a session as the user's calls: the call itself and,
// while the user consults, the consultation. last marks the session's
// final value, where every call of it ends.
func deviceCalls(si anydevice.SessionInfo, last bool) []CallInfo {
	main := deviceCall(si)
	var cons *anydevice.LegInfo
	for i := range si.Legs {
		if si.Legs[i].Role == "consult" {
			cons = &si.Legs[i] // the newest
		}
	}
	if si.Transferred && main.State != phone.CallEnded {
		// The user left: the remote party and the target talk on.
		main.State, main.Ended = phone.CallEnded, time.Now()
		main.End = &phone.EndInfo{Cause: phone.EndTransferred, Text: "transferred"}
		if cons != nil {
			main.End.Text = "transferred to " + partyName(cons.Call.Remote)
		}
	}
	if cons == nil {
		return []CallInfo{main}
	}
	c := CallInfo{
		ID:        consultCallID(si.ID),
		Device:    main.Device,
		Direction: phone.Outgoing,
		Remote:    cons.Call.Remote,
		State:     cons.Call.State,
		Codec:     cons.Call.Codec,
		Created:   cons.Dialed,
		Answered:  cons.Call.Answered,
		Ended:     cons.Call.Ended,
		End:       cons.Call.End,
		Rule:      "anydevice:consult",
	}
	if c.State == phone.CallIdle {
		c.State = phone.CallDialing
	}
	if si.Conference {
		c.Conference, main.Conference = main.ID, c.ID
	}
	c.LocalHold = si.Consulting && si.Talking != "consult" && !si.Conference
	if (si.Transferred || main.State == phone.CallEnded || last) && c.State != phone.CallEnded {
		c.State, c.Ended = phone.CallEnded, time.Now()
		c.End = &phone.EndInfo{Cause: phone.EndTransferred, Text: "transferred"}
		if main.End != nil && main.End.Cause != phone.EndTransferred {
			c.End = main.End
		}
	}
	return []CallInfo{main, c}
}

func partyName(p phone.Party) string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.User != "":
		return p.User
	}
	return p.URI
}

// deviceCall is a session as a call.
func deviceCall(si anydevice.SessionInfo) CallInfo {
	ci := CallInfo{
		ID:        deviceCallID(si.ID),
		Device:    si.Device,
		Direction: phone.Outgoing,
		Remote:    phone.Party{User: si.Remote, URI: si.Remote},
		// The remote party waits on hold while the user holds it, or
		// talks to the consultation.
		LocalHold: si.Held || (si.Consulting && si.Talking == "consult" && !si.Conference),
		Created:   si.Created,
		Answered:  si.Answered,
		Ended:     si.Ended,
		Rule:      "anydevice:" + si.Kind.String(),
	}
	if si.Kind == anydevice.KindFollowMe {
		ci.Direction = phone.Incoming
	}
	var ringing []string
	for _, l := range si.Legs {
		switch l.Role {
		case "remote":
			ci.Remote = l.Call.Remote
			if si.Kind == anydevice.KindCallback && ci.Remote.User == "" {
				ci.Remote.User = si.Remote
			}
			ci.Codec = l.Call.Codec
			ci.RemoteHold = l.Call.RemoteHold
			if ci.Headers == nil {
				ci.Headers = l.Call.Headers
			}
		case "device":
			if l.Call.State != phone.CallEnded && l.Device != "" && !slices.Contains(ringing, l.Device) {
				ringing = append(ringing, l.Device)
			}
		}
	}
	if ci.Device == "" {
		ci.Device = strings.Join(ringing, "+")
	}
	switch si.State {
	case anydevice.StateIdle, anydevice.StateDeviceRinging:
		ci.State = phone.CallDialing
		if ci.Direction == phone.Incoming {
			ci.State = phone.CallIncoming
		}
	case anydevice.StateRemoteRinging:
		ci.State = phone.CallRinging
	case anydevice.StateConfirming:
		ci.State = phone.CallIncoming
	case anydevice.StateBridged:
		ci.State = phone.CallActive
	case anydevice.StateEnded:
		ci.State = phone.CallEnded
		ci.End = deviceEnd(si)
	}
	return ci
}

// deviceEnd says why a session ended: the leg its End names (its SIP code,
// phrase and Q.850 cause), and who that was.
func deviceEnd(si anydevice.SessionInfo) *phone.EndInfo {
	role, _, _ := strings.Cut(si.End, "-")
	if si.End == "hangup" {
		return &phone.EndInfo{Cause: phone.EndLocalHangup, Text: "hung up"}
	}
	var leg *anydevice.LegInfo
	for i := range si.Legs {
		l := &si.Legs[i]
		if l.Role == role && l.Call.End != nil && (leg == nil || l.Call.End.Code > leg.Call.End.Code) {
			leg = l
		}
	}
	who := role
	switch role {
	case "device":
		who = si.Device
		if leg != nil && leg.Device != "" {
			who = leg.Device
		}
		if who == "" {
			who = "the device"
		}
	case "remote":
		who = si.Remote
	}
	end := &phone.EndInfo{Cause: phone.EndRemoteHangup, Text: who + ": " + si.End}
	if leg != nil {
		e := *leg.Call.End
		end.Cause, end.Code, end.Reason, end.Q850 = e.Cause, e.Code, e.Reason, e.Q850
		if e.Code >= 300 {
			end.Text = fmt.Sprintf("%s: %d %s", who, e.Code, e.Reason)
		}
		if e.Q850 != 0 {
			end.Text += fmt.Sprintf(" (Q.850 %d %s)", e.Q850, phone.Q850Text(e.Q850))
		}
	}
	if si.Answered.IsZero() && end.Code == 0 && end.Cause == phone.EndRemoteHangup {
		end.Cause = phone.EndFailed
	}
	return end
}

// translateDeviceErr maps the controller's errors onto cti's.
func translateDeviceErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, anydevice.ErrNoSuchSession):
		return fmt.Errorf("%w: %w", ErrNoSuchCall, err)
	case errors.Is(err, anydevice.ErrBadState):
		return fmt.Errorf("%w: %w", ErrBadState, err)
	}
	return err
}

// SetDevice makes name the user's active device (desk, mobile, home, ...):
// calls placed from now on ring it first, and calls to the user follow it.
func (s *Service) SetDevice(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.devices.setDevice(name)
}

// SetDeviceTarget makes the user's device name (mobile, home, ...) ring
// target, a SIP URI or a number, from now on; the controller checks it
// against the user's policy and keeps it across restarts. This
// softphone's own device is refused (ErrBadState).
func (s *Service) SetDeviceTarget(ctx context.Context, name, target string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.devices.setDeviceTarget(name, target)
}

// Devices returns the user's active devices, first the one calls go to.
func (s *Service) Devices(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.devices.devices()
}

// DeviceList returns the user's devices.
func (s *Service) DeviceList(ctx context.Context) ([]DeviceInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.devices.deviceList()
}
