//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// results is the table TestMain prints after the benchmarks.
var results = NewTable()

// The systems under test, in column order.
const (
	sutAnyphone = "anyphone"
	sutSipp     = "sipp"
	sutBaresip  = "baresip"
)

var columns = []string{sutAnyphone, sutSipp, sutBaresip}

// config holds the knobs; environment variables override the defaults,
// which keep a whole `make bench` near ten minutes.
type config struct {
	StepSeconds  int      // BENCH_STEP_SECONDS: length of each rate step and of the latency run
	MediaSeconds int      // BENCH_MEDIA_SECONDS: measuring window with media
	HeldCalls    int      // BENCH_HELD_CALLS: calls held for the memory figure (baresip: at most 200)
	LatencyRate  int      // BENCH_LATENCY_RATE: calls/s for setup latency
	MediaCalls   []int    // BENCH_MEDIA_CALLS: concurrent calls with media, e.g. 1,50,100,200
	SUTs         []string // BENCH_SUT: which systems, e.g. anyphone,sipp
	Dir          string   // BENCH_DIR: logs, stat files and profiles
}

var cfg = loadConfig()

// toneLen outlasts the longest baresip call: the media runs (ramp at 50
// calls/s, 2 s settling, the window, BYEs) and the held calls.
func (c config) toneLen() time.Duration {
	media := time.Duration(slices.Max(c.MediaCalls)/50+c.MediaSeconds+8) * time.Second
	held := heldHold(min(c.HeldCalls, 200), 50) + 5*time.Second
	return max(media, held)
}

// heldHold is how long each call of the held-calls run lasts: the ramp,
// then time to sample.
func heldHold(n, rate int) time.Duration {
	return time.Duration(n/rate+1)*time.Second + 6*time.Second
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func loadConfig() config {
	c := config{
		StepSeconds:  envInt("BENCH_STEP_SECONDS", 30),
		MediaSeconds: envInt("BENCH_MEDIA_SECONDS", 10),
		HeldCalls:    envInt("BENCH_HELD_CALLS", 1000),
		LatencyRate:  envInt("BENCH_LATENCY_RATE", 100),
		MediaCalls:   []int{1, 50, 100, 200},
		SUTs:         columns,
		Dir:          os.Getenv("BENCH_DIR"),
	}
	if v := os.Getenv("BENCH_MEDIA_CALLS"); v != "" {
		var ks []int
		for _, f := range strings.Split(v, ",") {
			if k, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && k > 0 {
				ks = append(ks, k)
			}
		}
		if len(ks) > 0 {
			c.MediaCalls = ks
		}
	}
	if v := os.Getenv("BENCH_SUT"); v != "" {
		c.SUTs = strings.Split(v, ",")
	}
	return c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if !results.Empty() {
		fmt.Printf("\n== anyphone benchmarks: %d CPUs, %s, rate steps of %d s, media window %d s; logs in %s\n",
			runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, cfg.StepSeconds, cfg.MediaSeconds, benchDir())
		_ = results.Write(os.Stdout, columns, [][2]string{{sutAnyphone, sutSipp}, {sutAnyphone, sutBaresip}})
	}
	os.Exit(code)
}

// benchDir is where logs, stat files and profiles go: $BENCH_DIR or a new
// temporary directory, made on first use so unit tests leave nothing.
var benchDir = sync.OnceValue(func() string {
	d := cfg.Dir
	if d == "" {
		var err error
		if d, err = os.MkdirTemp("", "anyphone-bench-"); err != nil {
			panic(err) // no temp dir: nothing here can run
		}
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		panic(err)
	}
	return d
})

// anyphoneBin is the binary under test: $ANYPHONE_BIN, or one built here.
var anyphoneBin = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("ANYPHONE_BIN"); p != "" {
		return p, nil
	}
	out := filepath.Join(benchDir(), "anyphone")
	cmd := exec.Command("go", "build", "-o", out, "github.com/anyphone/anyphone/cmd/anyphone")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, b)
	}
	return out, nil
})

