package vocab

import "fmt"

// CallState is where a call stands in its life. Hold is not a state: it is
// carried by CallInfo.LocalHold and CallInfo.RemoteHold, because both ends
// can hold at once and either can resume while the call stays up.
type CallState int

const (
	CallIdle      CallState = iota
	CallDialing             // INVITE sent, no provisional response beyond 100
	CallRinging             // outgoing: 180 received
	CallEarly               // outgoing: 183 with SDP, early media flows
	CallIncoming            // incoming: we are alerting the user
	CallAnswering           // incoming: 200 sent, waiting for the ACK
	CallActive              // confirmed dialog
	CallEnding              // BYE or CANCEL sent, waiting for its answer
	CallEnded               // final; CallInfo.End says why
)

func (s CallState) String() string {
	switch s {
	case CallIdle:
		return "idle"
	case CallDialing:
		return "dialing"
	case CallRinging:
		return "ringing"
	case CallEarly:
		return "early"
	case CallIncoming:
		return "incoming"
	case CallAnswering:
		return "answering"
	case CallActive:
		return "active"
	case CallEnding:
		return "ending"
	case CallEnded:
		return "ended"
	default:
		return fmt.Sprintf("CallState(%d)", int(s))
	}
}

// MarshalText makes states readable in JSON events.
func (s CallState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the names String returns.
func (s *CallState) UnmarshalText(b []byte) error {
	for c := CallIdle; c <= CallEnded; c++ {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("phone: unknown call state %q", b)
}

// MarshalText makes directions readable in JSON events.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the names String returns.
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "outgoing":
		*d = Outgoing
	case "incoming":
		*d = Incoming
	case "unknown", "":
		*d = DirectionUnknown
	default:
		return fmt.Errorf("phone: unknown direction %q", b)
	}
	return nil
}

// MarshalText makes end causes readable in JSON events.
func (c EndCause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the names String returns.
func (c *EndCause) UnmarshalText(b []byte) error {
	for x := EndUnknown; x <= EndTransferred; x++ {
		if x.String() == string(b) {
			*c = x
			return nil
		}
	}
	return fmt.Errorf("phone: unknown end cause %q", b)
}

// MarshalText makes registration states readable in JSON events.
func (s RegState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the names String returns (a registration read back
// from the control protocol).
func (s *RegState) UnmarshalText(b []byte) error {
	for _, x := range []RegState{RegUnregistered, RegRegistering, RegRegistered, RegRetrying, RegFailed} {
		if x.String() == string(b) {
			*s = x
			return nil
		}
	}
	return fmt.Errorf("vocab: unknown registration state %q", b)
}
