package ctl

import (
	"context"
	"errors"
	"strings"

	"github.com/anyphone/anyphone/cti/api"
)

// This file holds the presence commands (issue 15): presence (our own
// phone state and the colleagues we watch), watch, unwatch.

// PresenceController is the presence side of a Controller; *cti.Service
// implements it. A Controller without it answers the presence commands
// with code unsupported.
type PresenceController interface {
	Presence() api.PresenceInfo
	Watches() []api.Watch
	Watch(ctx context.Context, target string) (api.Watch, error)
	Unwatch(ctx context.Context, target string) error
	Pickup(ctx context.Context, w api.Watch) (api.CallID, error)
}

// EventPresence is a watched colleague's new state.
const EventPresence = "presence"

// EventOwnPresence is our own new state (the presence result's presence).
const EventOwnPresence = "own_presence"

// MaxWatchTarget bounds a watch target's length.
const MaxWatchTarget = 256

type watchArgs struct {
	Target string `json:"target"`
}

func (a *watchArgs) check() error {
	a.Target = strings.TrimSpace(a.Target)
	switch {
	case a.Target == "":
		return errors.New("target: missing")
	case len(a.Target) > MaxWatchTarget:
		return errors.New("target: too long")
	}
	return nil
}

type (
	presenceResult struct {
		Presence api.PresenceInfo `json:"presence"`
		Watches  []api.Watch      `json:"watches"`
	}
	watchResult struct {
		Watch api.Watch `json:"watch"`
	}
)

func (s *session) presenceController() (PresenceController, error) {
	if p, ok := s.c.(PresenceController); ok {
		return p, nil
	}
	return nil, &Error{Code: CodeUnsupported, Message: "this instance has no presence"}
}

func presenceCommands() map[string]commandSpec {
	return map[string]commandSpec{
		"presence": command("our phone state (RFC 4235 dialogs) and the colleagues we watch",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				pc, err := s.presenceController()
				if err != nil {
					return nil, err
				}
				ws := pc.Watches()
				if ws == nil {
					ws = []api.Watch{}
				}
				return presenceResult{pc.Presence(), ws}, nil
			}),
		"watch": command("watch a colleague's phone state: target (a user name or SIP URI); presence events follow",
			func(ctx context.Context, s *session, a watchArgs) (any, error) {
				pc, err := s.presenceController()
				if err != nil {
					return nil, err
				}
				w, err := pc.Watch(ctx, a.Target)
				if err != nil {
					return nil, badRequest("%v", err)
				}
				return watchResult{w}, nil
			}),
		"pickup": command("pick up a watched colleague's ringing call: target (as watched); the new call's call_id",
			func(ctx context.Context, s *session, a watchArgs) (any, error) {
				pc, err := s.presenceController()
				if err != nil {
					return nil, err
				}
				for _, w := range pc.Watches() {
					if w.Target == a.Target || strings.HasPrefix(strings.TrimPrefix(w.Target, "sip:"), a.Target+"@") {
						id, err := pc.Pickup(ctx, w)
						if err != nil {
							return nil, &Error{Code: CodeBadState, Message: err.Error()}
						}
						return dialResult{id}, nil
					}
				}
				return nil, badRequest("pickup %s: not watched", a.Target)
			}),
		"unwatch": command("stop watching a colleague: target",
			func(ctx context.Context, s *session, a watchArgs) (any, error) {
				pc, err := s.presenceController()
				if err != nil {
					return nil, err
				}
				if err := pc.Unwatch(ctx, a.Target); err != nil {
					return nil, badRequest("%v", err)
				}
				return nil, nil
			}),
	}
}
