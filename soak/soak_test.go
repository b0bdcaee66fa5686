package soak

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// scenario is one kind of call in the mix.
type scenario int

const (
	scAnswer scenario = iota
	scReject
	scCancel
	scHoldResume
	scTransfer
	numScenarios
)

func (s scenario) String() string {
	return [...]string{"answer", "reject", "cancel", "hold-resume", "blind-transfer"}[s]
}

// trio is one worker's phones: A calls B; B transfers A to C.
type trio struct{ a, b, c *phone.Phone }

func newPhone(t testing.TB, name string) *phone.Phone {
	t.Helper()
	p, err := phone.New(phone.Config{
		Name:    name,
		NoTrace: true,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = p.Shutdown(sctx)
		cancel()
	})
	return p
}

// waitFor polls cond every 2 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cond()
}

// one returns the phone's only live call in state s.
func one(p *phone.Phone, s phone.CallState) (phone.CallInfo, bool) {
	for _, ci := range p.Calls() {
		if ci.State == s {
			return ci, true
		}
	}
	return phone.CallInfo{}, false
}

func idle(ps ...*phone.Phone) bool {
	for _, p := range ps {
		if len(p.Calls()) > 0 {
			return false
		}
	}
	return true
}

const step = 5 * time.Second

// run places one call of kind sc and waits until all three phones are idle.
func (tr trio) run(ctx context.Context, sc scenario) error {
	a, b, c := tr.a, tr.b, tr.c
	aid, err := a.Dial(ctx, b.URI(), phone.DialOptions{})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	var in phone.CallInfo
	if !waitFor(step, func() (ok bool) { in, ok = one(b, phone.CallIncoming); return ok }) {
		return fmt.Errorf("callee never rang")
	}
	active := func(p *phone.Phone, id phone.CallID) bool {
		ci, ok := p.Call(id)
		return ok && ci.State == phone.CallActive
	}
	switch sc {
	case scReject:
		if err := b.Reject(in.ID, 486, "Busy Here"); err != nil {
			return fmt.Errorf("reject: %w", err)
		}
	case scCancel:
		if err := a.Hangup(aid); err != nil {
			return fmt.Errorf("cancel: %w", err)
		}
	default:
		if err := b.Answer(in.ID); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if !waitFor(step, func() bool { return active(a, aid) && active(b, in.ID) }) {
			return fmt.Errorf("call never became active")
		}
		switch sc {
		case scHoldResume:
			if err := a.Hold(aid); err != nil {
				return fmt.Errorf("hold: %w", err)
			}
			if !waitFor(step, func() bool { ci, _ := b.Call(in.ID); return ci.RemoteHold }) {
				return fmt.Errorf("callee never saw the hold")
			}
			if err := a.Resume(aid); err != nil {
				return fmt.Errorf("resume: %w", err)
			}
			if !waitFor(step, func() bool { ci, _ := b.Call(in.ID); return !ci.RemoteHold }) {
				return fmt.Errorf("callee never saw the resume")
			}
			if err := a.Hangup(aid); err != nil {
				return fmt.Errorf("hangup: %w", err)
			}
		case scTransfer:
			if err := b.Transfer(in.ID, c.URI()); err != nil {
				return fmt.Errorf("transfer: %w", err)
			}
			var cin phone.CallInfo
			if !waitFor(step, func() (ok bool) { cin, ok = one(c, phone.CallIncoming); return ok }) {
				return fmt.Errorf("transfer target never rang")
			}
			if err := c.Answer(cin.ID); err != nil {
				return fmt.Errorf("answer transfer: %w", err)
			}
			if !waitFor(step, func() bool { return active(c, cin.ID) }) {
				return fmt.Errorf("transferred call never became active")
			}
			if err := c.Hangup(cin.ID); err != nil {
				return fmt.Errorf("hangup transferred call: %w", err)
			}
		default:
			if err := a.Hangup(aid); err != nil {
				return fmt.Errorf("hangup: %w", err)
			}
		}
	}
	if !waitFor(2*step, func() bool { return idle(a, b, c) }) {
		return fmt.Errorf("calls left: A %v, B %v, C %v", states(a), states(b), states(c))
	}
	return nil
}

func states(p *phone.Phone) []string {
	var s []string
	for _, ci := range p.Calls() {
		s = append(s, ci.State.String())
	}
	return s
}

// resources is what must come back to its baseline after the soak.
type resources struct {
	goroutines int
	fds        int
	heap       uint64 // live heap after GC
}

func measure() resources {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	ents, _ := os.ReadDir("/proc/self/fd")
	return resources{goroutines: runtime.NumGoroutine(), fds: len(ents), heap: m.HeapAlloc}
}

func (r resources) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, %d KB live heap", r.goroutines, r.fds, r.heap>>10)
}

