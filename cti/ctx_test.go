package cti_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone"
)

// TestCommandsHonourContext: a call command whose ctx is already done is
// not started; it returns the ctx's error, not phone's verdict on the call.
func TestCommandsHonourContext(t *testing.T) {
	s, _ := startService(t, phone.Config{Name: "ctx", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const id = cti.CallID("c-none")
	for _, tc := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"Answer", func(ctx context.Context) error { return s.Answer(ctx, id) }},
		{"Reject", func(ctx context.Context) error { return s.Reject(ctx, id, 486, "") }},
		{"Hangup", func(ctx context.Context) error { return s.Hangup(ctx, id) }},
		{"HangupAll", s.HangupAll},
		{"SendDTMF", func(ctx context.Context) error { return s.SendDTMF(ctx, id, "1") }},
		{"Mute", func(ctx context.Context) error { return s.Mute(ctx, id, true) }},
		{"Hold", func(ctx context.Context) error { return s.Hold(ctx, id) }},
		{"Resume", func(ctx context.Context) error { return s.Resume(ctx, id) }},
		{"HoldWith", func(ctx context.Context) error { return s.HoldWith(ctx, id, cti.HoldInactive) }},
		{"Transfer", func(ctx context.Context) error { return s.Transfer(ctx, id, "sip:x@127.0.0.1") }},
		{"Toggle", func(ctx context.Context) error { return s.Toggle(ctx, id) }},
		{"CompleteTransfer", func(ctx context.Context) error { return s.CompleteTransfer(ctx, id, id) }},
		{"Conference", func(ctx context.Context) error { return s.Conference(ctx, id, id) }},
		{"Split", func(ctx context.Context) error { return s.Split(ctx, id) }},
		{"AcceptRefer", func(ctx context.Context) error { return s.AcceptRefer(ctx, id) }},
		{"RejectRefer", func(ctx context.Context) error { return s.RejectRefer(ctx, id) }},
		{"Move", func(ctx context.Context) error { return s.Move(ctx, id, "mobile") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled ctx: %v, want context.Canceled", tc.name, err)
			}
			if err := tc.do(context.Background()); errors.Is(err, context.Canceled) {
				t.Errorf("%s with a live ctx: %v", tc.name, err)
			}
		})
	}
}

// TestHoldCancelledReturnsPromptly: a hold whose peer went silent returns
// when its ctx is cancelled, not after the re-INVITE's 32 s (Timer B), and
// the call is not marked held.
func TestHoldCancelledReturnsPromptly(t *testing.T) {
	a, asub := startService(t, phone.Config{Name: "a", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true})
	b, bsub := startService(t, phone.Config{Name: "b", Listen: "127.0.0.1:0", Transport: "udp", NoTrace: true})
	id, err := a.Dial(t.Context(), b.URI(), cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, bsub, "incoming at b", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.State == cti.CallIncoming
	}).(cti.CallChanged).Call.ID
	if err := b.Answer(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, asub, "a active", func(ev cti.Event) bool {
		cc, ok := ev.(cti.CallChanged)
		return ok && cc.Call.ID == id && cc.Call.State == cti.CallActive
	})
	// b stops at once (no BYE) and a silent socket takes its address: a's
	// re-INVITE goes unanswered. b's socket closes a moment after Close
	// returns, so binding is retried until then (polling: no event says so).
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(5 * time.Second); ; <-tick.C {
		hole, err := net.ListenPacket("udp", b.Addr())
		if err == nil {
			defer hole.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's address stays bound after Close: %v", err)
		}
	}

	const cancelAfter = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), cancelAfter)
	defer cancel()
	start := time.Now()
	err = a.Hold(ctx, id)
	took := time.Since(start)
	if err == nil {
		t.Fatal("Hold towards a silent peer succeeded")
	}
	if took > cancelAfter+2*time.Second {
		t.Errorf("Hold returned %s after its ctx ended (%v), want promptly", took-cancelAfter, err)
	}
	if ci, ok := a.Call(id); ok && ci.LocalHold {
		t.Errorf("call marked held after a cancelled hold: %+v", ci)
	}
	t.Logf("Hold returned after %s: %v", took.Round(time.Millisecond), err)
}
