package ctl

import (
	"encoding/json"
	"sync"
	"time"
)

// slowCommand is how long the connection waits for a command on a call
// before it reads the next one (issue 17): a command that waits for a peer
// (a hold whose re-INVITE goes unanswered runs until Timer B, 32 s) must
// not hold up the other commands and calls of the connection. Commands
// that finish within it keep the strict order of a sequential connection.
const slowCommand = 100 * time.Millisecond

// lanes orders the commands of one connection per call: a command naming a
// call_id runs on its own goroutine after the previous command on that
// call has finished, so hold then resume on one call keep their order
// while a hung hold on one call does not hold up commands on others. It is
// owned by serveConn, which waits for it on return.
type lanes struct {
	mu   sync.Mutex
	last map[string]chan struct{} // call id → closed when its last command is done
	wg   sync.WaitGroup
}

// laneOf returns the call a command line names in args.call_id, or "" (the
// command runs in line, as before).
func laneOf(line []byte) string {
	req, err := DecodeCommand(line)
	if err != nil || len(req.Args) == 0 {
		return ""
	}
	var a struct {
		CallID string `json:"call_id"`
	}
	if json.Unmarshal(req.Args, &a) != nil {
		return ""
	}
	return a.CallID
}

// run queues fn on call's lane and returns a channel closed when fn is
// done.
func (l *lanes) run(call string, fn func()) <-chan struct{} {
	done := make(chan struct{})
	l.mu.Lock()
	if l.last == nil {
		l.last = make(map[string]chan struct{})
	}
	for id, ch := range l.last { // forget lanes that went idle
		select {
		case <-ch:
			delete(l.last, id)
		default:
		}
	}
	prev := l.last[call]
	l.last[call] = done
	l.mu.Unlock()
	l.wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		fn()
	})
	return done
}

// wait joins every command started by run. A command ends when the phone
// answers it: a re-INVITE at Timer B at the latest, or at once when the
// phone shuts down.
func (l *lanes) wait() { l.wg.Wait() }
