package ui

import (
	"context"
	"time"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// Controller is what the UI needs from the product: *cti.Service
// implements it, tests use a fake.
type Controller interface {
	Dial(ctx context.Context, to string, o api.DialOptions) (api.CallID, error)
	Answer(ctx context.Context, id api.CallID) error
	Reject(ctx context.Context, id api.CallID, code int, reason string) error
	Hangup(ctx context.Context, id api.CallID) error
	HangupAll(ctx context.Context) error
	Hold(ctx context.Context, id api.CallID) error
	Resume(ctx context.Context, id api.CallID) error
	SendDTMF(ctx context.Context, id api.CallID, digits string) error
	Mute(ctx context.Context, id api.CallID, on bool) error
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	Snapshot() api.Snapshot
	Subscribe() *api.Subscription
	Ladder(id api.CallID) []api.SIPMessage
}

// Transferer is implemented by controllers that can transfer, consult,
// toggle and conference (*cti.Service does). The UI enables the transfer,
// consult, conference and complete-transfer keys only when its Controller
// also implements Transferer; without it the swap key holds and resumes.
type Transferer interface {
	Transfer(ctx context.Context, id api.CallID, to string) error
	Consult(ctx context.Context, id api.CallID, to string) (api.CallID, error)
	Toggle(ctx context.Context, id api.CallID) error
	CompleteTransfer(ctx context.Context, heldID, consultID api.CallID) error
	Conference(ctx context.Context, a, b api.CallID) error
}

// ReferAnswerer accepts or refuses a transfer a peer asked for (REFER
// under the "ask" transfer policy); *cti.Service implements it.
type ReferAnswerer interface {
	AcceptRefer(ctx context.Context, id api.CallID) error
	RejectRefer(ctx context.Context, id api.CallID) error
}

// PolicyController reads and changes the busy policy (*cti.Service
// implements it). Without it the header shows no policy and the settings
// pane cannot change it.
type PolicyController interface {
	Policy() busy.Policy
	SetPolicy(p busy.Policy) error
	LetThroughFor(d time.Duration) busy.Override
	LetThroughUntilCallEnds(id api.CallID) busy.Override
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
