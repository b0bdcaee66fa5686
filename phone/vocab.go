package phone

import "github.com/anyphone/anyphone/phone/vocab"

// The call vocabulary lives in phone/vocab, which imports no SIP library, so
// that packages which only talk about calls (cti/busy, cti/journal, ui) do not
// link sipgo and diago. These aliases and re-exports keep phone.X working for
// code built on phone (anydevice, cti, cmd).

type (
	CallID            = vocab.CallID
	CallInfo          = vocab.CallInfo
	CallState         = vocab.CallState
	CallStatus        = vocab.CallStatus
	Direction         = vocab.Direction
	DiversionEntry    = vocab.DiversionEntry
	EndCause          = vocab.EndCause
	EndInfo           = vocab.EndInfo
	HeaderSyntaxError = vocab.HeaderSyntaxError
	HistoryInfoEntry  = vocab.HistoryInfoEntry
	HoldDialect       = vocab.HoldDialect
	Party             = vocab.Party
	ReasonHeader      = vocab.ReasonHeader
	ReasonSyntaxError = vocab.ReasonSyntaxError
	RegInfo           = vocab.RegInfo
	RegState          = vocab.RegState
	RejectedError     = vocab.RejectedError
	ScreenAction      = vocab.ScreenAction
	ScreenFunc        = vocab.ScreenFunc
	Screening         = vocab.Screening
	Secondary         = vocab.Secondary
	SecondaryKind     = vocab.SecondaryKind
	Secret            = vocab.Secret
	SIPMessage        = vocab.SIPMessage
	Dialog            = vocab.Dialog
)

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

	DirectionUnknown = vocab.DirectionUnknown
	Outgoing         = vocab.Outgoing
	Incoming         = vocab.Incoming

	EndUnknown           = vocab.EndUnknown
	EndLocalHangup       = vocab.EndLocalHangup
	EndRemoteHangup      = vocab.EndRemoteHangup
	EndRejected          = vocab.EndRejected
	EndCallerCancelled   = vocab.EndCallerCancelled
	EndAnsweredElsewhere = vocab.EndAnsweredElsewhere
	EndTimeout           = vocab.EndTimeout
	EndMediaTimeout      = vocab.EndMediaTimeout
	EndFailed            = vocab.EndFailed
	EndTransferred       = vocab.EndTransferred

	HoldDefault  = vocab.HoldDefault
	HoldSendonly = vocab.HoldSendonly
	HoldInactive = vocab.HoldInactive
	HoldZeroIP   = vocab.HoldZeroIP

	Q850UnallocatedNumber  = vocab.Q850UnallocatedNumber
	Q850NormalClearing     = vocab.Q850NormalClearing
	Q850UserBusy           = vocab.Q850UserBusy
	Q850NoUserResponding   = vocab.Q850NoUserResponding
	Q850NoAnswer           = vocab.Q850NoAnswer
	Q850SubscriberAbsent   = vocab.Q850SubscriberAbsent
	Q850CallRejected       = vocab.Q850CallRejected
	Q850NormalUnspecified  = vocab.Q850NormalUnspecified
	Q850TemporaryFailure   = vocab.Q850TemporaryFailure
	Q850RecoveryOnTimer    = vocab.Q850RecoveryOnTimer
	Q850InterworkingUnspec = vocab.Q850InterworkingUnspec
	Q850MaxCause           = vocab.Q850MaxCause
	ReasonQ850             = vocab.ReasonQ850
	ReasonSIP              = vocab.ReasonSIP

	RegUnregistered = vocab.RegUnregistered
	RegRegistering  = vocab.RegRegistering
	RegRegistered   = vocab.RegRegistered
	RegRetrying     = vocab.RegRetrying
	RegFailed       = vocab.RegFailed

	ScreenRing     = vocab.ScreenRing
	ScreenWait     = vocab.ScreenWait
	ScreenSilent   = vocab.ScreenSilent
	ScreenReject   = vocab.ScreenReject
	ScreenRedirect = vocab.ScreenRedirect

	SecondaryNone          = vocab.SecondaryNone
	SecondaryTeamCall      = vocab.SecondaryTeamCall
	SecondaryDelegate      = vocab.SecondaryDelegate
	SecondaryForwarded     = vocab.SecondaryForwarded
	SecondaryResponseGroup = vocab.SecondaryResponseGroup
	SecondaryTransfer      = vocab.SecondaryTransfer
	SecondaryOther         = vocab.SecondaryOther
	SecondaryForked        = vocab.SecondaryForked
)

// ParseHoldDialect is vocab.ParseHoldDialect.
func ParseHoldDialect(s string) (HoldDialect, error) { return vocab.ParseHoldDialect(s) }

// SIPPhrase is vocab.SIPPhrase.
func SIPPhrase(code int) string { return vocab.SIPPhrase(code) }

// Q850Text is vocab.Q850Text.
func Q850Text(cause int) string { return vocab.Q850Text(cause) }

// Q850ForSIP is vocab.Q850ForSIP.
func Q850ForSIP(code int) int { return vocab.Q850ForSIP(code) }

// SIPForQ850 is vocab.SIPForQ850.
func SIPForQ850(cause int) (code int, phrase string) { return vocab.SIPForQ850(cause) }

// SIPForQ850AtUser is vocab.SIPForQ850AtUser.
func SIPForQ850AtUser(cause int) (code int, phrase string) { return vocab.SIPForQ850AtUser(cause) }

// ReasonForSIP is vocab.ReasonForSIP.
func ReasonForSIP(code int) (ReasonHeader, bool) { return vocab.ReasonForSIP(code) }

// ParseReason is vocab.ParseReason.
func ParseReason(value string) (ReasonHeader, error) { return vocab.ParseReason(value) }

// ParseReasons is vocab.ParseReasons.
func ParseReasons(value string) ([]ReasonHeader, error) { return vocab.ParseReasons(value) }

// FindReason is vocab.FindReason.
func FindReason(values []string, protocol string) (ReasonHeader, bool) {
	return vocab.FindReason(values, protocol)
}

// CancelEndCause is vocab.CancelEndCause.
func CancelEndCause(reasonValues []string) EndCause { return vocab.CancelEndCause(reasonValues) }

// ParseHistoryInfo is vocab.ParseHistoryInfo.
func ParseHistoryInfo(values []string) ([]HistoryInfoEntry, error) {
	return vocab.ParseHistoryInfo(values)
}

// ParseDiversion is vocab.ParseDiversion.
func ParseDiversion(values []string) ([]DiversionEntry, error) { return vocab.ParseDiversion(values) }

// ParseNameAddr is vocab.ParseNameAddr.
func ParseNameAddr(value string) (Party, map[string]string, error) {
	return vocab.ParseNameAddr(value)
}

// SameAOR is vocab.SameAOR.
func SameAOR(a, b string) bool { return vocab.SameAOR(a, b) }

// ClassifySecondary is vocab.ClassifySecondary.
func ClassifySecondary(headers map[string][]string, calledAOR string) Secondary {
	return vocab.ClassifySecondary(headers, calledAOR)
}

// IsE164 is vocab.IsE164.
func IsE164(s string) bool { return vocab.IsE164(s) }
