package vocab

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DialogPhase is the state of one dialog in RFC 4235 dialog-info (§3.7.1):
// what a colleague's busy lamp shows.
type DialogPhase int

const (
	PhaseUnknown    DialogPhase = iota
	PhaseTrying                 // INVITE sent, nothing back yet
	PhaseProceeding             // 1xx without a To tag
	PhaseEarly                  // ringing: 1xx with a To tag, or alerting us
	PhaseConfirmed              // 2xx: on the phone
	PhaseTerminated             // ended
)

// String is the RFC 4235 <state> value.
func (s DialogPhase) String() string {
	switch s {
	case PhaseTrying:
		return "trying"
	case PhaseProceeding:
		return "proceeding"
	case PhaseEarly:
		return "early"
	case PhaseConfirmed:
		return "confirmed"
	case PhaseTerminated:
		return "terminated"
	default:
		return "unknown"
	}
}

// ParseDialogPhase parses an RFC 4235 <state> value (case-insensitive); an
// unknown value is PhaseUnknown and false.
func ParseDialogPhase(s string) (DialogPhase, bool) {
	for p := PhaseTrying; p <= PhaseTerminated; p++ {
		if strings.EqualFold(p.String(), s) {
			return p, true
		}
	}
	return PhaseUnknown, false
}

func (s DialogPhase) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *DialogPhase) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p, ok := ParseDialogPhase(v)
	if !ok {
		return fmt.Errorf("vocab: unknown dialog state %q", v)
	}
	*s = p
	return nil
}

// PhaseOf maps a call's state to its RFC 4235 dialog state.
func PhaseOf(s CallState) DialogPhase {
	switch s {
	case CallDialing:
		return PhaseTrying
	case CallRinging, CallEarly, CallIncoming:
		return PhaseEarly
	case CallAnswering, CallActive:
		return PhaseConfirmed
	case CallEnding, CallEnded:
		return PhaseTerminated
	default:
		return PhaseUnknown
	}
}

// DialogState is one dialog of a user as RFC 4235 dialog-info carries it,
// sent (our calls) or received (a colleague's).
type DialogState struct {
	// ID is the dialog's id attribute, unique within the document.
	ID string `json:"id"`
	// CallID, LocalTag and RemoteTag identify the SIP dialog from the
	// user's side: what an INVITE with Replaces names (RFC 4235 §4).
	CallID    string      `json:"call_id,omitempty"`
	LocalTag  string      `json:"local_tag,omitempty"`
	RemoteTag string      `json:"remote_tag,omitempty"`
	Direction Direction   `json:"direction"`
	State     DialogPhase `json:"state"`
	// Local is the user; Remote the other party (identity and display name).
	Local  Party `json:"local,omitzero"`
	Remote Party `json:"remote,omitzero"`
	// Device is the AnyDevice device carrying the call ("" for the desk).
	Device string `json:"device,omitempty"`
	// Held is true while the user holds the call: the local target's
	// +sip.rendering="no" (RFC 4235 §4.1.6.3, RFC 3840 §9).
	Held bool `json:"held,omitempty"`
	// Conference is true while the call is mixed in a conference the user
	// hosts: the local target's isfocus (RFC 4235 §4.1.6.3, RFC 4579).
	Conference bool `json:"conference,omitempty"`
	// RemoteTarget is the other party's remote target (its Contact): where
	// a pickup's INVITE with Replaces goes. Empty: Remote.URI.
	RemoteTarget string `json:"remote_target,omitempty"`
}

// PresenceInfo is a user's dialog state at one moment: every dialog that
// has not ended, plus the ones that just did.
type PresenceInfo struct {
	// Entity is the user's AOR.
	Entity  string        `json:"entity"`
	Dialogs []DialogState `json:"dialogs"`
	// DND is do-not-disturb: calls are refused whatever the dialogs say.
	// Dialog-info has no element for it: it travels as RFC 3863 PIDF
	// (basic closed, RPID activity busy, note "do not disturb").
	DND bool `json:"dnd,omitempty"`
}

// WatchState is where a subscription to a colleague's dialog state stands.
type WatchState int

const (
	WatchUnknown  WatchState = iota
	WatchPending             // SUBSCRIBE sent, no NOTIFY yet
	WatchActive              // NOTIFYs arrive: Info is live
	WatchRetrying            // refused, unanswered or terminated: subscribing again after a backoff
)

func (s WatchState) String() string {
	switch s {
	case WatchPending:
		return "pending"
	case WatchActive:
		return "active"
	case WatchRetrying:
		return "retrying"
	default:
		return "unknown"
	}
}

func (s WatchState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *WatchState) UnmarshalText(b []byte) error {
	for w := WatchPending; w <= WatchRetrying; w++ {
		if w.String() == string(b) {
			*s = w
			return nil
		}
	}
	*s = WatchUnknown
	return nil
}

// Watch is one watched colleague at one moment: the full value events
// carry.
type Watch struct {
	// Target is whom we watch: the SUBSCRIBE's Request-URI.
	Target string     `json:"target"`
	State  WatchState `json:"state"`
	// Info is the colleague's dialog state from the last NOTIFY.
	Info PresenceInfo `json:"info"`
	// Code and Err say why the last SUBSCRIBE failed (Retrying).
	Code    int       `json:"code,omitempty"`
	Err     string    `json:"err,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
}

// Busy summarises a watched colleague for a busy lamp: "idle",
// "ringing", "on the phone" (a confirmed dialog), "unknown" when no state
// has arrived. Ringing wins over on the phone: a call to pick up.
func (w Watch) Busy() string {
	if w.State != WatchActive {
		return "unknown"
	}
	return w.Info.Busy()
}

// Busy summarises a user's dialogs: "ringing" while one is early or
// trying, "on the phone" while one is confirmed, else "idle".
func (p PresenceInfo) Busy() string {
	ringing, talking := false, false
	for _, d := range p.Dialogs {
		switch d.State {
		case PhaseTrying, PhaseProceeding, PhaseEarly:
			ringing = true
		case PhaseConfirmed:
			talking = true
		}
	}
	switch {
	case ringing:
		return "ringing"
	case talking:
		return "on the phone"
	default:
		return "idle"
	}
}