// within reports whether r is back at base, with room for the runtime's
// own fluctuation.
func (r resources) within(base resources) bool {
	return r.goroutines <= base.goroutines+8 && r.fds <= base.fds+4 && r.heap <= base.heap+2<<20
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSoak runs ANYPHONE_SOAK_CALLS mixed calls on 4 workers, each with
// its own three phones, then checks that goroutines, open files and the
// live heap come back to the baseline taken after a warm-up.
func TestSoak(t *testing.T) {
	calls := envInt("ANYPHONE_SOAK_CALLS", 1000)
	rate := envInt("ANYPHONE_SOAK_RATE", 0)
	const workers = 4
	trios := make([]trio, workers)
	for w := range trios {
		trios[w] = trio{
			a: newPhone(t, fmt.Sprintf("a%d", w)),
			b: newPhone(t, fmt.Sprintf("b%d", w)),
			c: newPhone(t, fmt.Sprintf("c%d", w)),
		}
	}
	// sipgo logs every late retransmission through the default logger.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx := t.Context()
	// Warm-up: every scenario once per worker, then let transactions end.
	for _, tr := range trios {
		for sc := range numScenarios {
			if err := tr.run(ctx, sc); err != nil {
				t.Fatalf("warm-up %s: %v", sc, err)
			}
		}
	}
	// Not a wait on one event: the baseline is taken after a quiet second
	// in which the warm-up's transactions end.
	time.Sleep(time.Second)
	base := measure()
	t.Logf("baseline after warm-up: %s", base)
	// Calibration: the clean rate flat out (every call succeeds), then
	// the soak runs at half of it unless ANYPHONE_SOAK_RATE says otherwise.
	const calib = 100
	cstart := time.Now()
	if n := runCalls(ctx, trios, calib, nil, nil); n > 0 {
		t.Fatalf("calibration: %d of %d calls failed", n, calib)
	}
	clean := float64(calib) / time.Since(cstart).Seconds()
	if rate == 0 {
		rate = max(1, int(clean/2))
	}
	t.Logf("clean rate flat out: %.0f calls/s; soak at %d calls/s", clean, rate)
	settle := func(base resources, d time.Duration) (resources, bool) {
		var r resources
		ok := waitFor(d, func() bool { r = measure(); return r.within(base) })
		return r, ok
	}

	tk := time.NewTicker(time.Second / time.Duration(rate))
	defer tk.Stop()
	failed := map[scenario]int{}
	var errs []string
	start := time.Now()
	runCalls(ctx, trios, calls, tk.C, func(i int, sc scenario, err error) {
		failed[sc]++
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf("call %d %s: %v", i, sc, err))
		}
	})
	elapsed := time.Since(start)
	t.Logf("%d calls (%d workers) in %s: %.1f calls/s; failures by scenario: %v",
		calls, workers, elapsed.Round(time.Millisecond), float64(calls)/elapsed.Seconds(), failed)
	for _, e := range errs {
		t.Log(e)
	}
	nfail := 0
	for _, n := range failed {
		nfail += n
	}
	if nfail > 0 {
		t.Errorf("%d of %d calls failed", nfail, calls)
	}
	// UDP server transactions of BYE linger for Timer J (32 s); wait up
	// to 40 s for everything to come back.
	after, ok := settle(base, 40*time.Second)
	if os.Getenv("ANYPHONE_SOAK_FULLWAIT") != "" {
		time.Sleep(40 * time.Second) // deliberate: the full Timer J wait that settle shortcuts
		after = measure()
		ok = after.within(base)
	}
	t.Logf("after the soak: %s (baseline %s)", after, base)
	if !ok {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("resources not back at baseline: %s, baseline %s\n%s", after, base, buf[:min(n, 64<<10)])
	}
}

// runCalls places calls calls on the trios' workers, one every tick (nil:
// flat out), the scenarios in turn; fail (may be nil) hears of each failed
// call, under a lock. It returns the number of failures.
func runCalls(ctx context.Context, trios []trio, calls int, tick <-chan time.Time, fail func(int, scenario, error)) int {
	var (
		mu    sync.Mutex
		nfail int
		wg    sync.WaitGroup
		jobs  = make(chan int)
	)
	for _, tr := range trios {
		wg.Go(func() {
			for i := range jobs {
				sc := scenario(i % int(numScenarios))
				err := tr.run(ctx, sc)
				if err == nil {
					continue
				}
				mu.Lock()
				nfail++
				if fail != nil {
					fail(i, sc, err)
				}
				mu.Unlock()
				// Clear what is left so the next call starts clean.
				for _, p := range []*phone.Phone{tr.a, tr.b, tr.c} {
					for _, ci := range p.Calls() {
						_ = p.Hangup(ci.ID)
					}
				}
				waitFor(2*step, func() bool { return idle(tr.a, tr.b, tr.c) })
			}
		})
	}
	for i := range calls {
		if tick != nil {
			<-tick
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return nfail
}
