package phone

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

// input is what can happen to a call: a SIP message or a local command,
// already reduced to what the state machine needs.
type input int

const (
	inDial        input = iota + 1 // local: INVITE sent
	inOffer                        // remote: INVITE received
	inProvisional                  // remote: 180 (or 183 without SDP)
	inEarlyMedia                   // remote: 183 with SDP
	inAnswer                       // local: 200 sent to the INVITE
	inAnswered                     // remote: 2xx to our INVITE (ACK sent)
	inAck                          // remote: ACK for our 200
	inLocalEnd                     // local: hangup / reject / cancel sent
	inRemoteEnd                    // remote: BYE, CANCEL or final failure received
	inEndDone                      // the BYE/CANCEL/reject transaction finished
)

func (i input) String() string {
	switch i {
	case inDial:
		return "dial"
	case inOffer:
		return "offer"
	case inProvisional:
		return "provisional"
	case inEarlyMedia:
		return "early-media"
	case inAnswer:
		return "answer"
	case inAnswered:
		return "answered"
	case inAck:
		return "ack"
	case inLocalEnd:
		return "local-end"
	case inRemoteEnd:
		return "remote-end"
	case inEndDone:
		return "end-done"
	default:
		return fmt.Sprintf("input(%d)", int(i))
	}
}

// next is the call state machine: a pure function, table-tested in
// callstate_test.go. SIP messages arrive on separate goroutines in any order
// (LIBRARIES §2.15), so a late provisional after an answer is ignored rather
// than an error: states only move forward.
func next(s CallState, in input) (CallState, error) {
	switch {
	case s == CallIdle && in == inDial:
		return CallDialing, nil
	case s == CallIdle && in == inOffer:
		return CallIncoming, nil // RFC 3261 §13.3.1: alert the user
	case s == CallDialing && in == inProvisional:
		return CallRinging, nil // RFC 3261 §13.2.2.1
	case (s == CallDialing || s == CallRinging) && in == inEarlyMedia:
		return CallEarly, nil // RFC 3960: early media
	case (s == CallRinging || s == CallEarly) && in == inProvisional:
		return s, nil // repeated or reordered 18x: keep the later state
	case s == CallEarly && in == inEarlyMedia:
		return s, nil
	case (s == CallDialing || s == CallRinging || s == CallEarly) && in == inAnswered:
		return CallActive, nil // RFC 3261 §13.2.2.4: 2xx, ACK sent
	case s == CallActive && (in == inProvisional || in == inEarlyMedia || in == inAnswered):
		return s, nil // reordered or retransmitted responses after the answer
	case s == CallIncoming && in == inAnswer:
		return CallAnswering, nil // RFC 3261 §13.3.1.4: 200 sent
	case s == CallAnswering && in == inAck:
		return CallActive, nil
	case s == CallActive && in == inAck:
		return s, nil // ACK retransmission
	case s == CallEnded && (in == inRemoteEnd || in == inEndDone || in == inLocalEnd):
		return s, nil // teardown races: BYE crossing our BYE
	case s == CallEnding && in == inRemoteEnd:
		return CallEnded, nil
	case s == CallEnding && in == inEndDone:
		return CallEnded, nil
	case s != CallIdle && s != CallEnded && s != CallEnding && in == inLocalEnd:
		return CallEnding, nil
	case s != CallIdle && s != CallEnded && in == inRemoteEnd:
		return CallEnded, nil
	}
	return s, fmt.Errorf("phone: illegal transition %s on %s", s, in)
}
