package ctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
)

// This file holds the busy-policy commands: policy, set_policy,
// let_through and clear_override.

// PolicyController is the busy-policy side of a Controller; *cti.Service
// implements it. A Controller without it answers the policy commands with
// code unsupported.
type PolicyController interface {
	Policy() busy.Policy
	SetPolicy(p busy.Policy) error
	LetThroughFor(d time.Duration) busy.Override
	LetThroughUntilCallEnds(id api.CallID) busy.Override
	ClearOverride()
}

// MaxLetThroughMinutes bounds let_through's minutes: one day.
const MaxLetThroughMinutes = 24 * 60

// policyArgs is set_policy's args: the whole busy policy in its JSON form
// (busy.Policy's tags), actions as names. The override is not part of it:
// let_through and clear_override change that.
type policyArgs struct {
	OnBusy           string   `json:"on_busy,omitempty"`
	InConference     string   `json:"in_conference,omitempty"`
	Secondary        string   `json:"secondary,omitempty"`
	CountSetupAsBusy bool     `json:"count_setup_as_busy,omitempty"`
	DND              bool     `json:"dnd,omitempty"`
	DNDAction        string   `json:"dnd_action,omitempty"`
	VoicemailURI     string   `json:"voicemail_uri,omitempty"`
	VIP              []string `json:"vip,omitempty"`
	Region           string   `json:"region,omitempty"`
	NoAnswerSeconds  *int     `json:"no_answer_seconds,omitempty"`
	NoAnswerAction   string   `json:"no_answer_action,omitempty"`

	policy busy.Policy // built by check
}

// policyWireNames maps busy.FieldError's Go field names to the wire names.
var policyWireNames = map[string]string{
	"OnBusy": "on_busy", "InConference": "in_conference", "Secondary": "secondary",
	"CountSetupAsBusy": "count_setup_as_busy", "DND": "dnd", "DNDAction": "dnd_action",
	"VoicemailURI": "voicemail_uri", "VIP": "vip", "Region": "region",
	"NoAnswerSeconds": "no_answer_seconds", "NoAnswerAction": "no_answer_action",
}

// PolicyFieldName turns a busy.FieldError field ("NoAnswerSeconds",
// "VIP[2]") into its wire (and TOML) name ("no_answer_seconds", "vip[2]").
func PolicyFieldName(goName string) string {
	base, index, _ := strings.Cut(goName, "[")
	if n, ok := policyWireNames[base]; ok {
		base = n
	}
	if index != "" {
		return base + "[" + index
	}
	return base
}

// PolicyError rewrites a busy.FieldError so it names the field as the wire
// and config files do: "no_answer_seconds: 400: must be 0..300". Other
// errors come back unchanged.
func PolicyError(err error) error {
	var fe *busy.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%s: %v: %s", PolicyFieldName(fe.Field), fe.Value, PolicyMessage(fe.Msg))
}

// PolicyMessage rewrites the Go field names in a busy.FieldError message
// ("voicemail needs VoicemailURI") to wire names ("voicemail_uri").
func PolicyMessage(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		if n, ok := policyWireNames[w]; ok {
			words[i] = n
		}
	}
	return strings.Join(words, " ")
}

func (a *policyArgs) check() error {
	p := busy.Policy{
		CountSetupAsBusy: a.CountSetupAsBusy, DND: a.DND, VoicemailURI: a.VoicemailURI,
		VIP: a.VIP, Region: a.Region, NoAnswerSeconds: a.NoAnswerSeconds,
	}
	for _, f := range []struct {
		name string
		in   string
		out  *busy.Action
	}{
		{"on_busy", a.OnBusy, &p.OnBusy}, {"in_conference", a.InConference, &p.InConference},
		{"secondary", a.Secondary, &p.Secondary}, {"dnd_action", a.DNDAction, &p.DNDAction},
		{"no_answer_action", a.NoAnswerAction, &p.NoAnswerAction},
	} {
		if err := f.out.UnmarshalText([]byte(f.in)); err != nil {
			return fmt.Errorf("%s: %q is not an action (alert, wait, silent, busy, unavailable, decline, voicemail)", f.name, f.in)
		}
	}
	if err := p.Validate(); err != nil {
		return PolicyError(err)
	}
	a.policy = p
	return nil
}

// letThroughArgs is let_through's args: minutes or until_call_ends.
type letThroughArgs struct {
	Minutes       int        `json:"minutes,omitempty"`
	UntilCallEnds api.CallID `json:"until_call_ends,omitempty"`
}

func (a *letThroughArgs) check() error {
	switch {
	case a.Minutes != 0 && a.UntilCallEnds != "":
		return errors.New("minutes and until_call_ends: give one, not both")
	case a.Minutes == 0 && strings.TrimSpace(string(a.UntilCallEnds)) == "":
		return errors.New("minutes or until_call_ends: missing")
	case a.Minutes < 0 || a.Minutes > MaxLetThroughMinutes:
		return fmt.Errorf("minutes: %d is not 1..%d", a.Minutes, MaxLetThroughMinutes)
	}
	return nil
}

// Results of the policy commands.
type (
	policyResult struct {
		Policy busy.Policy `json:"policy"`
	}
	overrideResult struct {
		Override busy.Override `json:"override"`
	}
)

// policyController returns s's PolicyController or an unsupported error.
func (s *session) policyController() (PolicyController, error) {
	if p, ok := s.c.(PolicyController); ok {
		return p, nil
	}
	return nil, &Error{Code: CodeUnsupported, Message: "this instance has no busy policy"}
}

// policyCommands are the busy-policy entries of the command table.
func policyCommands() map[string]commandSpec {
	return map[string]commandSpec{
		"policy": command("the busy policy with its override",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				pc, err := s.policyController()
				if err != nil {
					return nil, err
				}
				return policyResult{pc.Policy()}, nil
			}),
		"set_policy": command("replace the busy policy (the override stays): on_busy?, in_conference?, secondary?, count_setup_as_busy?, dnd?, dnd_action?, voicemail_uri?, vip?, region?, no_answer_seconds?, no_answer_action?",
			func(ctx context.Context, s *session, a policyArgs) (any, error) {
				pc, err := s.policyController()
				if err != nil {
					return nil, err
				}
				if err := pc.SetPolicy(a.policy); err != nil {
					return nil, PolicyError(err)
				}
				return policyResult{pc.Policy()}, nil
			}),
		"let_through": command("let every call through for a while: minutes (1-1440) or until_call_ends (a call_id)",
			func(ctx context.Context, s *session, a letThroughArgs) (any, error) {
				pc, err := s.policyController()
				if err != nil {
					return nil, err
				}
				if a.Minutes > 0 {
					return overrideResult{pc.LetThroughFor(time.Duration(a.Minutes) * time.Minute)}, nil
				}
				return overrideResult{pc.LetThroughUntilCallEnds(a.UntilCallEnds)}, nil
			}),
		"clear_override": command("end a let_through now",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				pc, err := s.policyController()
				if err != nil {
					return nil, err
				}
				pc.ClearOverride()
				return nil, nil
			}),
	}
}
