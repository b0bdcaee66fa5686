package ui

import (
	"context"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// Controller is what the UI needs from the product: *cti.Service
// implements it, tests use a fake.
type Controller interface {
	Dial(ctx context.Context, to string, o cti.DialOptions) (cti.CallID, error)
	Answer(ctx context.Context, id cti.CallID) error
	Reject(ctx context.Context, id cti.CallID, code int, reason string) error
	Hangup(ctx context.Context, id cti.CallID) error
	HangupAll(ctx context.Context) error
	Hold(ctx context.Context, id cti.CallID) error
	Resume(ctx context.Context, id cti.CallID) error
	SendDTMF(ctx context.Context, id cti.CallID, digits string) error
	Mute(ctx context.Context, id cti.CallID, on bool) error
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	Snapshot() cti.Snapshot
	Subscribe() *cti.Subscription
	Ladder(id cti.CallID) []cti.SIPMessage
}

// Transferer is implemented by controllers that can transfer, consult,
// toggle and conference (*cti.Service does). The UI enables the transfer,
// consult, conference and complete-transfer keys only when its Controller
// also implements Transferer; without it the swap key holds and resumes.
type Transferer interface {
	Transfer(ctx context.Context, id cti.CallID, to string) error
	Consult(ctx context.Context, id cti.CallID, to string) (cti.CallID, error)
	Toggle(ctx context.Context, id cti.CallID) error
	CompleteTransfer(ctx context.Context, heldID, consultID cti.CallID) error
	Conference(ctx context.Context, a, b cti.CallID) error
}

// ReferAnswerer accepts or refuses a transfer a peer asked for (REFER
// under the "ask" transfer policy); *cti.Service implements it.
type ReferAnswerer interface {
	AcceptRefer(ctx context.Context, id cti.CallID) error
	RejectRefer(ctx context.Context, id cti.CallID) error
}

// PolicyController reads and changes the busy policy (*cti.Service
// implements it). Without it the header shows no policy and the settings
// pane cannot change it.
type PolicyController interface {
	Policy() busy.Policy
	SetPolicy(p busy.Policy) error
	LetThroughFor(d time.Duration) busy.Override
	LetThroughUntilCallEnds(id cti.CallID) busy.Override
	ClearOverride()
}

// Journaler is the call journal (*cti.Service implements it). Without it
// the journal pane and the missed-call count are off.
type Journaler interface {
	Journal(ctx context.Context, f journal.Filter) ([]journal.Entry, error)
	UnreadMissed(ctx context.Context) (int, error)
	MarkRead(ctx context.Context, ids ...int64) error
	MarkAllRead(ctx context.Context) error
}

var (
	_ Controller       = (*cti.Service)(nil)
	_ PolicyController = (*cti.Service)(nil)
	_ Journaler        = (*cti.Service)(nil)
	_ ReferAnswerer    = (*cti.Service)(nil)
	_ Transferer       = (*cti.Service)(nil)
)
