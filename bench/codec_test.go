//go:build linux

package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkCodecCalls holds BENCH_CODEC_CALLS (default 50) calls on one
// codec at a time against `anyphone endpoint --codecs C --audio tone:440`:
// the endpoint encodes its tone and decodes what the Go UAC's sockets echo
// back, so each call costs one encoder and one decoder at the codec's rate
// (8 kHz G.711, 16 kHz G.722, 48 kHz Opus; the tone is made at that rate,
// no resampling). It reports the endpoint's CPU per call in % of a core.
func BenchmarkCodecCalls(b *testing.B) {
	if !wanted(sutAnyphone) {
		b.Skip("anyphone not in BENCH_SUT")
	}
	k := envInt("BENCH_CODEC_CALLS", 50)
	for _, codec := range []string{"PCMU", "G722", "opus"} {
		b.Run(codec, func(b *testing.B) {
			bin, err := anyphoneBin()
			if err != nil {
				b.Fatal(err)
			}
			s, err := StartAnyphone(bin, benchDir(), "tone:440", "--codecs", codec)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop()
			up, flowing, cpuPct := runCodecCalls(b, s, k, codec)
			perCall := cpuPct / float64(max(up, 1))
			b.Logf("%s: %d of %d calls up, %d with full media, CPU %.1f %% of a core, %.3f %% per call", codec, up, k, flowing, cpuPct, perCall)
			if flowing < k {
				results.Note("codec %s: only %d of %d calls had full media", codec, flowing, k)
			}
			results.Set(fmt.Sprintf("codec %s: CPU per call (%% of a core, %d calls)", codec, k), sutAnyphone, perCall)
			b.ReportMetric(perCall, "cpu%/call")
		})
	}
}

// runCodecCalls places k calls offering codec at 50 calls/s, each with an
// echoing RTP socket, and measures the SUT's CPU over the media window.
func runCodecCalls(b *testing.B, s *SUT, k int, codec string) (up, flowing int, cpuPct float64) {
	b.Helper()
	uac, err := NewUAC(s.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer uac.Close()
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
	tick := time.NewTicker(20 * time.Millisecond)
	for i := range k {
		<-tick.C
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(b.Context(), 40*time.Second)
			defer cancel()
			leg, err := uac.InviteSDP(ctx, s.User, OfferCodec(sinks[i].Port(), codec))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				b.Logf("%s call %d: %v", codec, i, err)
				return
			}
			legs[i] = leg
			up++
		})
	}
	tick.Stop()
	wg.Wait()
	time.Sleep(2 * time.Second) // settle: media flows on every call before the window
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
	cpuPct = 100 * float64(c1.CPU-c0.CPU) / float64(c1.At.Sub(c0.At))
	for _, sk := range sinks {
		if float64(len(sk.Arrivals())) >= 0.9*50*window.Seconds() {
			flowing++
		}
	}
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
	return up, flowing, cpuPct
}
