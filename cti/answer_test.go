package cti_test

import (
	"context"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone"
)

// TestAnswerHoldsOthers: answering a waiting call through the Service (as
// ctl answer and the endpoint's auto-answer do) holds the active call
// first; Options.AnswerKeepsOthers keeps both live.
func TestAnswerHoldsOthers(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := "holds"
		if keep {
			name = "keeps"
		}
		t.Run(name, func(t *testing.T) {
			b, err := cti.New(cti.Options{Phone: phone.Config{Name: "b"}, AnswerKeepsOthers: keep})
			if err != nil {
				t.Fatal(err)
			}
			bsub := b.Subscribe()
			if err := b.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = b.Shutdown(ctx)
			})
			a, asub := startService(t, phone.Config{Name: "a"})
			c, _ := startService(t, phone.Config{Name: "c"})
			ring := func() cti.CallID {
				ev := waitEvent(t, bsub, "incoming", func(ev cti.Event) bool {
					cc, ok := ev.(cti.CallChanged)
					return ok && cc.Call.State == cti.CallIncoming
				})
				return ev.(cti.CallChanged).Call.ID
			}
			active := func(id cti.CallID) {
				waitEvent(t, bsub, "active", func(ev cti.Event) bool {
					cc, ok := ev.(cti.CallChanged)
					return ok && cc.Call.ID == id && cc.Call.State == cti.CallActive
				})
			}
			if _, err := a.Dial(t.Context(), b.URI(), cti.DialOptions{}); err != nil {
				t.Fatal(err)
			}
			first := ring()
			if err := b.Answer(t.Context(), first); err != nil {
				t.Fatal(err)
			}
			active(first)
			waitEvent(t, asub, "a active", func(ev cti.Event) bool {
				cc, ok := ev.(cti.CallChanged)
				return ok && cc.Call.State == cti.CallActive
			})
			if _, err := c.Dial(t.Context(), b.URI(), cti.DialOptions{}); err != nil {
				t.Fatal(err)
			}
			second := ring()
			if err := b.Answer(t.Context(), second); err != nil {
				t.Fatal(err)
			}
			active(second)
			ci, _ := b.Call(first)
			if ci.LocalHold == keep {
				t.Errorf("first call local_hold = %v after answering the second, want %v", ci.LocalHold, !keep)
			}
			if !keep {
				waitEvent(t, asub, "a sees remote hold", func(ev cti.Event) bool {
					cc, ok := ev.(cti.CallChanged)
					return ok && cc.Call.RemoteHold
				})
			}
		})
	}
}
