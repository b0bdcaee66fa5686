package ctl

import (
	"errors"
	"fmt"
)

// Error codes carried in a response's error.code. They are stable: clients
// may switch on them.
const (
	// CodeNoSuchCall: the call does not exist or has already ended.
	CodeNoSuchCall = "no_such_call"
	// CodeBadState: the command does not fit the call's state.
	CodeBadState = "bad_state"
	// CodeBadRequest: the line is not JSON, too long, or its args are wrong.
	CodeBadRequest = "bad_request"
	// CodeUnknownCommand: no command of that name.
	CodeUnknownCommand = "unknown_command"
	// CodeUnauthorized: the token is missing or wrong.
	CodeUnauthorized = "unauthorized"
	// CodeRejected: the peer answered with a final SIP failure (sip_code).
	CodeRejected = "rejected"
	// CodeUnsupported: this instance does not offer the command (no
	// journal, no busy policy).
	CodeUnsupported = "unsupported"
	// CodeRefused: a policy refused the command (an AnyDevice controller's
	// dial policy, rate or channel limit); Rule names it.
	CodeRefused = "refused"
	// CodeInternal: anything else.
	CodeInternal = "internal"
)

var (
	// ErrUnauthorized is returned by Dial when the server refuses the token.
	ErrUnauthorized = errors.New("ctl: unauthorized")
	// ErrNeedToken is returned by Listen for a non-loopback address without
	// a token.
	ErrNeedToken = errors.New("ctl: a non-loopback control address needs a token")
	// ErrLineTooLong is reported (as bad_request) for a command over MaxLine.
	ErrLineTooLong = errors.New("ctl: command line too long")
	// ErrClosed is returned by Client methods after Close or when the
	// connection ended.
	ErrClosed = errors.New("ctl: connection closed")
	// ErrUnknownEvent is returned by MarshalEvent for an event type it does
	// not know.
	ErrUnknownEvent = errors.New("ctl: unknown event type")
)

// Error is a failed command as data: a stable Code (Code* constants), a
// human Message and, for rejected, the SIP status code. Client.Do returns it;
// test it with errors.As, or errors.Is against another *Error with the same
// Code.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// SIPCode is the final SIP status of a rejected call (e.g. 486).
	SIPCode int `json:"sip_code,omitempty"`
	// Rule is the rule of a refused command (premium, international, ...).
	Rule string `json:"rule,omitempty"`
}

func (e *Error) Error() string {
	if e.SIPCode != 0 {
		return fmt.Sprintf("ctl: %s (%d): %s", e.Code, e.SIPCode, e.Message)
	}
	return fmt.Sprintf("ctl: %s: %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, &ctl.Error{Code: ctl.CodeNoSuchCall}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// badRequest builds a bad_request error.
func badRequest(format string, args ...any) *Error {
	return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}
