package busy

import "fmt"

// Action is what to do with an incoming call.
type Action int

const (
	// Unset in a Policy field means "use this field's default". A Decision
	// never carries it.
	Unset Action = iota
	// Alert rings normally: there is no other call (or none that counts).
	Alert
	// Wait signals the call as call waiting: a cue in the ongoing call and
	// a visible second call, no ring tone.
	Wait
	// Silent keeps the call ringing for the caller without alerting the
	// user; it shows in the call list.
	Silent
	// Busy rejects with 486 Busy Here, Reason: Q.850;cause=17.
	Busy
	// Unavailable rejects with 480 Temporarily Unavailable, Reason:
	// Q.850;cause=18.
	Unavailable
	// Decline rejects with 603 Decline, Reason: Q.850;cause=21.
	Decline
	// Voicemail redirects with 302 to Policy.VoicemailURI, with Diversion
	// (RFC 5806) and History-Info (RFC 7044) naming us.
	Voicemail
)

var actionNames = [...]string{
	Unset:       "",
	Alert:       "alert",
	Wait:        "wait",
	Silent:      "silent",
	Busy:        "busy",
	Unavailable: "unavailable",
	Decline:     "decline",
	Voicemail:   "voicemail",
}

func (a Action) String() string {
	if a == Unset {
		return "unset"
	}
	if a > Unset && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// MarshalText writes the names used in config files and events; Unset is "".
func (a Action) MarshalText() ([]byte, error) {
	if a < Unset || int(a) >= len(actionNames) {
		return nil, fmt.Errorf("busy: unknown action %d", int(a))
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText parses the names MarshalText writes ("wait", "busy", ...);
// "" is Unset.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("busy: unknown action %q", b)
}

// Rejects reports whether the action ends the call with a final response.
func (a Action) Rejects() bool {
	switch a {
	case Busy, Unavailable, Decline, Voicemail:
		return true
	default:
		return false
	}
}

// Rule names the rule that produced a Decision. Events and the journal
// store it as is.
type Rule string

// The rules, in the order Decide tries them.
const (
	RuleNoOtherCall  Rule = "no-other-call"      // nothing else going on: ring
	RuleNotBusy      Rule = "not-busy"           // only ringing/dialling calls, which do not count as busy
	RuleOverride     Rule = "override"           // a temporary "let calls through" is active
	RuleVIP          Rule = "vip"                // the caller is on the VIP list
	RuleDND          Rule = "dnd"                // do not disturb is on
	RuleSecondary    Rule = "secondary"          // busy, and the call is a secondary call
	RuleInConference Rule = "busy-in-conference" // busy in a conference
	RuleBusy         Rule = "busy-policy"        // busy: the busy-on-busy action
	RuleNoAnswer     Rule = "no-answer-timeout"  // rang unanswered for the no-answer timeout
)
