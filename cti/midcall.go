package cti

import (
	"context"
	"errors"
	"strings"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
)

// Mid-call control: hold dialects, transfers, consultation, conference.
// Every method is safe for concurrent use and returns phone's sentinels
// (ErrNoSuchCall, ErrBadState) where they apply. Like every call command of
// the Service, a method whose ctx is already done is not started and
// returns ctx.Err(); once started, phone's command does not wait on the
// network, so there is nothing left for ctx to cancel.

// TransferPolicy decides about REFERs from peers (auto, ask, reject).
type TransferPolicy = phone.TransferPolicy

// Transfer policies.
const (
	TransferAuto   = phone.TransferAuto
	TransferAsk    = phone.TransferAsk
	TransferReject = phone.TransferReject
)

// ParseTransferPolicy parses auto, ask or reject.
func ParseTransferPolicy(s string) (TransferPolicy, error) { return phone.ParseTransferPolicy(s) }

// midcallEvent converts phone's mid-call events; nil for others.
func midcallEvent(ev phone.Event) Event {
	switch e := ev.(type) {
	case phone.TransferProgress:
		return TransferProgress(e)
	case phone.ReferReceived:
		return ReferReceived(e)
	case phone.InitialHoldResult:
		return InitialHoldResult(e)
	case phone.RequestOutcome:
		return RequestOutcome{CallID: e.CallID, Method: e.Method, Peer: e.Peer, Outcome: e.Outcome.String(),
			Code: e.Code, Reason: e.Reason, Seconds: e.After.Seconds(), Text: e.String()}
	}
	return nil
}

// HoldWith puts a call on hold in a chosen dialect.
func (s *Service) HoldWith(ctx context.Context, id CallID, d HoldDialect) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.eachLeg(ctx, id, func(ctx context.Context, id CallID) error { // conference.go
		return s.ph.HoldWithContext(ctx, id, d)
	})
}

// DialHeld places a call on hold from the start (3PCC "make call"): the
// offer is held in dialect d; a 488 is retried with the next dialect
// (InitialHoldResult says which one worked).
func (s *Service) DialHeld(ctx context.Context, to string, d HoldDialect, o DialOptions) (CallID, error) {
	if strings.TrimSpace(to) == "" {
		return "", errors.New("cti: dial: empty destination")
	}
	po := phone.DialOptions{FromUser: o.FromUser, FromDisplay: o.FromDisplay, Hold: &d}
	for k, v := range o.Headers {
		po.Headers = append(po.Headers, [2]string{k, v})
	}
	return s.ph.Dial(ctx, to, po)
}

// Transfer asks the peer of a call to call target (blind transfer).
func (s *Service) Transfer(ctx context.Context, id CallID, target string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	target = s.resolveContact(target)
	if err, ok := s.devices.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Transfer(user, sid, target)
	}); ok {
		return err
	}
	return s.ph.TransferContext(ctx, id, target)
}

// Consult holds call id and calls target; it returns the consultation call.
// On a call on another device the controller places the consultation; it
// is a call of its own for the user ("d<session>.c").
func (s *Service) Consult(ctx context.Context, id CallID, target string) (CallID, error) {
	target = s.resolveContact(target)
	if err, ok := s.devices.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Consult(user, sid, target)
	}); ok {
		if err != nil {
			return "", err
		}
		sid, _, _ := sessionOf(id)
		return consultCallID(sid), nil
	}
	return s.ph.Consult(ctx, id, target)
}

// Toggle makes call id the active one and holds the others.
func (s *Service) Toggle(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.on(id, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Toggle(user, sid)
	}); ok {
		return err
	}
	return s.ph.ToggleContext(ctx, id)
}

// CompleteTransfer connects the peers of heldID and consultID (attended
// transfer with Replaces).
func (s *Service) CompleteTransfer(ctx context.Context, heldID, consultID CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.on(heldID, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.CompleteTransfer(user, sid)
	}); ok {
		return err
	}
	return s.ph.CompleteTransferContext(ctx, heldID, consultID)
}

// Conference mixes two calls with the local audio.
// A call on another device is conferenced with its own consultation.
func (s *Service) Conference(ctx context.Context, a, b CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := s.devices.on(a, func(ad AnyDevice, user string, sid anydevice.SessionID, _ bool) error {
		return ad.Conference(user, sid)
	}); ok {
		return err
	}
	return s.ph.ConferenceContext(ctx, a, b)
}

// Move carries a call on another device over to device (another of the
// user's devices), the remote party noticing nothing. ctx is only checked:
// the AnyDevice interface (anydevice.go) takes none yet.
func (s *Service) Move(ctx context.Context, id CallID, device string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.devices.move(id, device)
}

// Split takes a call out of its conference and holds the other one.
func (s *Service) Split(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.SplitContext(ctx, id)
}

// SetTransferPolicy changes what happens to REFERs from peers.
func (s *Service) SetTransferPolicy(p TransferPolicy) { s.ph.SetTransferPolicy(p) }

// AcceptRefer accepts a REFER waiting under TransferAsk. It hands the
// answer to the waiting REFER and never blocks, so ctx is only checked.
func (s *Service) AcceptRefer(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.AcceptRefer(id)
}

// RejectRefer refuses a REFER waiting under TransferAsk. It never blocks,
// so ctx is only checked.
func (s *Service) RejectRefer(ctx context.Context, id CallID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ph.RejectRefer(id)
}
