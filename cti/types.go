package cti

import "github.com/anyphone/anyphone/phone"

// The call data model is phone's: these aliases let frontends (ui, ctl) use it
// without importing phone, so phone stays an implementation detail of cti.
type (
	CallID    = phone.CallID
	CallInfo  = phone.CallInfo
	CallState = phone.CallState
	Direction = phone.Direction
	Party     = phone.Party
	EndCause  = phone.EndCause
	EndInfo   = phone.EndInfo
	RegInfo   = phone.RegInfo
	RegState  = phone.RegState
)

// Re-exported constants of the aliased enums.
const (
	CallIdle      = phone.CallIdle
	CallDialing   = phone.CallDialing
	CallRinging   = phone.CallRinging
	CallEarly     = phone.CallEarly
	CallIncoming  = phone.CallIncoming
	CallAnswering = phone.CallAnswering
	CallActive    = phone.CallActive
	CallEnding    = phone.CallEnding
	CallEnded     = phone.CallEnded

	Outgoing = phone.Outgoing
	Incoming = phone.Incoming

	RegUnregistered = phone.RegUnregistered
	RegRegistering  = phone.RegRegistering
	RegRegistered   = phone.RegRegistered
	RegRetrying     = phone.RegRetrying
	RegFailed       = phone.RegFailed
)

// RejectedError is a failed call as data (SIP code, phrase, Q.850 cause).
type RejectedError = phone.RejectedError

// Sentinel errors frontends may test with errors.Is.
var (
	ErrNoSuchCall = phone.ErrNoSuchCall
	ErrBadState   = phone.ErrBadState
)

// Event is the closed set of events a Subscription delivers.
type Event interface{ ctiEvent() }

// CallChanged carries the full new value of a call.
type CallChanged struct{ Call CallInfo }

// DTMFReceived reports one received digit.
type DTMFReceived struct {
	CallID CallID
	Digit  string
}

// MediaTimeout reports that an active call has received no RTP for a while.
type MediaTimeout struct {
	CallID  CallID
	Seconds float64
}

// RegistrationChanged carries the full new value of a registration.
type RegistrationChanged struct{ Reg RegInfo }

// NoticeLevel grades a Notice.
type NoticeLevel int

const (
	NoticeInfo NoticeLevel = iota
	NoticeWarn
	NoticeError
)

func (l NoticeLevel) String() string {
	switch l {
	case NoticeWarn:
		return "warn"
	case NoticeError:
		return "error"
	default:
		return "info"
	}
}

// MarshalText makes levels readable in JSON.
func (l NoticeLevel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Notice is a message for the user (audio fell back to null, a config value
// was ignored, ...).
type Notice struct {
	Level NoticeLevel
	Text  string
}

// Lagged tells a subscriber that it fell behind and events were dropped. The
// subscriber should take a fresh Snapshot.
type Lagged struct{ Dropped int }

func (CallChanged) ctiEvent()         {}
func (DTMFReceived) ctiEvent()        {}
func (MediaTimeout) ctiEvent()        {}
func (RegistrationChanged) ctiEvent() {}
func (Notice) ctiEvent()              {}
func (Lagged) ctiEvent()              {}
func (PolicyDecision) ctiEvent()      {}
func (PolicyChanged) ctiEvent()       {}
func (JournalChanged) ctiEvent()      {}

// Snapshot is the whole state a frontend needs to draw itself.
type Snapshot struct {
	Calls   []CallInfo `json:"calls"`
	Regs    []RegInfo  `json:"registrations"`
	Notices []Notice   `json:"notices,omitempty"`
}
