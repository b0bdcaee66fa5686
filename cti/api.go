package cti

import "github.com/anyphone/anyphone/cti/api"

// The words of the product API (call data, events, Snapshot, Subscription,
// DialOptions, sentinels) live in cti/api, which links no SIP library, so
// front ends (ui, cti/ctl) can use them without linking sipgo and diago.
// These aliases keep cti.X working for code that holds a *Service.

type (
	CallChanged         = api.CallChanged
	CallID              = api.CallID
	CallInfo            = api.CallInfo
	CallState           = api.CallState
	CallbackPlaced      = api.CallbackPlaced
	DTMFReceived        = api.DTMFReceived
	DialOptions         = api.DialOptions
	DeviceInfo          = api.DeviceInfo
	DevicesChanged      = api.DevicesChanged
	DialResult          = api.DialResult
	Direction           = api.Direction
	EndCause            = api.EndCause
	EndInfo             = api.EndInfo
	Event               = api.Event
	HoldDialect         = api.HoldDialect
	InitialHoldResult   = api.InitialHoldResult
	Redirected          = api.Redirected
	JournalChanged      = api.JournalChanged
	Lagged              = api.Lagged
	MediaTimeout        = api.MediaTimeout
	MessageSummary      = api.MessageSummary
	MessageWaiting      = api.MessageWaiting
	Notice              = api.Notice
	NoticeLevel         = api.NoticeLevel
	Party               = api.Party
	PolicyChanged       = api.PolicyChanged
	PresenceChanged     = api.PresenceChanged
	OwnPresenceChanged  = api.OwnPresenceChanged
	PolicyDecision      = api.PolicyDecision
	ReferReceived       = api.ReferReceived
	RegInfo             = api.RegInfo
	RequestOutcome      = api.RequestOutcome
	RegState            = api.RegState
	RegistrationChanged = api.RegistrationChanged
	RejectedError       = api.RejectedError
	SIPMessage          = api.SIPMessage
	Dialog              = api.Dialog
	Snapshot            = api.Snapshot
	Subscription        = api.Subscription
	TransferProgress    = api.TransferProgress
)

const (
	CallIdle        = api.CallIdle
	CallDialing     = api.CallDialing
	CallRinging     = api.CallRinging
	CallEarly       = api.CallEarly
	CallIncoming    = api.CallIncoming
	CallAnswering   = api.CallAnswering
	CallActive      = api.CallActive
	CallEnding      = api.CallEnding
	CallEnded       = api.CallEnded
	Incoming        = api.Incoming
	Outgoing        = api.Outgoing
	HoldDefault     = api.HoldDefault
	HoldSendonly    = api.HoldSendonly
	HoldInactive    = api.HoldInactive
	HoldZeroIP      = api.HoldZeroIP
	NoticeInfo      = api.NoticeInfo
	NoticeWarn      = api.NoticeWarn
	NoticeError     = api.NoticeError
	RegUnregistered = api.RegUnregistered
	RegRegistering  = api.RegRegistering
	RegRegistered   = api.RegRegistered
	RegRetrying     = api.RegRetrying
	RegFailed       = api.RegFailed
)

// Sentinel errors front ends may test with errors.Is.
var (
	ErrNoSuchCall      = api.ErrNoSuchCall
	ErrBadState        = api.ErrBadState
	ErrTransferPending = api.ErrTransferPending
	ErrNoJournal       = api.ErrNoJournal
)

// ParseHoldDialect parses sendonly, inactive or zero-ip.
func ParseHoldDialect(s string) (HoldDialect, error) { return api.ParseHoldDialect(s) }