// startSUT starts one system under test; audio applies to anyphone (the
// others always send their tone or nothing).
func startSUT(b *testing.B, name, audio string) *SUT {
	b.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		b.Fatal("sipp (Debian sip-tester) is needed: make deps")
	}
	var s *SUT
	var err error
	switch name {
	case sutAnyphone:
		bin, berr := anyphoneBin()
		if berr != nil {
			b.Fatal(berr)
		}
		s, err = StartAnyphone(bin, benchDir(), audio)
	case sutSipp:
		s, err = StartSippUAS(benchDir())
	case sutBaresip:
		s, err = StartBaresip(benchDir(), cfg.toneLen())
	default:
		b.Fatalf("unknown system %q", name)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Stop)
	return s
}

func wanted(name string) bool { return slices.Contains(cfg.SUTs, name) }

func sample(b *testing.B, s *SUT) ProcSample {
	b.Helper()
	p, err := ReadProc(s.Proc.PID())
	if err != nil {
		b.Fatalf("%s: %v", s.Name, err)
	}
	return p
}

// rateStart is where each ramp begins: far enough below each ceiling to
// see a clean step, high enough to keep the ramp short.
var rateStart = map[string]int{sutAnyphone: 200, sutSipp: 4000, sutBaresip: 80}

// step is one rate step's outcome.
type step struct {
	rate     int
	totals   SippTotals
	took     time.Duration
	cpu      time.Duration
	achieved float64
	drops    int64 // datagrams the SUT's socket dropped (receive buffer full)
}

func (s step) clean(calls int) bool {
	return s.totals.Failed == 0 && s.totals.Retransmissions == 0 && s.totals.Successful == calls &&
		s.achieved >= 0.8*float64(s.rate)
}

func (s step) String() string {
	return fmt.Sprintf("rate %d: %d ok, %d failed, %d retransmitted, %d dead msgs, %d dropped by the SUT's socket, %.0f calls/s achieved, %.0f µs CPU/call",
		s.rate, s.totals.Successful, s.totals.Failed, s.totals.Retransmissions, s.totals.Dead, s.drops, s.achieved,
		float64(s.cpu.Microseconds())/float64(max(s.totals.Successful, 1)))
}

// BenchmarkSignallingRate ramps sipp's UAC (-d 0: INVITE, 200, ACK, BYE)
// by ×1.25 per step until a step has a failed call, a retransmission, or
// falls behind its rate; it reports the last clean rate, the SUT's CPU per
// call at that rate, and its peak RSS over the ramp.
func BenchmarkSignallingRate(b *testing.B) {
	for _, name := range columns {
		if !wanted(name) {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s := startSUT(b, name, "null")
			var last, past *step // the last clean step, the failing one after it
			rate := envInt("BENCH_RATE_START_"+strings.ToUpper(name), rateStart[name])
			for i := 0; rate <= 50000; i++ {
				calls := rate * cfg.StepSeconds
				before := sample(b, s)
				drops0, _ := UDPDrops(s.Port())
				load := SippLoad{Target: s.Addr, User: s.User, Rate: rate, Calls: calls,
					Timeout:  time.Duration(cfg.StepSeconds+30) * time.Second,
					StatFile: filepath.Join(benchDir(), fmt.Sprintf("rate-%s-%d.csv", name, rate))}
				ctx, cancel := context.WithTimeout(b.Context(), load.Timeout+30*time.Second)
				tot, took, err := load.Run(ctx, benchDir())
				cancel()
				if err != nil {
					b.Fatalf("%s at %d calls/s: %v", name, rate, err)
				}
				after := sample(b, s)
				drops1, _ := UDPDrops(s.Port())
				st := step{rate: rate, totals: tot, took: took, cpu: after.CPU - before.CPU,
					achieved: float64(tot.Successful) / took.Seconds(), drops: drops1 - drops0}
				b.Logf("%s %s", name, st)
				if !st.clean(calls) {
					if st.drops > 0 {
						results.Note("signalling %s at %d calls/s: its UDP socket dropped %d datagrams (receive buffer full)", name, rate, st.drops)
					}
					if last == nil && rate > 10 && i < 6 {
						// The first step already failed: go down, not up.
						rate = rate / 2
						time.Sleep(3 * time.Second) // pacing: let the failed step drain before a lower rate
						continue
					}
					if last != nil && rate > last.rate {
						past = &st
					}
					break
				}
				if last != nil && rate < last.rate {
					last = &st
					break // found a clean rate on the way down
				}
				last = &st
				rate = int(math.Round(float64(rate) * 1.25))
				time.Sleep(2 * time.Second) // let lingering transactions drain a little
			}
			hwm := sample(b, s).HWM
			results.Set("peak RSS over the rate ramp (MB)", name, float64(hwm)/(1<<20))
			if last == nil {
				results.Set("signalling: highest clean rate (calls/s)", name, 0)
				b.Logf("%s: no clean step", name)
				return
			}
			perCall := float64(last.cpu.Microseconds()) / float64(last.totals.Successful)
			results.Set("signalling: highest clean rate (calls/s)", name, float64(last.rate))
			results.Set("signalling: CPU per call at that rate (µs)", name, perCall)
			if past != nil {
				// Past the ceiling: does the SUT saturate (keep completing
				// about its clean rate) or collapse?
				results.Set("signalling: calls/s completed one step (×1.25) past it", name, past.achieved)
				results.Note("signalling %s one step past its clean rate: %s", name, past)
			}
			b.ReportMetric(float64(last.rate), "calls/s")
			b.ReportMetric(perCall, "us-cpu/call")
			b.ReportMetric(float64(hwm)/(1<<20), "MB-peak-rss")
		})
	}
}

