package phone

import "errors"

var (
	// ErrNoSuchCall is returned by call commands when the call does not exist
	// (or has already ended).
	ErrNoSuchCall = errors.New("phone: no such call")
	// ErrBadState is returned when a command does not fit the call's state,
	// e.g. Answer on an outgoing call.
	ErrBadState = errors.New("phone: command not allowed in this call state")
	// ErrClosed is returned after Close or Shutdown.
	ErrClosed = errors.New("phone: closed")
	// ErrTooManyCalls is returned when MaxCalls is reached.
	ErrTooManyCalls = errors.New("phone: too many calls")
)
