//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/endpoint"
	"github.com/anyphone/anyphone/phone"
)

// BenchmarkEndpointProfile runs the same cti.Service + endpoint.Endpoint as
// `anyphone endpoint --no-trace --answer auto` inside the test process,
// loads it with sipp at 80 % of the clean rate measured above (300 calls/s
// if that did not run), and writes CPU and allocation profiles to the
// bench directory; it prints the top entries (go tool pprof -top).
func BenchmarkEndpointProfile(b *testing.B) {
	if !wanted(sutAnyphone) {
		return
	}
	rate := 300
	if v, ok := results.Get("signalling: highest clean rate (calls/s)", sutAnyphone); ok && v > 0 {
		rate = int(0.8 * v)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ep := endpoint.New(endpoint.Behavior{Answer: endpoint.AnswerAuto, Audio: "null"}, log)
	defer ep.Close()
	svc, err := cti.New(cti.Options{Logger: log, SubscriberBuffer: 4096, AnswerKeepsOthers: true, Phone: phone.Config{
		Name: "endpoint", Listen: "127.0.0.1:0", Transport: "udp", MaxCalls: 100000,
		NoTrace: true, Media: ep.Media,
	}})
	if err != nil {
		b.Fatal(err)
	}
	ep.Attach(svc)
	sub := svc.Subscribe()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		// Stands in for the CLI's JSON-line writer; owned by this benchmark,
		// ends when Shutdown closes the subscription.
		defer close(drained)
		enc := json.NewEncoder(io.Discard)
		for ev := range sub.C {
			_ = enc.Encode(ev)
		}
	}()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = svc.Shutdown(sctx)
		<-drained
	}()

	cpuPath := filepath.Join(benchDir(), "endpoint-cpu.pprof")
	f, err := os.Create(cpuPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	// Allocations are read as a difference against a snapshot taken now, so
	// the earlier benchmarks' harness does not count.
	basePath := filepath.Join(benchDir(), "endpoint-allocs-base.pprof")
	writeAllocs(b, basePath)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	self0, err := ReadProc(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	// perf, where installed and permitted, also sees the kernel side
	// (scheduler wake-ups, syscalls) that the Go profiler leaves out.
	perfPath := filepath.Join(benchDir(), "endpoint.perf")
	var perf *Proc
	if _, err := exec.LookPath("perf"); err == nil {
		perf, err = StartProc("perf", filepath.Join(benchDir(), "perf.log"), nil, "perf", "record", "-F", "499", "-g",
			"-p", strconv.Itoa(os.Getpid()), "-o", perfPath, "--", "sleep", strconv.Itoa(max(cfg.StepSeconds-1, 1)))
		if err != nil {
			b.Log(err)
		}
	}
	calls := rate * cfg.StepSeconds
	load := SippLoad{Target: svc.Addr(), User: "endpoint", Rate: rate, Calls: calls,
		Timeout:  time.Duration(cfg.StepSeconds+30) * time.Second,
		StatFile: filepath.Join(benchDir(), "profile.csv")}
	lctx, lcancel := context.WithTimeout(ctx, load.Timeout+30*time.Second)
	tot, took, err := load.Run(lctx, benchDir())
	lcancel()
	pprof.StopCPUProfile()
	self1, _ := ReadProc(os.Getpid())
	if perf != nil {
		_ = perf.Wait(ctx)
	}
	runtime.ReadMemStats(&ms1)
	if err != nil {
		b.Fatal(err)
	}
	heapPath := filepath.Join(benchDir(), "endpoint-allocs.pprof")
	writeAllocs(b, heapPath)
	n := max(tot.Successful, 1)
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(n)
	bytesPer := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n) / 1024
	cpuPer := float64((self1.CPU - self0.CPU).Microseconds()) / float64(n)
	b.ReportMetric(cpuPer, "us-cpu/call")
	results.Set(fmt.Sprintf("in-process endpoint: CPU per call at %d calls/s (µs)", rate), sutAnyphone, cpuPer)
	sysShare := 100 * float64(self1.Sys-self0.Sys) / float64(max(self1.CPU-self0.CPU, 1))
	results.Set("in-process endpoint: kernel share of that CPU (%)", sutAnyphone, sysShare)
	b.ReportMetric(allocs, "allocs/call")
	b.ReportMetric(bytesPer, "KB-alloc/call")
	results.Set("in-process endpoint: allocations per call", sutAnyphone, allocs)
	results.Set("in-process endpoint: KB allocated per call", sutAnyphone, bytesPer)
	fmt.Printf("\n== in-process endpoint at %d calls/s for %s: %d ok, %d failed, %d retransmitted; %.0f µs CPU (%.0f %% in the kernel), %.0f allocs and %.1f KB allocated per call, %d GCs\n",
		rate, took.Round(time.Millisecond), tot.Successful, tot.Failed, tot.Retransmissions, cpuPer, sysShare, allocs, bytesPer, ms1.NumGC-ms0.NumGC)
	for _, q := range []struct {
		title string
		args  []string
	}{
		{"CPU, flat, by function", []string{"-top", "-nodecount=25", cpuPath}},
		{"CPU, cumulative, by function", []string{"-top", "-cum", "-nodecount=40", cpuPath}},
		{"CPU, flat, by line", []string{"-top", "-lines", "-nodecount=25", cpuPath}},
		{"allocated bytes, flat, by line", []string{"-top", "-lines", "-sample_index=alloc_space", "-nodecount=25", "-diff_base", basePath, heapPath}},
	} {
		out, err := pprofTop(q.args...)
		if err != nil {
			b.Log(err)
			continue
		}
		fmt.Printf("\n-- %s (go tool pprof %s)\n%s", q.title, strings.Join(q.args, " "), out)
	}
	if perf == nil || perf.ExitErr() != nil {
		return
	}
	// Go symbols are in the pprof output above; from perf take the split
	// between kernel and user time, and the kernel's top symbols.
	for _, q := range []struct {
		sort, filter string
		n            int
	}{{"dso", "", 5}, {"sym", "[k]", 15}} {
		args := []string{"report", "-i", perfPath, "--stdio", "--no-children", "--sort", q.sort, "-g", "none"}
		out, err := exec.Command("perf", args...).Output()
		if err != nil {
			b.Logf("perf report: %v", err)
			return
		}
		fmt.Printf("\n-- perf, whole process including the kernel (perf %s)\n", strings.Join(args, " "))
		shown := 0
		for _, line := range strings.Split(string(out), "\n") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || !strings.Contains(line, q.filter) {
				continue
			}
			fmt.Println(line)
			if shown++; shown == q.n {
				break
			}
		}
	}
}

func writeAllocs(b *testing.B, path string) {
	b.Helper()
	runtime.GC() // the allocs profile is as of the last GC
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
