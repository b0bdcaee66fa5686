package phone

import "fmt"

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
	inOver                         // the call's goroutine is done with it: whatever state, it ended
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
	case inOver:
		return "over"
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
	case s != CallEnded && in == inOver:
		// The call's goroutine returns (finish): the call ends from any
		// state, a call that never got going (Idle) included.
		return CallEnded, nil
	}
	return s, fmt.Errorf("phone: illegal transition %s on %s", s, in)
}
