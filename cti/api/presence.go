package api

import "github.com/anyphone/anyphone/phone/vocab"

// Presence: the user's own phone state as RFC 4235 dialogs, and the
// colleagues the user watches (issue 15).
type (
	PresenceInfo = vocab.PresenceInfo
	DialogState  = vocab.DialogState
	DialogPhase  = vocab.DialogPhase
	Watch        = vocab.Watch
	WatchState   = vocab.WatchState
)

// Dialog states (RFC 4235).
const (
	PhaseTrying     = vocab.PhaseTrying
	PhaseProceeding = vocab.PhaseProceeding
	PhaseEarly      = vocab.PhaseEarly
	PhaseConfirmed  = vocab.PhaseConfirmed
	PhaseTerminated = vocab.PhaseTerminated
)

// Watch states.
const (
	WatchPending  = vocab.WatchPending
	WatchActive   = vocab.WatchActive
	WatchRetrying = vocab.WatchRetrying
)

// PresenceChanged carries a watched colleague's full state after each
// NOTIFY, and when the subscription fails, retries or ends.
type PresenceChanged struct{ Watch Watch }

func (PresenceChanged) ctiEvent() {}

// OwnPresenceChanged carries our own phone state (what our watchers and
// the presence server get) each time it changes: a call rings, is
// answered, held, joined in a conference or ends, or DND is set.
type OwnPresenceChanged struct{ Info PresenceInfo }

func (OwnPresenceChanged) ctiEvent() {}
