package phone_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestSRTPCallHoldResume: two phones with SDES-SRTP hear each other's tone,
// still after a hold and resume (a re-INVITE each), and the ladders show
// the crypto lines with their keys redacted.
func TestSRTPCallHoldResume(t *testing.T) {
	for _, tc := range []struct{ caller, callee phone.SRTPMode }{
		{phone.SRTPMandatory, phone.SRTPMandatory},
		{phone.SRTPOptional, phone.SRTPMandatory},
		{phone.SRTPOptional, phone.SRTPOptional},
	} {
		t.Run(tc.caller.String()+"-"+tc.callee.String(), func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", SRTP: tc.caller})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", SRTP: tc.callee})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := answerOn(t, b)
			ca := a.Events.WaitState(t, id, phone.CallActive)
			cb := b.Events.WaitState(t, in.ID, phone.CallActive)
			if ca.SRTP != "AES_CM_128_HMAC_SHA1_80" || cb.SRTP != "AES_CM_128_HMAC_SHA1_80" {
				t.Errorf("SRTP: caller %q, callee %q; want AES_CM_128_HMAC_SHA1_80 on both", ca.SRTP, cb.SRTP)
			}
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)

			if err := a.Hold(id); err != nil {
				t.Fatalf("hold: %v", err)
			}
			b.Events.WaitCall(t, 5*time.Second, "remote hold at bob", func(ci phone.CallInfo) bool { return ci.ID == in.ID && ci.RemoteHold })
			if err := a.Resume(id); err != nil {
				t.Fatalf("resume: %v", err)
			}
			b.Events.WaitCall(t, 5*time.Second, "remote resume at bob", func(ci phone.CallInfo) bool { return ci.ID == in.ID && !ci.RemoteHold })
			a.Media.Detector(id).Reset()
			b.Media.Detector(in.ID).Reset()
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
			if ci, _ := a.Call(id); ci.SRTP == "" {
				t.Errorf("caller: SRTP empty after resume")
			}

			var crypto int
			for _, m := range append(a.Ladder(id), b.Ladder(in.ID)...) {
				for _, l := range strings.Split(m.Raw, "\n") {
					if strings.HasPrefix(l, "a=crypto:") {
						crypto++
						if !strings.Contains(l, "inline:<redacted>") {
							t.Errorf("%s: key not redacted: %q", m.Summary, l)
						}
					}
				}
			}
			if crypto < 4 {
				t.Errorf("ladders show %d a=crypto lines, want offer and answer of INVITE, hold and resume", crypto)
			}
		})
	}
}

// TestSRTPMandatoryRefusesClearOffer: a phone that requires SRTP answers a
// plain RTP offer with 488; an optional caller's clear call still works.
func TestSRTPMandatoryRefusesClearOffer(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", SRTP: phone.SRTPMandatory})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end := a.Events.WaitState(t, id, phone.CallEnded)
	if end.End == nil || end.End.Code != 488 {
		t.Fatalf("clear offer to mandatory SRTP: end %+v, want 488", end.End)
	}

	c := phonetest.NewPhone(t, 1000, &phone.Config{Name: "carol", SRTP: phone.SRTPOptional})
	id, err = a.Dial(t.Context(), c.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := answerOn(t, c)
	ci := a.Events.WaitState(t, id, phone.CallActive)
	if ci.SRTP != "" {
		t.Errorf("clear call shows SRTP %q", ci.SRTP)
	}
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	c.Media.WaitTone(t, in.ID, 440, 5*time.Second)
}

// TestSRTPFollowsRedirect: a mandatory-SRTP caller that follows a 302 makes
// a new dialog with new SRTP sockets and keys; the call to the phone it is
// sent to is encrypted and carries audio both ways.
func TestSRTPFollowsRedirect(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", SRTP: phone.SRTPMandatory, FollowRedirects: phone.DefaultRedirectLimit})
	c := phonetest.NewPhone(t, 1000, &phone.Config{Name: "carol", SRTP: phone.SRTPMandatory})
	var to atomic.Value
	to.Store(c.URI())
	b := redirector(t, "bob", &to)
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := answerOn(t, c)
	ci := a.Events.WaitState(t, id, phone.CallActive)
	if ci.SRTP == "" || len(ci.Redirects) != 1 {
		t.Errorf("call srtp %q redirects %d; want encrypted after one 302", ci.SRTP, len(ci.Redirects))
	}
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	c.Media.WaitTone(t, in.ID, 440, 5*time.Second)
}

// TestSRTPBlindTransfer: all three phones require SRTP; alice transfers
// bob to carol: bob's new call to carol is encrypted and carries audio.
func TestSRTPBlindTransfer(t *testing.T) {
	cfg := func(name string) *phone.Config { return &phone.Config{Name: name, SRTP: phone.SRTPMandatory} }
	a := phonetest.NewPhone(t, 440, cfg("alice"))
	b := phonetest.NewPhone(t, 1000, cfg("bob"))
	c := phonetest.NewPhone(t, 2000, cfg("carol"))
	aID, bID := connect(t, a, b, 440, 1000)
	if err := a.Transfer(aID, c.URI()); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	in := answerOn(t, c)
	nb := b.Events.WaitCall(t, 10*time.Second, "bob's call to carol active", func(ci phone.CallInfo) bool {
		return ci.TransferredFrom == bID && ci.State == phone.CallActive
	})
	if nb.SRTP == "" {
		t.Errorf("bob's call to carol is not encrypted")
	}
	b.Media.WaitTone(t, nb.ID, 2000, 5*time.Second)
	c.Media.WaitTone(t, in.ID, 1000, 5*time.Second)
}
