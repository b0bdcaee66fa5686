package cti

import (
	"context"
	"io"

	"github.com/anyphone/anyphone/cti/journal"
)

// The journal of a Line is the controller's journal, which records every
// user's calls once (ControllerJournal): a Line reads, counts and marks
// its own user's entries only, whatever the filter asks.

// SetJournal gives the Line the controller's journal (nil: none).
func (l *Line) SetJournal(j *journal.Journal) {
	l.mu.Lock()
	l.j = j
	l.mu.Unlock()
}

func (l *Line) journal() (*journal.Journal, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.j == nil {
		return nil, ErrNoJournal
	}
	return l.j, nil
}

// Journal lists the user's calls, newest first.
func (l *Line) Journal(ctx context.Context, f journal.Filter) ([]journal.Entry, error) {
	j, err := l.journal()
	if err != nil {
		return nil, err
	}
	f.User = l.user
	return j.List(ctx, f)
}

// UnreadMissed counts the user's unread missed calls.
func (l *Line) UnreadMissed(ctx context.Context) (int, error) {
	j, err := l.journal()
	if err != nil {
		return 0, err
	}
	return j.UnreadMissed(ctx, l.user)
}

// MarkRead marks the user's entries with these ids read (another user's
// ids are ignored) and publishes the new unread count.
func (l *Line) MarkRead(ctx context.Context, ids ...int64) error {
	j, err := l.journal()
	if err != nil {
		return err
	}
	if err := j.MarkReadFor(ctx, l.user, ids...); err != nil {
		return err
	}
	return l.JournalChanged(ctx)
}

// MarkAllRead marks every entry of the user read.
func (l *Line) MarkAllRead(ctx context.Context) error {
	j, err := l.journal()
	if err != nil {
		return err
	}
	if err := j.MarkAllRead(ctx, l.user); err != nil {
		return err
	}
	return l.JournalChanged(ctx)
}

// ExportJournal writes the user's entries as CSV or JSON.
func (l *Line) ExportJournal(ctx context.Context, w io.Writer, format string, f journal.Filter) error {
	j, err := l.journal()
	if err != nil {
		return err
	}
	f.User = l.user
	return j.Export(ctx, w, format, f)
}

// JournalChanged publishes the user's unread missed-call count: the
// controller's journal writer calls it (through Lines) after it recorded
// a row of the user's.
func (l *Line) JournalChanged(ctx context.Context) error {
	n, err := l.UnreadMissed(ctx)
	if err != nil {
		return err
	}
	l.bus.Publish(JournalChanged{UnreadMissed: n})
	return nil
}
