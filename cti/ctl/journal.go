package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// This file holds the journal commands: journal, unread_missed, mark_read
// and export_journal.

// Journaler is the call-journal side of a Controller; *cti.Service
// implements it. A Controller without it, or a Service without a journal,
// answers the journal commands with code unsupported.
type Journaler interface {
	Journal(ctx context.Context, f journal.Filter) ([]journal.Entry, error)
	UnreadMissed(ctx context.Context) (int, error)
	MarkRead(ctx context.Context, ids ...int64) error
	MarkAllRead(ctx context.Context) error
	ExportJournal(ctx context.Context, w io.Writer, format string, f journal.Filter) error
}

// MaxExport bounds export_journal's data, in bytes: the response must fit
// a client's read limit (16 MiB). Narrow a larger export with since,
// before or limit, or page it with offset.
const MaxExport = 8 << 20

// journalViews are the wire names of journal.View.
var journalViews = map[string]journal.View{
	"": journal.ViewAll, "all": journal.ViewAll, "missed": journal.ViewMissed,
	"secondary": journal.ViewSecondary, "answered_elsewhere": journal.ViewAnsweredElsewhere,
	"incoming": journal.ViewIncoming, "outgoing": journal.ViewOutgoing,
}

// journalArgs selects journal entries; every member is optional. The user
// is always the instance's own.
type journalArgs struct {
	// View is all (default), missed, secondary, answered_elsewhere,
	// incoming or outgoing.
	View   string    `json:"view,omitempty"`
	Unread bool      `json:"unread,omitempty"`
	Search string    `json:"search,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Before time.Time `json:"before,omitzero"`
	Limit  int       `json:"limit,omitempty"`
	Offset int       `json:"offset,omitempty"`
}

func (a *journalArgs) check() error {
	if _, ok := journalViews[a.View]; !ok {
		return fmt.Errorf("view: %q is not all, missed, secondary, answered_elsewhere, incoming or outgoing", a.View)
	}
	if a.Limit < 0 {
		return fmt.Errorf("limit: %d is negative", a.Limit)
	}
	if a.Offset < 0 {
		return fmt.Errorf("offset: %d is negative", a.Offset)
	}
	return nil
}

func (a *journalArgs) filter() journal.Filter {
	return journal.Filter{View: journalViews[a.View], Unread: a.Unread, Search: a.Search,
		Since: a.Since, Before: a.Before, Limit: a.Limit, Offset: a.Offset}
}

// exportArgs is export_journal's args: a format and the selection.
type exportArgs struct {
	Format string `json:"format"`
	journalArgs
}

func (a *exportArgs) check() error {
	var err error
	if a.Format != journal.FormatCSV && a.Format != journal.FormatJSON {
		err = fmt.Errorf("format: %q is not csv or json", a.Format)
	}
	return errors.Join(err, a.journalArgs.check())
}

// markReadArgs is mark_read's args: ids, or all.
type markReadArgs struct {
	IDs []int64 `json:"ids,omitempty"`
	All bool    `json:"all,omitempty"`
}

func (a *markReadArgs) check() error {
	switch {
	case a.All && len(a.IDs) > 0:
		return errors.New("ids and all: give one, not both")
	case !a.All && len(a.IDs) == 0:
		return errors.New("ids or all: missing")
	}
	return nil
}

// Results of the journal commands.
type (
	journalResult struct {
		Entries []journal.Entry `json:"entries"`
	}
	unreadResult struct {
		UnreadMissed int `json:"unread_missed"`
	}
	exportResult struct {
		Format string `json:"format"`
		Data   string `json:"data"`
	}
)

// journaler returns s's Journaler or an unsupported error.
func (s *session) journaler() (Journaler, error) {
	if j, ok := s.c.(Journaler); ok {
		return j, nil
	}
	return nil, &Error{Code: CodeUnsupported, Message: "this instance has no journal"}
}

// errExportTooLarge is cappedBuffer's error past MaxExport.
var errExportTooLarge = fmt.Errorf("export is larger than %d bytes: narrow it with since, before or limit", MaxExport)

// cappedBuffer is a bytes.Buffer that refuses to grow past MaxExport.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxExport {
		return 0, errExportTooLarge
	}
	return b.Buffer.Write(p)
}

// journalCommands are the journal entries of the command table.
func journalCommands() map[string]commandSpec {
	return map[string]commandSpec{
		"journal": command("list calls, newest first: view? (all, missed, secondary, answered_elsewhere, incoming, outgoing), unread?, search?, since?, before?, limit?, offset?",
			func(ctx context.Context, s *session, a journalArgs) (any, error) {
				j, err := s.journaler()
				if err != nil {
					return nil, err
				}
				es, err := j.Journal(ctx, a.filter())
				if err != nil {
					return nil, err
				}
				if es == nil {
					es = []journal.Entry{}
				}
				return journalResult{es}, nil
			}),
		"unread_missed": command("the unread missed-call count",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				j, err := s.journaler()
				if err != nil {
					return nil, err
				}
				n, err := j.UnreadMissed(ctx)
				if err != nil {
					return nil, err
				}
				return unreadResult{n}, nil
			}),
		"mark_read": command("mark journal entries read: ids or all; returns the unread missed-call count",
			func(ctx context.Context, s *session, a markReadArgs) (any, error) {
				j, err := s.journaler()
				if err != nil {
					return nil, err
				}
				if a.All {
					err = j.MarkAllRead(ctx)
				} else {
					err = j.MarkRead(ctx, a.IDs...)
				}
				if err != nil {
					return nil, err
				}
				n, err := j.UnreadMissed(ctx)
				if err != nil {
					return nil, err
				}
				return unreadResult{n}, nil
			}),
		"export_journal": command("export calls as one string: format (csv, json), and the journal selection",
			func(ctx context.Context, s *session, a exportArgs) (any, error) {
				j, err := s.journaler()
				if err != nil {
					return nil, err
				}
				var buf cappedBuffer
				if err := j.ExportJournal(ctx, &buf, a.Format, a.filter()); err != nil {
					if errors.Is(err, errExportTooLarge) {
						return nil, badRequest("%v", errExportTooLarge)
					}
					return nil, err
				}
				return exportResult{a.Format, buf.String()}, nil
			}),
	}
}
