package anydevice

import (
	"fmt"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// SessionID identifies a session (one call across its legs) in this
// controller.
type SessionID string

// Kind says how a session started.
type Kind int

const (
	KindUnknown  Kind = iota
	KindCallback      // the user dialed out through a device
	KindFollowMe      // a call to the user's number rang the devices
)

func (k Kind) String() string {
	switch k {
	case KindCallback:
		return "callback"
	case KindFollowMe:
		return "follow-me"
	default:
		return "unknown"
	}
}

// MarshalText makes kinds readable in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// State is where a session stands.
type State int

const (
	StateIdle          State = iota
	StateDeviceRinging       // callback: leg A rings the device; follow-me: devices ring
	StateRemoteRinging       // callback: leg B rings the destination (ringback on A)
	StateConfirming          // follow-me: waiting for the confirm key on a device
	StateBridged             // both legs up, audio relayed
	StateEnded
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateDeviceRinging:
		return "device-ringing"
	case StateRemoteRinging:
		return "remote-ringing"
	case StateConfirming:
		return "confirming"
	case StateBridged:
		return "bridged"
	case StateEnded:
		return "ended"
	default:
		return fmt.Sprintf("State(%d)", int(s))
	}
}

// MarshalText makes states readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LegInfo is one leg of a session.
type LegInfo struct {
	Role   string         `json:"role"`             // "device" or "remote"
	Device string         `json:"device,omitempty"` // device name for device legs
	Call   phone.CallInfo `json:"call"`
	Dialed time.Time      `json:"dialed"`
	// Note says what the controller did with the leg: "voicemail" (fast
	// answer), "lost" (answered elsewhere), "declined", "moved".
	Note string `json:"note,omitempty"`
}

// SessionInfo is the full value of a session at one moment.
type SessionInfo struct {
	ID     SessionID `json:"id"`
	User   string    `json:"user"`
	Kind   Kind      `json:"kind"`
	State  State     `json:"state"`
	Remote string    `json:"remote"` // the other party: destination or caller
	// Device is the device carrying the call (the winner for follow-me).
	Device string `json:"device,omitempty"`
	Held   bool   `json:"held,omitempty"` // the user holds the remote party
	// Consulting is true while a consultation leg (role "consult") is up;
	// Talking then names the leg the device talks to ("remote" or
	// "consult"), Conference is true while all three are mixed.
	Consulting bool   `json:"consulting,omitempty"`
	Talking    string `json:"talking,omitempty"`
	Conference bool   `json:"conference,omitempty"`
	// Transferred is true once the user left: the remote party and the
	// consultation (or blind transfer) target talk through the relay.
	Transferred bool      `json:"transferred,omitempty"`
	Legs        []LegInfo `json:"legs"`
	Channels    int       `json:"channels"` // trunk channels this session uses now
	Created     time.Time `json:"created"`
	Answered    time.Time `json:"answered,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
	// End says why it ended ("remote-hangup", "device-hangup", "busy", ...).
	End string `json:"end,omitempty"`
}

// Event is the closed set of things a Controller reports.
type Event interface{ anydeviceEvent() }

// SessionChanged carries the full new value of a session.
type SessionChanged struct{ Session SessionInfo }

// SessionEnded is the one journal record of a whole session, sent once
// when it ended (after the last SessionChanged).
type SessionEnded struct{ Session SessionInfo }

// Refused reports a request the controller refused, with its rule.
type Refused struct {
	Time time.Time `json:"time"`
	User string    `json:"user"`
	Rule string    `json:"rule"`
	// Target is the destination asked for when a call was refused ("" for
	// refusals of other requests).
	Target string `json:"target,omitempty"`
	Detail string `json:"detail"`
}

// ActiveDeviceChanged reports a user's new active devices.
type ActiveDeviceChanged struct {
	User   string   `json:"user"`
	Active []string `json:"active"`
}

// DeviceChanged reports a user's device with a new target
// (SetDeviceTarget).
type DeviceChanged struct {
	User   string `json:"user"`
	Device Device `json:"device"`
}

// DTMF reports a digit relayed across a session.
type DTMF struct {
	Session SessionID `json:"session"`
	From    string    `json:"from"` // role of the leg that sent it
	Digit   rune      `json:"digit"`
}

// RequestOutcome reports how a request the controller sent on one of a
// user's legs ended (issue 17): a BYE, CANCEL, REFER, NOTIFY, re-INVITE,
// UPDATE or INFO to a device or a remote party that answered, stayed
// silent (timed out, given up) or vanished (transport error). It belongs
// to the session's user alone; it can come after the session ended (a
// BYE nobody answers is given up after Timer F).
type RequestOutcome struct {
	User    string    `json:"user"`
	Session SessionID `json:"session"`
	// Role is the leg's role ("device", "remote", "consult"); Device
	// names the device of a device leg.
	Role    string               `json:"role"`
	Device  string               `json:"device,omitempty"`
	Outcome phone.RequestOutcome `json:"outcome"`
}

// Leg names the leg for people: the device's name, else its role.
func (o RequestOutcome) Leg() string {
	if o.Device != "" {
		return o.Device
	}
	return o.Role
}

func (SessionChanged) anydeviceEvent()      {}
func (SessionEnded) anydeviceEvent()        {}
func (Refused) anydeviceEvent()             {}
func (ActiveDeviceChanged) anydeviceEvent() {}
func (DeviceChanged) anydeviceEvent()       {}
func (DTMF) anydeviceEvent()                {}
func (RequestOutcome) anydeviceEvent()      {}
