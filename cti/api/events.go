package api

import (
	"errors"
	"time"

	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone/vocab"
)

// HoldDialect is how a call is put on hold (sendonly, inactive, zero-ip).
type HoldDialect = vocab.HoldDialect

// Hold dialects.
const (
	HoldDefault  = vocab.HoldDefault
	HoldSendonly = vocab.HoldSendonly
	HoldInactive = vocab.HoldInactive
	HoldZeroIP   = vocab.HoldZeroIP
)

// ParseHoldDialect parses sendonly, inactive or zero-ip.
func ParseHoldDialect(s string) (HoldDialect, error) { return vocab.ParseHoldDialect(s) }

// ErrTransferPending is returned when a call already has a transfer under way.
var ErrTransferPending = vocab.ErrTransferPending

// SIPMessage is one SIP message of a call's ladder.
type SIPMessage = vocab.SIPMessage

// Dialog is a SIP dialog no call owns (REGISTER, OPTIONS, SUBSCRIBE) whose
// ladder the phone keeps.
type Dialog = vocab.Dialog

// TransferProgress reports a transfer we asked for: one per NOTIFY, then
// the outcome with Final set.
type TransferProgress struct {
	CallID CallID
	Target string
	Code   int
	Reason string
	Final  bool
	OK     bool
}

// ReferReceived reports a REFER from a peer; with TransferAsk, Pending
// means it waits for AcceptRefer or RejectRefer.
type ReferReceived struct {
	CallID     CallID
	ReferredBy string
	Target     string
	Replaces   bool
	Pending    bool
	Accepted   bool
}

// InitialHoldResult reports the dialect a call dialled on hold was
// accepted in, after the ones refused with 488.
type InitialHoldResult struct {
	CallID  CallID
	Dialect HoldDialect
	Tried   []HoldDialect
	OK      bool
}

// RequestOutcome reports how a request we sent ended (issue 17): Outcome
// is answered, timed_out, transport_error, not_sent or given_up; Code is
// the final status when answered; Text is the line the ladder shows
// ("BYE: timed out after 32 s"). CallID is empty outside a call.
type RequestOutcome struct {
	CallID  CallID
	Method  string
	Peer    string
	Outcome string
	Code    int
	Reason  string
	Seconds float64
	Text    string
}

// Failed reports whether the request got no answer, or a refusal.
func (o RequestOutcome) Failed() bool { return o.Outcome != "answered" || o.Code >= 300 }

func (TransferProgress) ctiEvent()  {}
func (ReferReceived) ctiEvent()     {}
func (InitialHoldResult) ctiEvent() {}
func (RequestOutcome) ctiEvent()    {}

// ErrNoJournal is returned by the journal methods of a Service built
// without Options.Journal.
var ErrNoJournal = errors.New("cti: no journal configured")

// JournalChanged is published after each call is recorded in the journal.
type JournalChanged struct {
	// Entry is this device's sighting of the call as recorded, with its
	// row id (another device's sighting of the same call may have been
	// merged into the row). It is zero when only the count changed (mark
	// read).
	Entry journal.Entry
	// UnreadMissed is the user's unread missed-call count after the write.
	UnreadMissed int
}

// PolicyDecision reports the busy policy's decision about an incoming call.
// It is published before the call's first CallChanged, so a frontend knows
// why a call rings silently, waits, or never rang. CallInfo.Rule carries the
// same rule (and the no-answer rule once that fired).
type PolicyDecision struct {
	CallID    CallID
	Decision  busy.Decision
	Secondary vocab.Secondary
	// NoAnswerAfter and NoAnswer are what happens if the call rings
	// unanswered that long (zero when no timeout is armed).
	NoAnswerAfter time.Duration
	NoAnswer      *busy.Decision
}

// PolicyChanged carries the full busy policy after SetPolicy or an
// override change (set, cleared, or expired on its own).
type PolicyChanged struct{ Policy busy.Policy }

// DialResult says where a dial went: a local call (CallID), or a callback
// through another device (Device and Session; CallID is empty, the call
// is not one of this phone's).
type DialResult struct {
	CallID  CallID `json:"call_id"`
	Device  string `json:"device,omitempty"`
	Session string `json:"session_id,omitempty"`
}

// CallbackPlaced is published when a dial became an AnyDevice callback:
// Device rings first, then To. The controller reports the session's
// progress; this Service has no call for it.
type CallbackPlaced struct {
	To      string
	Device  string
	Session string
}

func (CallbackPlaced) ctiEvent() {}

// DevicesChanged is published when the user's AnyDevice devices changed:
// another device became active (SetDevice) or a device rings a new target
// (SetDeviceTarget). It carries the whole new value.
type DevicesChanged struct {
	// Active are the active devices, first the one calls go to.
	Active []string
	// Devices are all of the user's devices.
	Devices []DeviceInfo
}

func (DevicesChanged) ctiEvent() {}

// DialOptions tunes Dial.
type DialOptions struct {
	// FromUser / FromDisplay override the identity we present.
	FromUser    string `json:"from_user,omitempty"`
	FromDisplay string `json:"from_display,omitempty"`
	// Headers are extra INVITE headers.
	Headers map[string]string `json:"headers,omitempty"`
}
