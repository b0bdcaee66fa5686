package ctl

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/anyphone/anyphone/cti/journal"
)

// The journal over the control protocol: a front end attached to a shared
// controller (the TUI with --controller) shows the user's rows of the
// controller's journal, the one journal of every call on every device.

// journalArgsOf is the wire selection of f (the user is the server's).
func journalArgsOf(f journal.Filter) journalArgs {
	view := "all"
	for _, name := range []string{"missed", "secondary", "answered_elsewhere", "incoming", "outgoing"} {
		if journalViews[name] == f.View {
			view = name
		}
	}
	return journalArgs{View: view, Unread: f.Unread, Search: f.Search, Since: f.Since, Before: f.Before, Limit: f.Limit, Offset: f.Offset}
}

// Journal lists the user's calls, newest first.
func (r *Remote) Journal(ctx context.Context, f journal.Filter) ([]journal.Entry, error) {
	raw, err := r.do(ctx, "journal", journalArgsOf(f))
	if err != nil {
		return nil, err
	}
	var res journalResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return res.Entries, nil
}

// UnreadMissed counts the user's unread missed calls.
func (r *Remote) UnreadMissed(ctx context.Context) (int, error) {
	raw, err := r.do(ctx, "unread_missed", nil)
	if err != nil {
		return 0, err
	}
	var res unreadResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return 0, fmt.Errorf("unread_missed: %w", err)
	}
	return res.UnreadMissed, nil
}

// MarkRead marks the user's entries with these ids read.
func (r *Remote) MarkRead(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := r.do(ctx, "mark_read", markReadArgs{IDs: ids})
	return err
}

// MarkAllRead marks every entry of the user read.
func (r *Remote) MarkAllRead(ctx context.Context) error {
	_, err := r.do(ctx, "mark_read", markReadArgs{All: true})
	return err
}