// BenchmarkSetupLatency places calls at a fixed moderate rate from a Go UAC
// (INVITE, 200, ACK, BYE at once) and measures INVITE sent → 200 received
// with kernel receive timestamps.
func BenchmarkSetupLatency(b *testing.B) {
	for _, name := range columns {
		if !wanted(name) {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s := startSUT(b, name, "null")
			// One media socket absorbs whatever RTP the SUT sends.
			sink, err := NewRTPSink(false)
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			uac, err := NewUAC(s.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer uac.Close()
			n := cfg.LatencyRate * cfg.StepSeconds
			setups := make([]time.Duration, 0, n)
			var mu sync.Mutex
			var failed int
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / time.Duration(cfg.LatencyRate))
			for range n {
				<-tick.C
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(b.Context(), 40*time.Second)
					defer cancel()
					leg, err := uac.Invite(ctx, s.User, sink.Port())
					if err == nil {
						err = leg.Bye(ctx)
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed++
						return
					}
					setups = append(setups, leg.Setup)
				})
			}
			tick.Stop()
			wg.Wait()
			if failed > 0 || uac.Retransmissions.Load() > 0 {
				results.Note("setup latency %s: %d of %d calls failed, %d retransmissions", name, failed, n, uac.Retransmissions.Load())
			}
			p50, p99 := Percentile(setups, 50), Percentile(setups, 99)
			b.Logf("%s: %d calls at %d/s, %d failed: INVITE→200 p50 %v p99 %v max %v", name, n, cfg.LatencyRate, failed, p50, p99, Percentile(setups, 100))
			row := fmt.Sprintf("setup INVITE→200 at %d calls/s", cfg.LatencyRate)
			results.Set(row+" p50 (µs)", name, float64(p50.Microseconds()))
			results.Set(row+" p99 (µs)", name, float64(p99.Microseconds()))
			b.ReportMetric(float64(p50.Microseconds()), "p50-us")
			b.ReportMetric(float64(p99.Microseconds()), "p99-us")
		})
	}
}

