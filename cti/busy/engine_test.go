package busy

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestEngineOverrideExpires runs a real 30-minute timer in a synctest bubble:
// calls get through until the override ends, then the busy policy applies
// again, and the engine reports the end by itself.
func TestEngineOverrideExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			changes []Override
		)
		e, err := NewEngine(Policy{OnBusy: Busy}, func(o Override) {
			mu.Lock()
			changes = append(changes, o)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()

		if d := e.Decide(onCall, alice); d.Action != Busy || d.Rule != RuleBusy {
			t.Fatalf("before override: %+v", d)
		}
		start := time.Now()
		o := e.LetThroughFor(30 * time.Minute)
		if !o.Until.Equal(start.Add(30 * time.Minute)) {
			t.Fatalf("Until = %v", o.Until)
		}

		time.Sleep(30*time.Minute - time.Second) // synctest's fake clock: the override's expiry is under test
		synctest.Wait()
		if d := e.Decide(onCall, alice); d.Action != Wait || d.Rule != RuleOverride {
			t.Fatalf("1 s before the end: %+v", d)
		}
		if got := e.Override(); got != o {
			t.Fatalf("Override() = %+v, want %+v", got, o)
		}

		time.Sleep(time.Second) // synctest's fake clock: to the override's end
		synctest.Wait()
		if got := e.Override(); !got.IsZero() {
			t.Fatalf("after expiry Override() = %+v, want zero", got)
		}
		if d := e.Decide(onCall, alice); d.Action != Busy || d.Rule != RuleBusy {
			t.Fatalf("after expiry: %+v", d)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(changes) != 2 || changes[0] != o || !changes[1].IsZero() {
			t.Errorf("onChange calls = %+v, want [set, cleared]", changes)
		}
	})
}

// TestEngineOverrideReplaced checks that a replaced override's old timer
// does not clear the new one.
func TestEngineOverrideReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := NewEngine(Policy{OnBusy: Busy}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.LetThroughFor(10 * time.Minute)
		long := e.LetThroughFor(60 * time.Minute)
		time.Sleep(30 * time.Minute) // synctest's fake clock: past the replaced override's end
		synctest.Wait()
		if got := e.Override(); got != long {
			t.Fatalf("Override() = %+v, want %+v", got, long)
		}
		e.ClearOverride()
		if d := e.Decide(onCall, alice); d.Rule != RuleBusy {
			t.Fatalf("after ClearOverride: %+v", d)
		}
	})
}

func TestEngineUntilCallEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []Override
		e, err := NewEngine(Policy{DND: true}, func(o Override) { got = append(got, o) })
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.LetThroughUntilCallEnds("c1")
		if d := e.Decide(onCall, alice); d.Rule != RuleOverride || d.Action != Wait {
			t.Fatalf("during call: %+v", d)
		}
		e.CallEnded("other")
		if e.Override().IsZero() {
			t.Fatal("another call's end cleared the override")
		}
		e.CallEnded("c1")
		if !e.Override().IsZero() {
			t.Fatal("override survived its call")
		}
		if d := e.Decide(idle, alice); d.Rule != RuleDND {
			t.Fatalf("after call: %+v", d)
		}
		if len(got) != 2 {
			t.Errorf("onChange calls = %+v", got)
		}
	})
}

func TestEngineCloseStopsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		called := 0
		e, err := NewEngine(Policy{}, func(Override) { called++ })
		if err != nil {
			t.Fatal(err)
		}
		e.LetThroughFor(time.Minute)
		e.Close()
		time.Sleep(2 * time.Minute) // synctest's fake clock: past the closed override's end
		synctest.Wait()
		if called != 1 {
			t.Errorf("onChange called %d times, want 1 (the set, not the expiry)", called)
		}
	})
}

func TestEngineRejectsInvalidPolicy(t *testing.T) {
	if _, err := NewEngine(Policy{OnBusy: Voicemail}, nil); err == nil {
		t.Error("NewEngine accepted voicemail without URI")
	}
	e, err := NewEngine(Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.SetPolicy(Policy{NoAnswerSeconds: secs(999)}); err == nil {
		t.Error("SetPolicy accepted 999 s")
	}
	if err := e.SetPolicy(Policy{OnBusy: Busy, NoAnswerSeconds: secs(60)}); err != nil {
		t.Fatal(err)
	}
	after, d := e.NoAnswer(alice)
	if after != time.Minute || d.Code != 480 {
		t.Errorf("NoAnswer = %v %+v", after, d)
	}
}
