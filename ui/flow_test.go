package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/endpoint"
)

// startService starts a cti.Service on 127.0.0.1:0 named name; with b it
// runs the scripted endpoint behaviour (auto answer, tone).
func startService(t *testing.T, name string, b *endpoint.Behavior) *cti.Service {
	t.Helper()
	var opts cti.Options
	opts.Phone.Name = name
	opts.Phone.Listen = "127.0.0.1:0"
	opts.Phone.Transport = "udp"
	var ep *endpoint.Endpoint
	if b != nil {
		ep = endpoint.New(*b, nil)
		opts.Phone.Media = ep.Media
	}
	svc, err := cti.New(opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ep != nil {
		ep.Attach(svc)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		if ep != nil {
			ep.Close()
		}
	})
	return svc
}

// screen waits until the program's output since the last call, ANSI
// stripped, contains every string of want. The renderer only sends the
// cells that changed ("dialing" → "ringing" sends "r" and "ng"), so each
// check asks for a full repaint.
func screen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		tm.Send(tea.ClearScreen())
		out := ansi.Strip(string(b))
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func newFlow(t *testing.T, svc *cti.Service, contacts ...Contact) *teatest.TestModel {
	t.Helper()
	m := New(svc, Options{NoBell: true, NoColor: true, Account: svc.URI(), Contacts: contacts})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	t.Cleanup(func() { _ = tm.Quit() })
	return tm
}

func typeKeys(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
}

func TestFlowDialHoldResumeHangup(t *testing.T) {
	peer := startService(t, "peer", &endpoint.Behavior{AnswerDelay: 3 * time.Second, Audio: "tone:1000"})
	me := startService(t, "me", nil)
	tm := newFlow(t, me, Contact{Name: "peer", URI: peer.URI()})
	screen(t, tm, "no calls")
	typeKeys(tm, "d")
	tm.Type("peer")
	typeKeys(tm, "enter")
	screen(t, tm, "ringing")
	screen(t, tm, "active")
	typeKeys(tm, "h")
	screen(t, tm, "held", "[hold]")
	typeKeys(tm, "h")
	screen(t, tm, "active")
	typeKeys(tm, "e")
	screen(t, tm, "no calls", "local-hangup")
	if n := len(me.Snapshot().Calls); n != 0 {
		t.Errorf("calls after hangup: %d", n)
	}
}

func TestFlowIncomingAnswered(t *testing.T) {
	me := startService(t, "me", nil)
	caller := startService(t, "caller", &endpoint.Behavior{Audio: "tone:440"})
	tm := newFlow(t, me)
	screen(t, tm, "no calls")
	id, err := caller.Dial(t.Context(), me.URI(), cti.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	screen(t, tm, "incoming call from caller")
	typeKeys(tm, "a")
	screen(t, tm, "active")
	if err := caller.Hangup(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	screen(t, tm, "remote-hangup")
}

func TestFlowCallWaiting(t *testing.T) {
	peer := startService(t, "peer", &endpoint.Behavior{Audio: "tone:1000"})
	me := startService(t, "me", nil)
	caller := startService(t, "caller", &endpoint.Behavior{Audio: "tone:440"})
	tm := newFlow(t, me, Contact{Name: "peer", URI: peer.URI()})
	typeKeys(tm, "d")
	tm.Type("peer")
	typeKeys(tm, "enter")
	screen(t, tm, "active")
	if _, err := caller.Dial(t.Context(), me.URI(), cti.DialOptions{}); err != nil {
		t.Fatal(err)
	}
	screen(t, tm, "call waiting: caller")
	typeKeys(tm, "a")
	screen(t, tm, "[hold]")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var held, active int
		for _, c := range me.Snapshot().Calls {
			if c.State == cti.CallActive && c.LocalHold {
				held++
			} else if c.State == cti.CallActive {
				active++
			}
		}
		if held == 1 && active == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("call waiting: %d held, %d active; want 1 and 1", held, active)
		}
		time.Sleep(50 * time.Millisecond)
	}
	typeKeys(tm, "q", "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	out := tm.FinalModel(t).(*Model)
	if len(out.calls.calls) != 2 {
		t.Errorf("final model: %d calls, want 2", len(out.calls.calls))
	}
}

// TestFlowBlindTransfer: t, the target, Enter; the peer follows the REFER
// to the target and our call ends as transferred.
func TestFlowBlindTransfer(t *testing.T) {
	target := startService(t, "target", &endpoint.Behavior{Audio: "tone:500"})
	peer := startService(t, "peer", &endpoint.Behavior{Audio: "tone:1000"})
	me := startService(t, "me", nil)
	tm := newFlow(t, me, Contact{Name: "peer", URI: peer.URI()}, Contact{Name: "target", URI: target.URI()})
	typeKeys(tm, "d")
	tm.Type("peer")
	typeKeys(tm, "enter")
	screen(t, tm, "active")
	typeKeys(tm, "t")
	screen(t, tm, "transfer peer to›")
	tm.Type("target")
	typeKeys(tm, "enter")
	screen(t, tm, "no calls", "transferred")
	deadline := time.Now().Add(10 * time.Second)
	for len(target.Snapshot().Calls) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("blind transfer: the target got no call")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFlowConsultCompleteTransfer: c, the target, Enter holds the peer and
// calls the target; T connects them (attended transfer with Replaces) and
// both our calls end as transferred while the peer and the target talk.
func TestFlowConsultCompleteTransfer(t *testing.T) {
	target := startService(t, "target", &endpoint.Behavior{Audio: "tone:500"})
	peer := startService(t, "peer", &endpoint.Behavior{Audio: "tone:1000"})
	me := startService(t, "me", nil)
	tm := newFlow(t, me, Contact{Name: "peer", URI: peer.URI()}, Contact{Name: "target", URI: target.URI()})
	typeKeys(tm, "d")
	tm.Type("peer")
	typeKeys(tm, "enter")
	screen(t, tm, "active")
	typeKeys(tm, "c")
	screen(t, tm, "consult (holds peer)›")
	tm.Type("target")
	typeKeys(tm, "enter")
	screen(t, tm, "consulting", "[hold]")
	waitFor(t, "the consultation is up and the peer held", func() bool {
		var held, active int
		for _, c := range me.Snapshot().Calls {
			switch {
			case c.State == cti.CallActive && c.LocalHold:
				held++
			case c.State == cti.CallActive:
				active++
			}
		}
		return held == 1 && active == 1
	})
	typeKeys(tm, "T")
	screen(t, tm, "no calls", "transferred")
	waitFor(t, "the peer and the target talk", func() bool {
		for _, c := range target.Snapshot().Calls {
			if c.State == cti.CallActive && c.Remote.User == "peer" {
				return true
			}
		}
		return false
	})
	if n := len(me.Snapshot().Calls); n != 0 {
		t.Errorf("after the transfer: %d calls on me, want 0", n)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
