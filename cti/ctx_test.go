package cti_test

import (
	"context"
	"errors"
	"testing"

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