// BenchmarkHeldCallMemory holds N calls open (sipp -d, -l N) and reports
// the SUT's VmRSS growth per held call. baresip stops at 255 calls per UA,
// so it holds at most 200.
func BenchmarkHeldCallMemory(b *testing.B) {
	for _, name := range columns {
		if !wanted(name) {
			continue
		}
		b.Run(name, func(b *testing.B) {
			n, rate := cfg.HeldCalls, 200
			if name == sutBaresip {
				n, rate = min(n, 200), 50
			}
			s := startSUT(b, name, "null")
			time.Sleep(500 * time.Millisecond) // settle: the SUT idles before the baseline sample
			before := sample(b, s)
			ramp := time.Duration(n/rate+1) * time.Second
			hold := heldHold(n, rate)
			statFile := filepath.Join(benchDir(), fmt.Sprintf("held-%s.csv", name))
			load := SippLoad{Target: s.Addr, User: s.User, Rate: rate, Calls: n, Limit: n,
				HoldMS: int(hold.Milliseconds()), Timeout: hold + 60*time.Second, StatFile: statFile}
			p, err := load.Start(benchDir())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Stop(2 * time.Second)
			time.Sleep(ramp + 3*time.Second) // the load itself: ramp up, then hold the calls
			after := sample(b, s)
			cur := -1
			if st, err := ReadSippStat(statFile); err == nil {
				cur, _ = st.Int("CurrentCall")
				if f, _ := st.Int("FailedCall(C)"); f > 0 {
					results.Note("held calls %s: %d calls failed while ramping", name, f)
				}
			}
			if cur != n {
				results.Note("held calls %s: sipp counted %d calls up of %d", name, cur, n)
			}
			perCall := float64(after.RSS-before.RSS) / float64(n) / 1024
			b.Logf("%s: %d calls held: RSS %d → %d KB, %.1f KB per call", name, cur, before.RSS/1024, after.RSS/1024, perCall)
			perCall = netOfTone(name, perCall)
			results.Set(fmt.Sprintf("memory per held call, no media (KB; N=%d, baresip %d)", cfg.HeldCalls, min(cfg.HeldCalls, 200)), name, perCall)
			b.ReportMetric(perCall, "KB/held-call")
		})
	}
}

var toneNote sync.Once

// netOfTone takes baresip's private copy of the tone file out of its
// per-call memory (aufile reads the whole WAV for each call), so the
// figure compares call state, not the length of our test file.
func netOfTone(name string, kbPerCall float64) float64 {
	if name != sutBaresip {
		return kbPerCall
	}
	kb := float64(ToneBytes(cfg.toneLen())) / 1024
	toneNote.Do(func() {
		results.Note("baresip memory excludes its per-call copy of the %.0f s tone WAV (%.0f KB per call): aufile loads the whole file", cfg.toneLen().Seconds(), kb)
	})
	return kbPerCall - kb
}

// mediaRun is one run of K concurrent calls with media.
type mediaRun struct {
	k        int
	up       int             // calls established
	flowing  int             // calls whose packets reached 90 % of 50/s in the window
	cpuPct   float64         // SUT CPU in the window, % of one core
	rssPer   float64         // KB of RSS growth per call
	devs     []time.Duration // |interval − 20 ms| pooled over calls
	pktRate  float64         // packets/s per call in the window
	failures int
}

// runMedia places k calls at 50 calls/s from the Go UAC, each with its own
// RTP socket that timestamps and echoes every packet, waits 2 s, then
// measures over the media window.
func runMedia(b *testing.B, s *SUT, k int) mediaRun {
	b.Helper()
	uac, err := NewUAC(s.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer uac.Close()
	time.Sleep(300 * time.Millisecond) // settle: the UAC idles before the baseline sample
	base := sample(b, s)
	r := mediaRun{k: k}
	sinks := make([]*RTPSink, k)
	legs := make([]*Leg, k)
	for i := range sinks {
		if sinks[i], err = NewRTPSink(true); err != nil {
			b.Fatal(err)
		}
		defer sinks[i].Close()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	tick := time.NewTicker(20 * time.Millisecond) // 50 calls/s, like sipp -r 50
	for i := range k {
		<-tick.C
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(b.Context(), 40*time.Second)
			defer cancel()
			leg, err := uac.Invite(ctx, s.User, sinks[i].Port())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.failures++
				b.Logf("%s call %d: %v", s.Name, i, err)
				return
			}
			legs[i] = leg
			r.up++
		})
	}
	tick.Stop()
	wg.Wait()
	time.Sleep(2 * time.Second) // settle: media starts flowing on every call before the window
	c0 := sample(b, s)
	for _, sk := range sinks {
		sk.Record(true)
	}
	window := time.Duration(cfg.MediaSeconds) * time.Second
	time.Sleep(window) // the measurement window
	for _, sk := range sinks {
		sk.Record(false)
	}
	c1 := sample(b, s)
	r.cpuPct = 100 * float64(c1.CPU-c0.CPU) / float64(c1.At.Sub(c0.At))
	r.rssPer = netOfTone(s.Name, float64(c1.RSS-base.RSS)/float64(k)/1024)
	var pkts int
	for _, sk := range sinks {
		a := sk.Arrivals()
		pkts += len(a)
		if float64(len(a)) >= 0.9*50*window.Seconds() {
			r.flowing++
		}
		r.devs = append(r.devs, PacingDeviations(a, 20*time.Millisecond, 5)...)
	}
	r.pktRate = float64(pkts) / float64(k) / window.Seconds()
	for _, l := range legs {
		if l == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(b.Context(), 40*time.Second)
			defer cancel()
			_ = l.Bye(ctx)
		})
	}
	wg.Wait()
	return r
}

