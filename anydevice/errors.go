package anydevice

import (
	"errors"
	"fmt"
)

var (
	// ErrNoSuchUser is returned for a user id the configuration lacks.
	ErrNoSuchUser = errors.New("anydevice: no such user")
	// ErrNoSuchDevice is returned for a device the user does not own.
	ErrNoSuchDevice = errors.New("anydevice: no such device")
	// ErrNoSuchSession is returned for a session that does not exist (any more).
	ErrNoSuchSession = errors.New("anydevice: no such session")
	// ErrBadState is returned when a command does not fit the session's state.
	ErrBadState = errors.New("anydevice: command not allowed in this session state")
	// ErrUnauthenticated is returned when a token does not match.
	ErrUnauthenticated = errors.New("anydevice: unauthenticated")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("anydevice: closed")
	// ErrNoTrunk is returned for a number to dial when the controller has
	// neither a trunk nor an account to dial numbers through.
	ErrNoTrunk = errors.New("anydevice: no trunk or [account] to dial numbers through (set trunk, or an account at your registrar)")
	// ErrDeviceVoicemail is returned when a device leg was answered faster
	// than its fast-answer guard allows (a carrier voicemail).
	ErrDeviceVoicemail = errors.New("anydevice: device answered by voicemail")
)

// RefusedError is a request the controller refused as data: the rule that
// refused it and what was asked. Every RefusedError is also sent as a
// Refused event.
type RefusedError struct {
	User   string // user id ("" when unknown)
	Rule   string // e.g. "premium", "international", "caller-id", "rate"
	Detail string // what was asked, for the log and the journal
}

// RefusedRule names the rule; the control protocol reports it (code
// refused, rule).
func (e *RefusedError) RefusedRule() string { return e.Rule }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("anydevice: refused by rule %s: %s", e.Rule, e.Detail)
}

// LegError says why a leg of a session failed: its SIP status and reason.
type LegError struct {
	Role   string // "device" or "remote"
	Code   int    // final SIP status, 0 when none
	Reason string // reason phrase or cause
}

func (e *LegError) Error() string {
	return fmt.Sprintf("anydevice: %s leg failed: %d %s", e.Role, e.Code, e.Reason)
}
