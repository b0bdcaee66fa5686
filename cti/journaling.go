package cti

import (
	"context"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// This file records every call in the journal (cti/journal) when it ends
// and offers the journal to frontends: list, unread missed count, mark
// read, export.

// recordTimeout bounds one journal write (SQLite waits up to its busy
// timeout for other writers).
const recordTimeout = 15 * time.Second

// journaling writes ended calls to the journal off the event path: the
// event path only queues; one writer goroutine records. The queue is
// unbounded so a slow disk never loses a call and never blocks phone.
type journaling struct {
	j      *journal.Journal
	user   string
	device string

	mu      sync.Mutex
	queue   []phone.CallInfo
	closing bool
	wake    chan struct{} // cap 1: the writer has work
	done    chan struct{} // closed when the writer has returned
}

// initJournal resolves the user and device names and starts the writer
// (owned by the Service, joined by stopJournal in Shutdown and Close).
func (s *Service) initJournal(pc *phone.Config) {
	user := s.opts.User
	if user == "" && pc.Account != nil {
		user = pc.Account.AOR
	}
	if user == "" {
		user = pc.Name
	}
	if user == "" {
		user = "anyphone"
	}
	device := s.opts.Device
	if device == "" {
		device = "desk"
	}
	s.journal = &journaling{j: s.opts.Journal, user: user, device: device}
	if s.opts.Journal == nil {
		return
	}
	s.journal.wake = make(chan struct{}, 1)
	s.journal.done = make(chan struct{})
	go s.journalWriter()
}

// journalCall queues an ended call for the journal. It runs on the event
// path and never blocks.
func (s *Service) journalCall(ci phone.CallInfo) {
	jr := s.journal
	if jr.j == nil {
		return
	}
	jr.mu.Lock()
	if jr.closing {
		jr.mu.Unlock()
		s.log.Warn("journal closed: call not recorded", "call_id", ci.ID)
		return
	}
	jr.queue = append(jr.queue, ci)
	jr.mu.Unlock()
	select {
	case jr.wake <- struct{}{}:
	default:
	}
}

// journalWriter is the writer goroutine: it records queued calls until
// stopJournal, then drains the queue and returns.
func (s *Service) journalWriter() {
	jr := s.journal
	defer close(jr.done)
	for {
		jr.mu.Lock()
		batch := jr.queue
		jr.queue = nil
		closing := jr.closing
		jr.mu.Unlock()
		for _, ci := range batch {
			s.recordCall(ci)
		}
		if len(batch) > 0 {
			continue
		}
		if closing {
			return
		}
		<-jr.wake
	}
}

// recordCall writes one call and publishes JournalChanged.
func (s *Service) recordCall(ci phone.CallInfo) {
	jr := s.journal
	device := jr.device
	if ci.Device != "" {
		device = ci.Device // a call carried by another device (devicecalls.go)
	}
	e := entryFor(ci, jr.user, device, s.policy.aor, s.Policy().Region)
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	id, err := jr.j.Record(ctx, e)
	if err != nil {
		s.log.Error("journal record", "call_id", ci.ID, "err", err)
		s.Notify(NoticeError, "journal: "+err.Error())
		return
	}
	e.ID = id
	n, err := jr.j.UnreadMissed(ctx, jr.user)
	if err != nil {
		s.log.Error("journal unread missed", "err", err)
	}
	s.publish(JournalChanged{Entry: e, UnreadMissed: n})
}

// stopJournal lets the writer drain the queue and waits for it. Called by
// Shutdown and Close once the phone has stopped (so no call ends later).
func (s *Service) stopJournal() {
	jr := s.journal
	if jr == nil || jr.j == nil {
		return
	}
	jr.mu.Lock()
	jr.closing = true
	jr.mu.Unlock()
	select {
	case jr.wake <- struct{}{}:
	default:
	}
	<-jr.done
}

// entryFor builds the journal row of an ended call. calledAOR is our AOR
// ("" to use the call's local party) for secondary-call classification;
// region is the default region for E.164 normalisation.
func entryFor(ci phone.CallInfo, user, device, calledAOR, region string) journal.Entry {
	if calledAOR == "" {
		calledAOR = ci.Local.URI
	}
	answered := !ci.Answered.IsZero()
	e := journal.Entry{
		User:      user,
		Key:       journal.DedupeKey(ci.SIPCallID, ci.SIPFromTag),
		SIPCallID: ci.SIPCallID,
		FromTag:   ci.SIPFromTag,
		Direction: ci.Direction,
		Local:     journal.IdentityOf(ci.Local, region),
		Remote:    journal.IdentityOf(ci.Remote, region),
		Started:   ci.Created,
		Answered:  ci.Answered,
		Ended:     ci.Ended,
		Outcome:   outcomeOf(ci),
		BusyRule:  ci.Rule,
		Device:    device,
		Note:      endNote(ci), // endnote.go
		Codec:     ci.Codec,
		SRTP:      ci.SRTP,
	}
	if e.Key == "" {
		e.Key = "local:" + string(ci.ID) + ";" + ci.Created.UTC().Format(time.RFC3339Nano)
	}
	if ci.Direction == phone.Incoming {
		sec := phone.ClassifySecondary(ci.Headers, calledAOR)
		e.Secondary, e.SecondaryText = sec.Kind, sec.Describe()
	}
	if e.Ended.IsZero() {
		e.Ended = time.Now()
	}
	if end := ci.End; end != nil && !answered {
		e.Code, e.Phrase, e.Q850 = end.Code, end.Reason, end.Q850
		switch {
		case e.Phrase == "" && end.Text != "":
			e.Phrase = end.Text // "Call completed elsewhere", "caller gave up"
		case e.Phrase == "" && e.Code >= 300:
			e.Phrase = phone.SIPPhrase(e.Code)
		}
	} else if end != nil {
		e.Q850 = end.Q850
		if end.Cause == phone.EndTransferred {
			e.Phrase = end.Text // "transferred to sip:bob@…": where it went
		}
	}
	e.Missed = e.IsMissed()
	return e
}

// outcomeOf is journal.OutcomeFor with one distinction phone's EndInfo
// cannot make: an incoming call rejected by the user (Service.Reject, the
// endpoint's --answer reject) was declined whatever code was sent, while
// one the busy policy rejected keeps the outcome of its code (busy,
// unavailable, voicemail).
func outcomeOf(ci phone.CallInfo) journal.Outcome {
	answered := !ci.Answered.IsZero()
	o := journal.OutcomeFor(ci.Direction, answered, ci.End)
	if !answered && ci.Direction == phone.Incoming && ci.End != nil && ci.End.Cause == phone.EndRejected &&
		ci.Screen != phone.ScreenReject && ci.Screen != phone.ScreenRedirect {
		return journal.OutcomeDeclined
	}
	if !answered && ci.Direction == phone.Incoming &&
		ci.Rule != phone.RuleMaxCalls && slices.Contains(phone.RefusalRules, ci.Rule) {
		// Our strict-hold profile refused a held offer, or the offer was
		// unusable, or the ACL, validation or the session timer refused it
		// (phone.CallRefused): declined by this phone, not a
		// missed call (the caller usually retries in another dialect and
		// gets through). A max-calls 486 keeps its code's outcome (busy).
		return journal.OutcomeDeclined
	}
	if !answered && ci.Direction == phone.Outgoing && ci.End != nil && ci.End.Code >= 300 && ci.End.Code < 400 {
		// A 3xx we did not follow reached no voicemail: nobody answered
		// (the note says where it pointed, endnote.go).
		return journal.OutcomeUnavailable
	}
	return o
}

// journalFilter scopes f to this Service's user.
func (s *Service) journalFilter(f journal.Filter) journal.Filter {
	if f.User == "" {
		f.User = s.journal.user
	}
	return f
}

// Journal lists this user's calls that f selects, newest first (f.User
// defaults to Options.User). It returns ErrNoJournal without a journal.
func (s *Service) Journal(ctx context.Context, f journal.Filter) ([]journal.Entry, error) {
	if s.journal.j == nil {
		return nil, ErrNoJournal
	}
	return s.journal.j.List(ctx, s.journalFilter(f))
}

// UnreadMissed counts this user's unread missed calls.
func (s *Service) UnreadMissed(ctx context.Context) (int, error) {
	if s.journal.j == nil {
		return 0, ErrNoJournal
	}
	return s.journal.j.UnreadMissed(ctx, s.journal.user)
}

// MarkRead marks journal entries read and publishes JournalChanged with the
// new unread count.
func (s *Service) MarkRead(ctx context.Context, ids ...int64) error {
	if s.journal.j == nil {
		return ErrNoJournal
	}
	if err := s.journal.j.MarkRead(ctx, ids...); err != nil {
		return err
	}
	return s.publishUnread(ctx)
}

// MarkAllRead marks every entry of this user read.
func (s *Service) MarkAllRead(ctx context.Context) error {
	if s.journal.j == nil {
		return ErrNoJournal
	}
	if err := s.journal.j.MarkAllRead(ctx, s.journal.user); err != nil {
		return err
	}
	return s.publishUnread(ctx)
}

func (s *Service) publishUnread(ctx context.Context) error {
	n, err := s.journal.j.UnreadMissed(ctx, s.journal.user)
	if err != nil {
		return err
	}
	s.publish(JournalChanged{UnreadMissed: n})
	return nil
}

// ExportJournal writes this user's calls that f selects to w as "csv" or
// "json" (journal.ErrBadFormat otherwise).
func (s *Service) ExportJournal(ctx context.Context, w io.Writer, format string, f journal.Filter) error {
	if s.journal.j == nil {
		return ErrNoJournal
	}
	return s.journal.j.Export(ctx, w, format, s.journalFilter(f))
}
