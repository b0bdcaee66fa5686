package cti

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/anyphone/anyphone/cti/journal"
)

// UserController is an AnyDevice controller of many users that checks
// their tokens: *anydevice.Controller.
type UserController interface {
	AnyDevice
	// Authenticate checks user's token (in constant time); a refusal is
	// the controller's to event and journal.
	Authenticate(user, token string) error
}

// Lines are the users' Lines of a shared AnyDevice controller (`anyphone
// controller`): the control protocol (cti/ctl) serves each authenticated
// connection the Line of its user. A user's Line is made at the user's
// first authenticated connection and kept until Close: it follows the
// user's calls for every connection of that user, and a connection sees
// and acts on its own user's calls only.
type Lines struct {
	ad  UserController
	log *slog.Logger

	mu     sync.Mutex
	lines  map[string]*Line // guarded by mu
	closed bool             // guarded by mu
	j      *journal.Journal // the controller's journal for every Line; guarded by mu
}

// SetJournal gives every Line, now and later, the controller's journal:
// each user reads and marks her own rows of it.
func (ls *Lines) SetJournal(j *journal.Journal) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.j = j
	for _, l := range ls.lines {
		l.SetJournal(j)
	}
}

// JournalChanged tells user's Line, if it is open, that a row of hers was
// recorded: its subscribers get the new unread missed-call count.
// ControllerJournal.OnRecorded calls it.
func (ls *Lines) JournalChanged(user string) {
	ls.mu.Lock()
	l := ls.lines[user]
	ls.mu.Unlock()
	if l == nil {
		return
	}
	if err := l.JournalChanged(context.Background()); err != nil {
		ls.log.Warn("journal changed", "user", user, "err", err)
	}
}

// NewLines serves the users of ad; log (nil: slog.Default) is each Line's,
// with the user named.
func NewLines(ad UserController, log *slog.Logger) *Lines {
	if log == nil {
		log = slog.Default()
	}
	return &Lines{ad: ad, log: log, lines: map[string]*Line{}}
}

// Open authenticates user with token and returns the user's Line. A wrong
// token, or an unknown user, returns the controller's error and no Line;
// so does Open after Close.
func (ls *Lines) Open(user, token string) (*Line, error) {
	if err := ls.ad.Authenticate(user, token); err != nil {
		return nil, err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed {
		return nil, errLinesClosed
	}
	l := ls.lines[user]
	if l == nil {
		l = NewLine(ls.ad, user, ls.log.With("user", user))
		l.SetJournal(ls.j)
		ls.lines[user] = l
	}
	return l, nil
}

// errLinesClosed answers Open after Close.
var errLinesClosed = errors.New("cti: the controller is shutting down")

// Close closes every Line (their subscriptions end).
func (ls *Lines) Close() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.closed = true
	for _, l := range ls.lines {
		l.Close()
	}
	clear(ls.lines)
}
