package phone_test

import (
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// both runs fa and fb at the same moment and returns their errors.
func both(fa, fb func() error) (error, error) {
	var wg sync.WaitGroup
	var ea, eb error
	start := make(chan struct{})
	wg.Go(func() { <-start; ea = fa() })
	wg.Go(func() { <-start; eb = fb() })
	close(start)
	wg.Wait()
	return ea, eb
}

func TestHoldGlareBothEnds(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	id, in := connect(t, a, b, 440, 1000)
	for _, s := range []struct {
		name   string
		fa, fb func() error
	}{
		{"both hold", func() error { return a.Hold(id) }, func() error { return b.Hold(in) }},
		{"both resume", func() error { return a.Resume(id) }, func() error { return b.Resume(in) }},
	} {
		ea, eb := both(s.fa, s.fb)
		if ea != nil || eb != nil {
			t.Fatalf("%s: alice %v, bob %v", s.name, ea, eb)
		}
	}
	a.Events.WaitCall(t, 5*time.Second, "alice not held", func(ci phone.CallInfo) bool { return ci.ID == id && !ci.RemoteHold && !ci.LocalHold })
	b.Events.WaitCall(t, 5*time.Second, "bob not held", func(ci phone.CallInfo) bool { return ci.ID == in && !ci.RemoteHold && !ci.LocalHold })
	a.Media.Detector(id).Reset()
	b.Media.Detector(in).Reset()
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	b.Media.WaitTone(t, in, 440, 5*time.Second)
}

// TestGlareBackoff: a re-INVITE answered 491 is sent again after the RFC
// 3261 §14.1 back-off (2.1-4 s when we own the Call-ID, 0-2 s otherwise),
// in a new transaction with the next CSeq, and ACKed with that CSeq.
func TestGlareBackoff(t *testing.T) {
	const slack = 400 * time.Millisecond // scheduling under -race
	for _, tc := range []struct {
		name     string
		weDial   bool // we generated the Call-ID
		min, max time.Duration
	}{
		{name: "we own the Call-ID", weDial: true, min: 2100 * time.Millisecond, max: 4 * time.Second},
		{name: "the peer owns the Call-ID", weDial: false, min: 0, max: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
			peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
			peer.mu.Lock()        // the peer already serves requests
			peer.reinvite = func(n int) (int, string) {
				if n == 0 {
					return sip.StatusRequestPending, ""
				}
				return 200, "recvonly"
			}
			peer.mu.Unlock()
			var id phone.CallID
			if tc.weDial {
				var err error
				if id, err = ph.Dial(t.Context(), peer.uri(), phone.DialOptions{}); err != nil {
					t.Fatal(err)
				}
				ph.Events.WaitState(t, id, phone.CallActive)
			} else {
				id = peer.call(ph).ID
			}
			defer hangup(t, ph, id)
			if err := ph.Hold(id); err != nil {
				t.Fatalf("%s: hold after 491: %v", tc.name, err)
			}
			if ci, _ := ph.Call(id); !ci.LocalHold {
				t.Errorf("%s: LocalHold false after the retried hold", tc.name)
			}
			invites := peer.requests(sip.INVITE)
			if len(invites) != 2 {
				t.Fatalf("%s: peer got %d re-INVITEs, want 2 (491, then the retry)", tc.name, len(invites))
			}
			gap := invites[1].at.Sub(invites[0].at)
			if gap < tc.min || gap > tc.max+slack {
				t.Errorf("%s: retry after %s, want %s-%s", tc.name, gap.Round(10*time.Millisecond), tc.min, tc.max)
			}
			if invites[1].cseq <= invites[0].cseq {
				t.Errorf("%s: retry CSeq %d not above %d", tc.name, invites[1].cseq, invites[0].cseq)
			}
			acks := peer.waitRequests(sip.ACK, 2*time.Second, func(acks []peerRequest) bool {
				return len(acks) > 0 && acks[len(acks)-1].cseq == invites[1].cseq
			})
			if len(acks) == 0 || acks[len(acks)-1].cseq != invites[1].cseq {
				t.Errorf("%s: no ACK with CSeq %d for the retried re-INVITE (acks %v)", tc.name, invites[1].cseq, acks)
			}
		})
	}
}
