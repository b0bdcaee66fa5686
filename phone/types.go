package phone

import "time"

// Event is the closed set of things phone reports. Handlers get them in
// order per call; they must not block.
type Event interface{ phoneEvent() }

// CallChanged carries the full new value of a call after each transition.
type CallChanged struct{ Call CallInfo }

// DTMFReceived reports one digit received on a call (RFC 4733 or SIP INFO).
type DTMFReceived struct {
	CallID CallID
	Digit  rune
}

// MediaTimeout reports that no RTP arrived on an active, unheld call for the
// configured time.
type MediaTimeout struct {
	CallID CallID
	Silent time.Duration
}

// RegistrationChanged carries the full registration state of an account.
type RegistrationChanged struct{ Reg RegInfo }

// TransferProgress reports a transfer we asked for (REFER sent): one event
// per NOTIFY sipfrag status (RFC 3515 §2.4.5), then the outcome with Final
// set. OK means the target answered; on failure the call is taken back off
// hold (if Transfer held it) and stays up.
type TransferProgress struct {
	CallID CallID
	Target string
	Code   int    // sipfrag status, 0 when the REFER itself failed or timed out
	Reason string // sipfrag reason phrase or what went wrong
	Final  bool
	OK     bool
}

// ReferReceived reports a REFER from the peer of CallID: asking us to call
// Target (with Replaces for an attended transfer). With TransferAsk the
// REFER waits for AcceptRefer or RejectRefer (Pending is true).
type ReferReceived struct {
	CallID     CallID
	ReferredBy string
	Target     string
	Replaces   bool
	Pending    bool
	Accepted   bool
}

// InitialHoldResult reports which hold dialect a call dialled on hold was
// finally offered in: Tried lists the dialects refused with 488 first.
type InitialHoldResult struct {
	CallID  CallID
	Dialect HoldDialect
	Tried   []HoldDialect
	OK      bool
}

func (CallChanged) phoneEvent()         {}
func (TransferProgress) phoneEvent()    {}
func (ReferReceived) phoneEvent()       {}
func (InitialHoldResult) phoneEvent()   {}
func (DTMFReceived) phoneEvent()        {}
func (MediaTimeout) phoneEvent()        {}
func (RegistrationChanged) phoneEvent() {}
