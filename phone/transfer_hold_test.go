package phone_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestTransferHoldAnsweredLate (issue 17): the transferee answers the
// transfer's hold re-INVITE only after 900 ms. The REFER does not wait for
// it (it goes after 500 ms: Transfer returns well before the hold's
// answer), and the ACK of the late 2xx carries the re-INVITE's CSeq, not
// the REFER's that sipgo would give it (RFC 3261 §13.2.2.4). The REFER
// is refused, so the hold is taken back once answered.
func TestTransferHoldAnsweredLate(t *testing.T) {
	ph := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
	peer.mu.Lock()
	peer.reinvite = func(int) (int, string) {
		time.Sleep(900 * time.Millisecond) // the peer's lock held: nothing else is recorded meanwhile
		return 200, "recvonly"
	}
	peer.mu.Unlock()
	id, err := ph.Dial(t.Context(), peer.uri(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ph.Events.WaitState(t, id, phone.CallActive)
	start := time.Now()
	_ = ph.Transfer(id, "sip:target@127.0.0.1:9") // the peer has no REFER handler: refused or unanswered
	if took := time.Since(start); took > 850*time.Millisecond {
		t.Errorf("Transfer returned after %s: the REFER waited for the hold's answer (900 ms)", took.Round(time.Millisecond))
	}
	// The REFER is refused, so the hold is taken back once it is answered
	// (a second re-INVITE): every ACK must carry an INVITE's CSeq.
	var invites []peerRequest
	acks := peer.waitRequests(sip.ACK, 5*time.Second, func(acks []peerRequest) bool {
		invites = peer.requestsLocked(sip.INVITE)
		return len(invites) >= 1 && len(acks) >= 1+len(invites)
	})
	if len(invites) == 0 {
		t.Fatal("the peer got no hold re-INVITE")
	}
	if len(acks) < 2 {
		t.Fatalf("no ACK for the hold's late 2xx (acks %v)", acks)
	}
	if got, want := acks[1].cseq, invites[0].cseq; got != want {
		t.Errorf("the hold's ACK has CSeq %d, want the re-INVITE's %d (acks %v, re-INVITEs %v)", got, want, acks, invites)
	}
	for i, a := range acks[1:] {
		if i < len(invites) && a.cseq != invites[i].cseq {
			t.Errorf("ACK %d has CSeq %d, want the re-INVITE's %d", i+1, a.cseq, invites[i].cseq)
		}
	}
}
