package ui

import "errors"

// Errors the UI reports.
var (
	// ErrUnknownAction is returned by KeyMap.Set for a name that is no action.
	ErrUnknownAction = errors.New("ui: unknown key action")
	// ErrNoKeys is returned by KeyMap.Set when an action would get no key.
	ErrNoKeys = errors.New("ui: no keys for action")
	// ErrNotAvailable means the core does not offer the feature yet.
	ErrNotAvailable = errors.New("ui: not available yet")
)
