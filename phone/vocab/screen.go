package vocab

import (
	"fmt"
	"time"
)

// ScreenAction is what to do with an incoming call before it rings.
type ScreenAction int

const (
	ScreenRing     ScreenAction = iota // alert the user (the default)
	ScreenWait                         // alert with the call-waiting cue
	ScreenSilent                       // keep it ringing, no alert
	ScreenReject                       // answer Code (486, 480, 603, ...) at once
	ScreenRedirect                     // answer 302 to Target (voicemail)
)

func (a ScreenAction) String() string {
	switch a {
	case ScreenWait:
		return "wait"
	case ScreenSilent:
		return "silent"
	case ScreenReject:
		return "reject"
	case ScreenRedirect:
		return "redirect"
	default:
		return "ring"
	}
}

// MarshalText makes actions readable in JSON.
func (a ScreenAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses the names String returns (a call read back from the
// control protocol).
func (a *ScreenAction) UnmarshalText(b []byte) error {
	for _, x := range []ScreenAction{ScreenRing, ScreenWait, ScreenSilent, ScreenReject, ScreenRedirect} {
		if x.String() == string(b) {
			*a = x
			return nil
		}
	}
	return fmt.Errorf("vocab: unknown screen action %q", b)
}

// Screening is the decision about one incoming call, made by Config.Screen
// before the call is published (so every event already carries it).
type Screening struct {
	Action ScreenAction `json:"action"`
	// Rule names the rule that decided (recorded in CallInfo and journal).
	Rule string `json:"rule,omitempty"`
	// Code/Phrase for ScreenReject; Reason is the Reason header value
	// (e.g. Q.850;cause=17;text="User busy").
	Code   int    `json:"code,omitempty"`
	Phrase string `json:"phrase,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Target for ScreenRedirect (the Contact of the 302), and the headers
	// that go with it (Diversion, History-Info: RFC 5806, RFC 7044).
	Target  string      `json:"target,omitempty"`
	Headers [][2]string `json:"-"`
	// NoAnswer, if > 0, applies NoAnswerThen after the call rang that long
	// unanswered (a Screening with ScreenReject or ScreenRedirect).
	NoAnswer     time.Duration `json:"no_answer,omitempty"`
	NoAnswerThen *Screening    `json:"-"`
}

// ScreenFunc decides about an incoming call; it runs on the call's
// goroutine before the call is published and must not block for long.
type ScreenFunc func(CallInfo) Screening

func (s Screening) String() string { return fmt.Sprintf("%s(%s)", s.Action, s.Rule) }
