package vocab

import (
	"errors"
	"fmt"
)

// Sentinels of call commands; phone and cti return them and front ends
// test them with errors.Is. The text names phone, which returns them.
var (
	// ErrNoSuchCall is returned by call commands when the call does not exist
	// (or has already ended).
	ErrNoSuchCall = errors.New("phone: no such call")
	// ErrBadState is returned when a command does not fit the call's state,
	// e.g. Answer on an outgoing call.
	ErrBadState = errors.New("phone: command not allowed in this call state")
	// ErrTransferPending is returned when a call already has a transfer under way.
	ErrTransferPending = errors.New("phone: a transfer is already under way on this call")
)

// RejectedError is a failed call as data: the final SIP status and, when the
// peer sent one, the Reason header's Q.850 cause (RFC 3326).
type RejectedError struct {
	Code   int    // SIP status code, e.g. 486
	Reason string // reason phrase, e.g. "Busy Here"
	Q850   int    // Q.850 cause from "Reason: Q.850;cause=N", 0 if absent
	Text   string // Reason header text parameter, if any
}

func (e *RejectedError) Error() string {
	s := fmt.Sprintf("phone: rejected %d %s", e.Code, e.Reason)
	if e.Q850 != 0 {
		s += fmt.Sprintf(" (Q.850 cause %d)", e.Q850)
	}
	return s
}

// Err returns how the call failed as an error: a *RejectedError for a final
// non-2xx answer (test it with errors.As), nil for a normal end.
func (e EndInfo) Err() error {
	switch e.Cause {
	case EndRejected:
		return &RejectedError{Code: e.Code, Reason: e.Reason, Q850: e.Q850, Text: e.Text}
	case EndFailed, EndTimeout, EndMediaTimeout:
		if e.Code != 0 {
			return &RejectedError{Code: e.Code, Reason: e.Reason, Q850: e.Q850, Text: e.Text}
		}
		return fmt.Errorf("phone: call %s: %s", e.Cause, e.Text)
	}
	return nil
}
