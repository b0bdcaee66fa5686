package api

import "github.com/anyphone/anyphone/phone/vocab"

// The call data model is phone/vocab's: these aliases let frontends (ui, ctl)
// use it without importing phone, so phone stays an implementation detail of
// cti.
type (
	CallID    = vocab.CallID
	CallInfo  = vocab.CallInfo
	CallState = vocab.CallState
	Direction = vocab.Direction
	Party     = vocab.Party
	EndCause  = vocab.EndCause
	EndInfo   = vocab.EndInfo
	// Diagnostic is a Lync / Skype for Business ms-diagnostics header.
	Diagnostic = vocab.Diagnostic
	RegInfo    = vocab.RegInfo
	RegState   = vocab.RegState
	// MessageSummary is the voicemail box's state (RFC 3842).
	MessageSummary = vocab.MessageSummary
)

// Re-exported constants of the aliased enums.
const (
	CallIdle      = vocab.CallIdle
	CallDialing   = vocab.CallDialing
	CallRinging   = vocab.CallRinging
	CallEarly     = vocab.CallEarly
	CallIncoming  = vocab.CallIncoming
	CallAnswering = vocab.CallAnswering
	CallActive    = vocab.CallActive
	CallEnding    = vocab.CallEnding
	CallEnded     = vocab.CallEnded

	Outgoing = vocab.Outgoing
	Incoming = vocab.Incoming

	RegUnregistered = vocab.RegUnregistered
	RegRegistering  = vocab.RegRegistering
	RegRegistered   = vocab.RegRegistered
	RegRetrying     = vocab.RegRetrying
	RegFailed       = vocab.RegFailed
)

// RejectedError is a failed call as data (SIP code, phrase, Q.850 cause).
type RejectedError = vocab.RejectedError

// Sentinel errors frontends may test with errors.Is.
var (
	ErrNoSuchCall = vocab.ErrNoSuchCall
	ErrBadState   = vocab.ErrBadState
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

// MessageWaiting carries the full new message-waiting state (RFC 3842
// message-summary): after every NOTIFY and every change of the
// subscription.
type MessageWaiting struct{ MWI MessageSummary }

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

// UnmarshalText parses the names String returns.
func (l *NoticeLevel) UnmarshalText(b []byte) error {
	switch string(b) {
	case "warn":
		*l = NoticeWarn
	case "error":
		*l = NoticeError
	default:
		*l = NoticeInfo
	}
	return nil
}

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
func (MessageWaiting) ctiEvent()      {}
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
	// MWI is the message-waiting state, nil while there is none.
	MWI *MessageSummary `json:"mwi,omitempty"`
	// Transport is the SIP transport of the line (udp, tcp, tls);
	// TLSInsecure says server certificates go unverified.
	Transport   string `json:"transport,omitempty"`
	TLSInsecure bool   `json:"tls_insecure,omitempty"`
}

// DeviceInfo is one of the user's AnyDevice devices.
type DeviceInfo struct {
	Name   string `json:"name"`             // desk, mobile, home, ...
	Target string `json:"target,omitempty"` // SIP URI or number it rings
	Local  bool   `json:"local,omitempty"`  // this softphone
}

// Q850Text is the ITU-T Q.850 text of a cause ("User busy" for 17).
func Q850Text(cause int) string { return vocab.Q850Text(cause) }
