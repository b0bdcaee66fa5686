package cti_test

import (
	"context"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone"
)

func startService(t *testing.T, pc phone.Config) (*cti.Service, *cti.Subscription) {
	t.Helper()
	s, err := cti.New(cti.Options{Phone: pc})
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe()
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, sub
}

func waitEvent(t *testing.T, sub *cti.Subscription, what string, pred func(cti.Event) bool) cti.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %s", what)
			}
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestServiceMidCall(t *testing.T) {
	a, asub := startService(t, phone.Config{Name: "a"})
	b, bsub := startService(t, phone.Config{Name: "b", StrictHold: true})
	c, csub := startService(t, phone.Config{Name: "c"})
	autoAnswer := func(s *cti.Service, sub *cti.Subscription) cti.CallID {
		ev := waitEvent(t, sub, "incoming", func(ev cti.Event) bool {
			cc, ok := ev.(cti.CallChanged)
			return ok && cc.Call.State == cti.CallIncoming
		})
		id := ev.(cti.CallChanged).Call.ID
		if err := s.Answer(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		return id
	}

	// Dial held in zero-ip to a strict peer: the fallback is reported.
	id, err := a.DialHeld(t.Context(), b.URI(), cti.HoldZeroIP, cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bID := autoAnswer(b, bsub)
	r := waitEvent(t, asub, "initial hold result", func(ev cti.Event) bool {
		_, ok := ev.(cti.InitialHoldResult)
		return ok
	}).(cti.InitialHoldResult)
	if !r.OK || r.Dialect != cti.HoldSendonly || len(r.Tried) != 2 {
		t.Errorf("initial hold result = %+v, want ok sendonly after 2 refusals", r)
	}
	waitEvent(t, bsub, "b active", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == bID && cc.Call.State == cti.CallActive
	})

	// b's ACK being in does not mean a has marked its side active yet. An
	// event asub delivered before the initial hold result was consumed
	// above, but then a.Call already says active.
	if ci, ok := a.Call(id); !ok || ci.State != cti.CallActive {
		waitEvent(t, asub, "a active", func(ev cti.Event) bool {
			cc, ok := ev.(cti.CallChanged)
			return ok && cc.Call.ID == id && cc.Call.State == cti.CallActive
		})
	}
	// Then the 3PCC flow: transfer the held agent to c.
	if err := a.Transfer(t.Context(), id, c.URI()); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	waitEvent(t, bsub, "refer received", func(ev cti.Event) bool {
		rr, ok := ev.(cti.ReferReceived)
		return ok && rr.Accepted && rr.CallID == bID
	})
	autoAnswer(c, csub)
	tp := waitEvent(t, asub, "final transfer progress", func(ev cti.Event) bool {
		tp, ok := ev.(cti.TransferProgress)
		return ok && tp.Final
	}).(cti.TransferProgress)
	if !tp.OK || tp.Code != 200 {
		t.Errorf("transfer progress = %+v, want final 200 ok", tp)
	}
}