// BenchmarkMedia holds K calls with media in both directions (the SUT
// plays a 440 Hz tone, the Go UAC echoes every packet back) and reports the
// SUT's CPU, calls per core, and its sender's pacing |interval − 20 ms|
// seen at the receiving socket. Only anyphone and baresip carry media.
func BenchmarkMedia(b *testing.B) {
	for _, name := range []string{sutAnyphone, sutBaresip} {
		if !wanted(name) {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var best mediaRun
			ks := cfg.MediaCalls
			for _, k := range ks {
				if name == sutBaresip && k > 250 {
					results.Note("media baresip: %d calls skipped (255 per UA at most)", k)
					continue
				}
				s := startSUT(b, name, "tone:440")
				r := runMedia(b, s, k)
				s.Stop()
				p50, p99 := Percentile(r.devs, 50), Percentile(r.devs, 99)
				b.Logf("%s K=%d: %d up, %d failed, %d with full media (%.1f pkt/s/call), CPU %.1f %% of a core, RSS +%.1f KB/call, pacing p50 %v p99 %v max %v",
					name, k, r.up, r.failures, r.flowing, r.pktRate, r.cpuPct, r.rssPer, p50, p99, Percentile(r.devs, 100))
				if r.flowing < k {
					results.Note("media %s K=%d: only %d of %d calls had full media (%d failed to set up)", name, k, r.flowing, k, r.failures)
				}
				if k > 1 {
					results.Set(fmt.Sprintf("media: CPU at %d calls (%% of a core)", k), name, r.cpuPct)
				}
				if k == 1 || k == slices.Max(ks) {
					results.Set(fmt.Sprintf("pacing |Δ−20ms| p50 at %d calls (µs)", k), name, float64(p50.Microseconds()))
					results.Set(fmt.Sprintf("pacing |Δ−20ms| p99 at %d calls (µs)", k), name, float64(p99.Microseconds()))
				}
				if k == slices.Max(ks) {
					results.Set(fmt.Sprintf("memory per call with media (KB, at %d calls)", k), name, r.rssPer)
					b.ReportMetric(float64(p50.Microseconds()), "pace-p50-us")
					b.ReportMetric(float64(p99.Microseconds()), "pace-p99-us")
				}
				if k > 1 && r.flowing == k && r.cpuPct > 0 {
					best = r
				}
			}
			if best.k > 0 {
				perCore := float64(best.k) / (best.cpuPct / 100)
				results.Set(fmt.Sprintf("media: calls per core (from %d calls)", best.k), name, perCore)
				b.ReportMetric(perCore, "calls/core")
				b.ReportMetric(best.cpuPct, "cpu%")
			}
		})
	}
}

// errNoGo is returned when `go tool pprof` cannot run.
var errNoGo = errors.New("bench: go tool pprof unavailable")

func pprofTop(args ...string) (string, error) {
	out, err := exec.Command("go", append([]string{"tool", "pprof"}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoGo, err)
	}
	return string(out), nil
}
