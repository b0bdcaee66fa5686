package cti

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// ControllerJournal records the controller's sessions and refusals in the
// call journal: one entry per whole bridged call (SessionEnded, however
// many legs it had) and one per refusal with its rule. Events arrive on
// phone goroutines that must not block, so a single writer goroutine
// does the SQLite work.
type ControllerJournal struct {
	j    *journal.Journal
	log  *slog.Logger
	ch   chan journal.Entry
	done chan struct{}

	mu       sync.Mutex
	closed   bool
	seq      int
	recorded func(user string) // guarded by mu
}

// OnRecorded calls f (on the writer goroutine) with the user of every row
// recorded from now on: Lines.JournalChanged, so a user's front ends learn
// their new unread missed-call count.
func (w *ControllerJournal) OnRecorded(f func(user string)) {
	w.mu.Lock()
	w.recorded = f
	w.mu.Unlock()
}

// NewControllerJournal records into j until Close; one writer goroutine does
// the SQLite work.
func NewControllerJournal(j *journal.Journal, log *slog.Logger) *ControllerJournal {
	w := &ControllerJournal{j: j, log: log, ch: make(chan journal.Entry, 1024), done: make(chan struct{})}
	go w.run() // joined by Close
	return w
}

func (w *ControllerJournal) run() {
	defer close(w.done)
	for e := range w.ch {
		if _, err := w.j.Record(context.Background(), e); err != nil {
			w.log.Warn("journal record", "user", e.User, "key", e.Key, "err", err)
			continue
		}
		w.mu.Lock()
		f := w.recorded
		w.mu.Unlock()
		if f != nil && e.User != "" {
			f(e.User)
		}
	}
}

// Add turns an event into a journal entry; other events are ignored. A
// full queue loses the entry (and logs it) rather than stall SIP.
func (w *ControllerJournal) Add(ev anydevice.Event) {
	var e journal.Entry
	switch x := ev.(type) {
	case anydevice.SessionEnded:
		e = sessionEntry(x.Session)
	case anydevice.Refused:
		w.mu.Lock()
		w.seq++
		e = refusedEntry(x, w.seq)
		w.mu.Unlock()
	default:
		return
	}
	if e.User == "" {
		e.User = "anydevice" // refusals before a user is known: the controller's own
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	select {
	case w.ch <- e:
	default:
		w.log.Warn("journal queue full: entry lost", "user", e.User, "key", e.Key)
	}
}

// Close writes what is queued and closes the journal.
func (w *ControllerJournal) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	<-w.done
	return w.j.Close()
}

// sessionEntry is the one journal record of a whole session: the remote
// party's leg decides identity and outcome, the device that carried the
// call is named.
func sessionEntry(s anydevice.SessionInfo) journal.Entry {
	dir := phone.Outgoing
	if s.Kind == anydevice.KindFollowMe {
		dir = phone.Incoming
	}
	e := journal.Entry{
		User: s.User, Key: "anydevice:" + string(s.ID) + ":" + s.Created.UTC().Format(time.RFC3339Nano),
		Direction: dir, Started: s.Created, Answered: s.Answered, Ended: s.Ended,
		Device: s.Device, Remote: journal.Identity{Number: journal.NormalizeNumber(s.Remote, "")},
	}
	var rem, dev *anydevice.LegInfo
	for i := range s.Legs {
		l := &s.Legs[i]
		switch {
		case l.Role == "remote" && rem == nil:
			rem = l
		case l.Role == "device" && l.Device == s.Device:
			dev = l
		}
	}
	end := (*phone.EndInfo)(nil)
	if rem != nil {
		e.SIPCallID = rem.Call.SIPCallID
		e.Key = "anydevice:" + rem.Call.SIPCallID
		e.Local = journal.IdentityOf(rem.Call.Local, "")
		e.Remote = journal.IdentityOf(rem.Call.Remote, "")
		end = rem.Call.End
		if dir == phone.Incoming {
			// why it came: a team call, forwarded, … (as the desk journals it)
			sec := phone.ClassifySecondary(rem.Call.Headers, rem.Call.Local.URI)
			e.Secondary, e.SecondaryText = sec.Kind, sec.Describe()
		}
	} else if dev != nil {
		end = dev.Call.End // the device never answered: the callback failed there
	}
	switch {
	case dev != nil && rem != nil && dev.Call.Codec != "" && rem.Call.Codec != "" && dev.Call.Codec != rem.Call.Codec:
		e.Codec = dev.Call.Codec + "/" + rem.Call.Codec // transcoded by the relay
	case rem != nil && rem.Call.Codec != "":
		e.Codec = rem.Call.Codec
	case dev != nil:
		e.Codec = dev.Call.Codec
	}
	e.Outcome = journal.OutcomeFor(dir, !s.Answered.IsZero(), end)
	if end != nil {
		e.Code, e.Q850 = end.Code, end.Q850
		e.Phrase = end.Reason
	}
	if e.Phrase == "" {
		e.Phrase = s.End
	}
	if s.End == "voicemail" && s.Answered.IsZero() {
		e.Outcome = journal.OutcomeVoicemail
	}
	if s.Transferred && !s.Answered.IsZero() {
		e.Outcome = journal.OutcomeTransferred // the user left the call to the target
	}
	return e
}

// refusedEntry records a refusal: an outgoing call that never left, with
// the rule that refused it.
func refusedEntry(r anydevice.Refused, seq int) journal.Entry {
	return journal.Entry{
		User:      r.User,
		Key:       fmt.Sprintf("anydevice-refused:%d:%d", r.Time.UnixNano(), seq),
		Direction: phone.Outgoing,
		Remote:    journal.Identity{URI: r.Target, Number: journal.NormalizeNumber(r.Target, "")},
		Started:   r.Time, Ended: r.Time,
		Outcome:  journal.OutcomeFailed,
		Code:     403,
		Phrase:   "refused: " + r.Detail,
		BusyRule: "anydevice:" + r.Rule,
	}
}
