package phone

import (
	"errors"

	"github.com/anyphone/anyphone/phone/vocab"
)

var (
	// ErrNoSuchCall is returned by call commands when the call does not exist
	// (or has already ended).
	ErrNoSuchCall = vocab.ErrNoSuchCall
	// ErrBadState is returned when a command does not fit the call's state,
	// e.g. Answer on an outgoing call.
	ErrBadState = vocab.ErrBadState
	// ErrClosed is returned after Close or Shutdown.
	ErrClosed = errors.New("phone: closed")
	// ErrTooManyCalls is returned when MaxCalls is reached.
	ErrTooManyCalls = errors.New("phone: too many calls")
	// ErrTooManyInFlight is returned when a request is not sent because
	// Config.MaxInFlightPerPeer requests to its peer await an answer.
	ErrTooManyInFlight = errors.New("phone: too many requests in flight to this peer")
	// ErrBadTarget is returned by Watch for a target that is no SIP URI or
	// user name.
	ErrBadTarget = errors.New("phone: bad watch target")
	// ErrNotWatched is returned by Unwatch for a target not watched.
	ErrNotWatched = errors.New("phone: not watched")
)
