package cti

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/anyphone/anyphone/anydevice"
)

// This file routes dialling between the local line and AnyDevice: while
// the user's first active device is this softphone (or no controller is
// set) Dial places a local call; otherwise the AnyDevice controller calls
// the active device first and then the destination (a callback), so the
// TUI, the control API and the endpoint all route the same way.

// DefaultLocalDevice is this softphone's device name when
// AnyDeviceRoute.Local is empty.
const DefaultLocalDevice = "desk"

// AnyDevice is what the Service needs from an AnyDevice controller to
// route a dial; *anydevice.Controller implements it.
type AnyDevice interface {
	ActiveDevices(userID string) ([]string, error)
	UserDevices(userID string) ([]anydevice.Device, error)
	SetActiveDevice(userID string, names ...string) error
	// SetDeviceTarget makes one of the user's devices ring target (a SIP
	// URI or a number) from now on.
	SetDeviceTarget(userID, name, target string) error
	Callback(ctx context.Context, userID, destination string, o anydevice.CallbackOptions) (anydevice.SessionID, error)
	// Subscribe and Status follow the user's sessions: they are calls of
	// the Service (devicecalls.go), and the commands below act on them.
	Subscribe(buf int) (<-chan anydevice.Event, func())
	Status(userID string) (anydevice.Status, error)
	Hangup(userID string, id anydevice.SessionID) error
	Hold(userID string, id anydevice.SessionID) error
	Resume(userID string, id anydevice.SessionID) error
	Consult(userID string, id anydevice.SessionID, target string) error
	EndConsult(userID string, id anydevice.SessionID) error
	Toggle(userID string, id anydevice.SessionID) error
	CompleteTransfer(userID string, id anydevice.SessionID) error
	Transfer(userID string, id anydevice.SessionID, target string) error
	Conference(userID string, id anydevice.SessionID) error
	Move(userID string, id anydevice.SessionID, device string) error
	// Ladder is the SIP messages of the session's legs, in time order.
	Ladder(userID string, id anydevice.SessionID) ([]SIPMessage, error)
}

var _ AnyDevice = (*anydevice.Controller)(nil)

// AnyDeviceRoute connects a Service to the user's AnyDevice controller.
type AnyDeviceRoute struct {
	// Controller places callbacks; nil turns routing off (every dial is
	// local).
	Controller AnyDevice
	// User is the user's id in the controller.
	User string
	// Local is this softphone's device name among the user's devices;
	// "" means DefaultLocalDevice.
	Local string
	// Numbers are the user's numbers at the controller: a call to one of
	// them that rings this softphone as a follow-me leg is the
	// controller's call, journaled once (devicecalls.go).
	Numbers []string
}

// SetAnyDevice routes Dial through r from now on (see DialRouted). A zero
// route turns routing off. It is safe to call at any time.
func (s *Service) SetAnyDevice(r AnyDeviceRoute) {
	if r.Local == "" {
		r.Local = DefaultLocalDevice
	}
	s.mu.Lock()
	s.route = r
	s.mu.Unlock()
	s.devices.watch(r)
}

// remoteDevice returns the device a dial goes through when it is not this
// softphone: the user's first active device.
func (s *Service) remoteDevice() (AnyDeviceRoute, string, bool) {
	s.mu.Lock()
	r := s.route
	s.mu.Unlock()
	if r.Controller == nil {
		return r, "", false
	}
	act, err := r.Controller.ActiveDevices(r.User)
	if err != nil || len(act) == 0 || strings.EqualFold(act[0], r.Local) {
		return r, "", false
	}
	return r, act[0], true
}

// Dial places a call: a local call while this softphone is the active
// device, else a callback through the active device (a call whose Device
// says which; DialRouted says more). It returns once the INVITE is under
// way.
func (s *Service) Dial(ctx context.Context, to string, o DialOptions) (CallID, error) {
	r, err := s.DialRouted(ctx, to, o)
	return r.CallID, err
}

// DialRouted is Dial reporting where the call went. A callback ignores
// o (the controller presents the user's office number) and publishes
// CallbackPlaced; a refusal by the controller is its *anydevice.RefusedError.
func (s *Service) DialRouted(ctx context.Context, to string, o DialOptions) (DialResult, error) {
	if strings.TrimSpace(to) == "" {
		return DialResult{}, errors.New("cti: dial: empty destination")
	}
	to = s.resolveContact(to)
	r, dev, remote := s.remoteDevice()
	if !remote {
		id, err := s.dialLocal(ctx, to, o)
		return DialResult{CallID: id}, err
	}
	sid, err := r.Controller.Callback(ctx, r.User, to, anydevice.CallbackOptions{Device: dev})
	if err != nil {
		return DialResult{}, err
	}
	res := DialResult{CallID: deviceCallID(sid), Device: dev, Session: string(sid)}
	s.publish(CallbackPlaced{To: to, Device: dev, Session: res.Session})
	return res, nil
}

// SetContacts names addresses a dial may use by name from every front end
// (the TUI's built-in echo and tone, the contacts file): Dial("echo")
// calls echo's URI.
func (s *Service) SetContacts(byName map[string]string) {
	s.mu.Lock()
	s.contacts = maps.Clone(byName)
	s.mu.Unlock()
}

// resolveContact returns the URI of a contact named to, else to.
func (s *Service) resolveContact(to string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uri, ok := s.contacts[strings.TrimSpace(to)]; ok {
		return uri
	}
	return to
}
