//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
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
	svc, err := cti.New(cti.Options{Logger: log, SubscriberBuffer: 4096, Phone: phone.Config{
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
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	calls := rate * cfg.StepSeconds
	load := SippLoad{Target: svc.Addr(), User: "endpoint", Rate: rate, Calls: calls,
		Timeout:  time.Duration(cfg.StepSeconds+30) * time.Second,
		StatFile: filepath.Join(benchDir(), "profile.csv")}
	lctx, lcancel := context.WithTimeout(ctx, load.Timeout+30*time.Second)
	tot, took, err := load.Run(lctx, benchDir())
	lcancel()
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&ms1)
	if err != nil {
		b.Fatal(err)
	}
	heapPath := filepath.Join(benchDir(), "endpoint-allocs.pprof")
	writeAllocs(b, heapPath)
	n := max(tot.Successful, 1)
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(n)
	bytesPer := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n) / 1024
	b.ReportMetric(allocs, "allocs/call")
	b.ReportMetric(bytesPer, "KB-alloc/call")
	results.Set("in-process endpoint: allocations per call", sutAnyphone, allocs)
	results.Set("in-process endpoint: KB allocated per call", sutAnyphone, bytesPer)
	fmt.Printf("\n== in-process endpoint at %d calls/s for %s: %d ok, %d failed, %d retransmitted; %.0f allocs and %.1f KB per call, %d GCs\n",
		rate, took.Round(time.Millisecond), tot.Successful, tot.Failed, tot.Retransmissions, allocs, bytesPer, ms1.NumGC-ms0.NumGC)
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
