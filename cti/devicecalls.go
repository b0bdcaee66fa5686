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

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// deviceCallPrefix starts the CallID of a call carried by another device.
const deviceCallPrefix = "d"

func deviceCallID(sid anydevice.SessionID) CallID { return CallID(deviceCallPrefix + string(sid)) }

// sessionOf returns the session behind a device call's id.
func sessionOf(id CallID) (anydevice.SessionID, bool) {
	s, ok := strings.CutPrefix(string(id), deviceCallPrefix)
	return anydevice.SessionID(s), ok && s != ""
}

// deviceCalls keeps the user's device calls; guarded by Service.mu.
type deviceCalls struct {
	calls map[CallID]CallInfo
	stop  func() // ends the watcher of the current route
	done  chan struct{}
}

// watchDevices follows r's controller for r.User's sessions until stop.
// Called with s.mu held by SetAnyDevice.
func (s *Service) watchDevicesLocked(r AnyDeviceRoute) {
	if s.devices.stop != nil {
		s.devices.stop()
	}
	s.devices.stop, s.devices.done = nil, nil
	if r.Controller == nil {
		return
	}
	ch, unsub := r.Controller.Subscribe(256)
	quit := make(chan struct{})
	done := make(chan struct{})
	s.devices.stop = func() { unsub(); close(quit) }
	s.devices.done = done
	// The watcher: owned by the Service, ended by the next SetAnyDevice,
	// Shutdown or Close (stopDevices), which wait for it.
	go func() {
		defer close(done)
		// Sessions that began before we watched.
		if st, err := r.Controller.Status(r.User); err == nil {
			for _, si := range st.Sessions {
				s.deviceSession(r, si, false)
			}
		}
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
					s.deviceSession(r, e.Session, false)
				case anydevice.SessionEnded:
					s.deviceSession(r, e.Session, true)
				case anydevice.Refused:
					if e.User == r.User {
						s.Notify(NoticeWarn, "AnyDevice refused "+e.Target+": "+e.Rule+" ("+e.Detail+")")
					}
				}
			}
		}
	}()
}

// stopDevices ends the watcher and waits for it.
func (s *Service) stopDevices() {
	s.mu.Lock()
	stop, done := s.devices.stop, s.devices.done
	s.devices.stop, s.devices.done = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// deviceSession publishes a session of r.User as a call; ended is true for
// the session's last word (SessionEnded), which is journaled.
func (s *Service) deviceSession(r AnyDeviceRoute, si anydevice.SessionInfo, ended bool) {
	if si.User != r.User {
		return
	}
	ci := deviceCall(si)
	s.mu.Lock()
	if s.devices.calls == nil {
		s.devices.calls = map[CallID]CallInfo{}
	}
	prev, known := s.devices.calls[ci.ID]
	if ci.State == phone.CallEnded {
		delete(s.devices.calls, ci.ID)
	} else {
		s.devices.calls[ci.ID] = ci
	}
	s.mu.Unlock()
	if ci.State == phone.CallEnded && !ended {
		return // SessionEnded follows with the final value
	}
	if known && prev.State == phone.CallEnded {
		return
	}
	s.publish(CallChanged{Call: ci})
	if ended {
		if e := ci.End; e != nil && (e.Code >= 300 || e.Cause == phone.EndFailed) {
			s.Notify(NoticeWarn, fmt.Sprintf("call to %s via %s failed: %s", ci.Remote.User, deviceOr(ci), e.Text))
		}
		s.journalCall(ci)
	}
}

func deviceOr(ci CallInfo) string {
	if ci.Device == "" {
		return "the device"
	}
	return ci.Device
}

// deviceCall is a session as a call.
func deviceCall(si anydevice.SessionInfo) CallInfo {
	ci := CallInfo{
		ID:        deviceCallID(si.ID),
		Device:    si.Device,
		Direction: phone.Outgoing,
		Remote:    phone.Party{User: si.Remote, URI: si.Remote},
		LocalHold: si.Held,
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

// deviceCallsSnapshot lists the device calls in the order they began.
func (s *Service) deviceCallsSnapshot() []CallInfo {
	s.mu.Lock()
	out := make([]CallInfo, 0, len(s.devices.calls))
	for _, ci := range s.devices.calls {
		out = append(out, ci)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b CallInfo) int { return a.Created.Compare(b.Created) })
	return out
}

// deviceCall returns one device call.
func (s *Service) deviceCallInfo(id CallID) (CallInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, ok := s.devices.calls[id]
	return ci, ok
}

// onDevice runs f for a device call's session; ok is false for a call of
// this phone.
func (s *Service) onDevice(id CallID, f func(ad AnyDevice, user string, sid anydevice.SessionID) error) (err error, ok bool) {
	sid, isDev := sessionOf(id)
	if !isDev {
		return nil, false
	}
	s.mu.Lock()
	r := s.route
	_, known := s.devices.calls[id]
	s.mu.Unlock()
	if r.Controller == nil || !known {
		return ErrNoSuchCall, true
	}
	return translateDeviceErr(f(r.Controller, r.User, sid)), true
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
	s.mu.Lock()
	r := s.route
	s.mu.Unlock()
	if r.Controller == nil {
		return errors.New("cti: no AnyDevice controller")
	}
	return r.Controller.SetActiveDevice(r.User, name)
}

// Devices returns the user's active devices, first the one calls go to.
func (s *Service) Devices(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r := s.route
	s.mu.Unlock()
	if r.Controller == nil {
		return []string{r.Local}, nil
	}
	return r.Controller.ActiveDevices(r.User)
}
