package phone

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The SIP ladders a phone keeps, by SIP Call-ID, outliving their calls: a
// failed or ended call can still be inspected (issue 13, sngrep is the
// anchor). Messages are recorded from the first one of a dialog on (the
// INVITE of an incoming call arrives before the call exists), and kept in
// send/receive order.
const (
	// keptCallLadders bounds the ladders of calls (ended ones included).
	keptCallLadders = 200
	// keptOtherLadders bounds the dialogs no call owns (REGISTER, OPTIONS,
	// SUBSCRIBE, and an INVITE before its call is made).
	keptOtherLadders = 64
	// keptLadderBytes bounds the raw text of all kept ladders.
	keptLadderBytes = 16 << 20
)

type ladderRec struct {
	sipIDs []string // a redialled call has a second Call-ID
	call   CallID   // "" until a call owns it
	msgs   []SIPMessage
	size   int
}

type ladderStore struct {
	mu     sync.Mutex
	bySIP  map[string]*ladderRec
	byCall map[CallID]*ladderRec
	calls  []*ladderRec // oldest first: evicted first
	others []*ladderRec
	size   int
	// sends holds the times messages were handed to the transport, so a
	// message is ordered by when it left, not by when the write returned
	// (a response can be read before the write of its request is traced).
	sends map[string]time.Time
}

func newLadderStore() *ladderStore {
	return &ladderStore{
		bySIP:  map[string]*ladderRec{},
		byCall: map[CallID]*ladderRec{},
		sends:  map[string]time.Time{},
	}
}

func sendKey(callID, cseq, summary string) string {
	return callID + "\x00" + cseq + "\x00" + summary
}

// stamp records that m is about to be sent now.
func (s *ladderStore) stamp(m sip.Message) {
	if s == nil {
		return
	}
	callID := callIDOf(m)
	if callID == "" {
		return
	}
	cseq := ""
	if h := m.CSeq(); h != nil {
		cseq = h.Value()
	}
	var summary string
	switch v := m.(type) {
	case *sip.Request:
		summary = v.Method.String()
	case *sip.Response:
		summary = fmt.Sprintf("%d %s", v.StatusCode, v.Reason)
	default:
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sends) > 1024 {
		for k, t := range s.sends {
			if now.Sub(t) > time.Minute {
				delete(s.sends, k)
			}
		}
		if len(s.sends) > 4096 {
			clear(s.sends) // sends that never reached the tracer
		}
	}
	k := sendKey(callID, cseq, summary)
	if _, ok := s.sends[k]; !ok {
		s.sends[k] = now
	}
}

// sentAt is when the message was handed to the transport, if stamped; the
// stamp is used once (a retransmission is timed when its write returns).
func (s *ladderStore) sentAt(callID, cseq, summary string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sendKey(callID, cseq, summary)
	t, ok := s.sends[k]
	if ok {
		delete(s.sends, k)
	}
	return t, ok
}

// add records m on the dialog sipID, in time order.
func (s *ladderStore) add(sipID string, m SIPMessage) {
	if sipID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.bySIP[sipID]
	if r == nil {
		r = &ladderRec{sipIDs: []string{sipID}}
		s.bySIP[sipID] = r
		s.others = append(s.others, r)
		for len(s.others) > keptOtherLadders {
			s.drop(s.others[0])
		}
	}
	if len(r.msgs) >= maxLadder {
		// keep the opening exchange, drop the oldest of the rest
		gone := r.msgs[maxLadder/4]
		r.size -= len(gone.Raw)
		s.size -= len(gone.Raw)
		r.msgs = slices.Delete(r.msgs, maxLadder/4, maxLadder/4+1)
	}
	i := len(r.msgs)
	for i > 0 && r.msgs[i-1].Time.After(m.Time) {
		i--
	}
	r.msgs = slices.Insert(r.msgs, i, m)
	r.size += len(m.Raw)
	s.size += len(m.Raw)
	for s.size > keptLadderBytes {
		switch {
		case len(s.others) > 0 && s.others[0] != r:
			s.drop(s.others[0])
		case len(s.calls) > 0 && s.calls[0] != r:
			s.drop(s.calls[0])
		default:
			return
		}
	}
}

// link makes sipID's dialog (and what was recorded on it so far) the
// ladder of call id.
func (s *ladderStore) link(id CallID, sipID string) {
	if id == "" || sipID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	own := s.byCall[id]
	r := s.bySIP[sipID]
	switch {
	case own != nil && r == own:
		return
	case own != nil && r != nil:
		// a second dialog for the same call (redial): merge it in
		for _, m := range r.msgs {
			i := len(own.msgs)
			for i > 0 && own.msgs[i-1].Time.After(m.Time) {
				i--
			}
			own.msgs = slices.Insert(own.msgs, i, m)
		}
		own.size += r.size
		r.size = 0
		s.unlist(r)
		own.sipIDs = append(own.sipIDs, sipID)
		s.bySIP[sipID] = own
	case own != nil:
		own.sipIDs = append(own.sipIDs, sipID)
		s.bySIP[sipID] = own
	default:
		if r == nil {
			r = &ladderRec{sipIDs: []string{sipID}}
			s.bySIP[sipID] = r
		} else {
			s.unlist(r)
		}
		r.call = id
		s.byCall[id] = r
		s.calls = append(s.calls, r)
		for len(s.calls) > keptCallLadders {
			s.drop(s.calls[0])
		}
	}
}

// unlist takes r out of the eviction lists.
func (s *ladderStore) unlist(r *ladderRec) {
	s.others = slices.DeleteFunc(s.others, func(x *ladderRec) bool { return x == r })
	s.calls = slices.DeleteFunc(s.calls, func(x *ladderRec) bool { return x == r })
}

// drop forgets r.
func (s *ladderStore) drop(r *ladderRec) {
	s.unlist(r)
	for _, id := range r.sipIDs {
		if s.bySIP[id] == r {
			delete(s.bySIP, id)
		}
	}
	if r.call != "" && s.byCall[r.call] == r {
		delete(s.byCall, r.call)
	}
	s.size -= r.size
}

// known reports whether sipID is a dialog recorded here.
func (s *ladderStore) known(sipID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.bySIP[sipID]
	return ok
}

// ladder is a copy of call id's messages, oldest first; id may also be a
// SIP Call-ID (a dialog no call owns: REGISTER, OPTIONS, ...).
func (s *ladderStore) ladder(id CallID) []SIPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byCall[id]
	if r == nil {
		r = s.bySIP[string(id)]
	}
	if r == nil {
		return nil
	}
	return slices.Clone(r.msgs)
}

// dialogs lists the kept dialogs no call owns, oldest first.
func (s *ladderStore) dialogs() []Dialog {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Dialog, 0, len(s.others))
	for _, r := range s.others {
		if len(r.msgs) == 0 {
			continue
		}
		first := r.msgs[0]
		d := Dialog{SIPCallID: r.sipIDs[0], Peer: first.Remote, Messages: len(r.msgs), Last: r.msgs[len(r.msgs)-1].Time}
		if f := strings.Fields(first.CSeq); len(f) == 2 {
			d.Method = f[1]
		} else {
			d.Method = first.Summary
		}
		out = append(out, d)
	}
	return out
}
