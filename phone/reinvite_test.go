package phone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestMusicOnHold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		music string
		hear  float64 // what the held party hears; 0: silence
	}{
		{name: "tone", music: "tone:700", hear: 700},
		{name: "none", music: "", hear: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", HoldMusic: tc.music, HoldDialect: phone.HoldSendonly})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			id, in := connect(t, a, b, 440, 1000)
			if err := a.Hold(id); err != nil {
				t.Fatal(err)
			}
			b.Events.WaitCall(t, 5*time.Second, "bob held", func(ci phone.CallInfo) bool { return ci.ID == in && ci.RemoteHold })
			// Not waits: the holder's microphone audio sent before the hold
			// drains, then bob listens for 800 ms to what the hold sends.
			time.Sleep(300 * time.Millisecond)
			det := b.Media.Detector(in)
			det.Reset()
			time.Sleep(800 * time.Millisecond)
			if det.Total() == 0 {
				t.Fatalf("held party receives no RTP in sendonly hold")
			}
			if det.Detected(440, 0.3) {
				t.Errorf("held party hears the holder's microphone (440 Hz)")
			}
			if tc.hear > 0 && !det.Detected(tc.hear, 0.5) {
				t.Errorf("held party does not hear music %g Hz (ratio %.2f)", tc.hear, det.Ratio(tc.hear))
			}
			if err := a.Resume(id); err != nil {
				t.Fatal(err)
			}
			b.Events.WaitCall(t, 5*time.Second, "bob resumed", func(ci phone.CallInfo) bool { return ci.ID == in && !ci.RemoteHold })
			det.Reset()
			b.Media.WaitTone(t, in, 440, 5*time.Second)
		})
	}
}

func TestOwnReInvitesSerialised(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	id, in := connect(t, a, b, 440, 1000)
	// Several goroutines hold and resume the same call at once: each
	// re-INVITE waits for the previous one (no 491 from ourselves).
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			if i%2 == 0 {
				errs <- a.Hold(id)
			} else {
				errs <- a.Resume(id)
			}
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatalf("hold/resume: %v", err)
		}
	}
	if err := a.Resume(id); err != nil {
		t.Fatal(err)
	}
	b.Events.WaitCall(t, 5*time.Second, "bob resumed", func(ci phone.CallInfo) bool { return ci.ID == in && !ci.RemoteHold })
	a.Media.Detector(id).Reset()
	b.Media.Detector(in).Reset()
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	b.Media.WaitTone(t, in, 440, 5*time.Second)
}

func TestBothEndsHoldAndResume(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	id, in := connect(t, a, b, 440, 1000)
	steps := []struct {
		name string
		do   func() error
	}{
		{"alice holds", func() error { return a.Hold(id) }},
		{"bob holds", func() error { return b.Hold(in) }},
		{"alice resumes", func() error { return a.Resume(id) }},
		{"bob resumes", func() error { return b.Resume(in) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.name == "bob holds" {
			// RFC 3264 §6.1: alice, holding, answers bob's sendonly with
			// inactive (diago alone answers recvonly).
			if got := answerDirection(t, a, id); got != "inactive" {
				t.Errorf("alice's answer to bob's hold: a=%s, want a=inactive", got)
			}
			a.Events.WaitCall(t, 5*time.Second, "alice held both ways", func(ci phone.CallInfo) bool { return ci.ID == id && ci.RemoteHold && ci.LocalHold })
			b.Events.WaitCall(t, 5*time.Second, "bob held both ways", func(ci phone.CallInfo) bool { return ci.ID == in && ci.RemoteHold && ci.LocalHold })
		}
		if s.name == "alice resumes" {
			// bob still holds with sendonly: his answer says so.
			if got := answerDirection(t, b, in); got != "sendonly" {
				t.Errorf("bob's answer to alice's resume: a=%s, want a=sendonly", got)
			}
		}
	}
	a.Events.WaitCall(t, 5*time.Second, "alice not held", func(ci phone.CallInfo) bool { return ci.ID == id && !ci.RemoteHold && !ci.LocalHold })
	a.Media.Detector(id).Reset()
	b.Media.Detector(in).Reset()
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	b.Media.WaitTone(t, in, 440, 5*time.Second)
}

// answerDirection is the direction attribute of our 2xx to the last INVITE
// the phone received on the call, from its SIP ladder. sipgo traces a
// message after writing it, so the peer may hold our answer before the
// ladder does: wait for it.
func answerDirection(t *testing.T, p *phonetest.Phone, id phone.CallID) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ladder := p.Ladder(id)
		cseq := ""
		for _, m := range ladder {
			if !m.Sent && m.Summary == "INVITE" {
				cseq = m.CSeq
			}
		}
		for i := len(ladder) - 1; cseq != "" && i >= 0; i-- {
			m := ladder[i]
			if !m.Sent || !strings.HasPrefix(m.Summary, "200") || m.CSeq != cseq {
				continue
			}
			return direction([]byte(m.Raw)) // update_test.go
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 to INVITE %q in the ladder", cseq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReInviteWaitsForPeersAck: the peer's re-INVITE is answered but not
// yet ACKed when we hold. That INVITE transaction is still in progress
// (RFC 6026), so ours must wait for the ACK (RFC 3261 §14.1) instead of
// crossing it, and the hold still completes.
func TestReInviteWaitsForPeersAck(t *testing.T) {
	const delay = 700 * time.Millisecond
	b := phonetest.NewPhone(t, 440, &phone.Config{Name: "bob"})
	peer := newSIPPeer(t) // after the phone: it sets sipgo's globals
	in := peer.call(b)
	defer hangup(t, b, in.ID)
	if tag, _ := peer.from.Params.Get("tag"); in.SIPFromTag != tag || tag == "" {
		t.Errorf("CallInfo.SIPFromTag %q, want the INVITE's From tag %q", in.SIPFromTag, tag)
	}

	var ackAt time.Time
	held := make(chan error, 1)
	peer.beforeAck = func() {
		go func() { held <- b.Hold(in.ID) }()
		time.Sleep(delay) // the late ACK under test, not a wait
		ackAt = time.Now()
	}
	if res := peer.request(sip.INVITE, peer.sdp(0, "sendrecv")); res.StatusCode != 200 {
		t.Fatalf("re-INVITE answered %d %s", res.StatusCode, res.Reason)
	}
	peer.beforeAck = nil
	select {
	case err := <-held:
		if err != nil {
			t.Fatalf("hold: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hold did not return")
	}
	invites := peer.requests(sip.INVITE)
	if len(invites) != 1 {
		t.Fatalf("the peer got %d re-INVITEs from the phone, want 1", len(invites))
	}
	if invites[0].at.Before(ackAt) {
		t.Errorf("our re-INVITE arrived %v before the peer's ACK left: it crossed an INVITE transaction in progress", ackAt.Sub(invites[0].at))
	}
	b.Events.WaitCall(t, 5*time.Second, "held", func(ci phone.CallInfo) bool { return ci.ID == in.ID && ci.LocalHold })
}
