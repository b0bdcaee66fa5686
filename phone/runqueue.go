package phone

import (
	"runtime/metrics"
	"time"
)

// runQueue reads how long runnable goroutines wait for a CPU (runtime/metrics
// /sched/latencies:seconds, which the runtime samples at about one
// scheduling in eight), over the interval since the last read.
//
// It is the shedder's second signal (overload.go): measured with a fresh
// endpoint offered 4,500 calls/s, the socket queue waited 1–20 ms while the
// run-queue wait's p90 was 10–30 ms, against 0.3 ms at a clean 2,900.
type runQueue struct {
	sample []metrics.Sample
	prev   []uint64
}

const runQueueMetric = "/sched/latencies:seconds"

func newRunQueue() *runQueue {
	r := &runQueue{sample: []metrics.Sample{{Name: runQueueMetric}}}
	r.read(0.9)
	return r
}

// read returns quantile q of the waits since the last read and how many
// waits were sampled (0, 0 when none).
func (r *runQueue) read(q float64) (time.Duration, uint64) {
	metrics.Read(r.sample)
	if r.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0, 0
	}
	h := r.sample[0].Value.Float64Histogram()
	if len(r.prev) != len(h.Counts) {
		r.prev = make([]uint64, len(h.Counts))
		copy(r.prev, h.Counts)
		return 0, 0
	}
	var n uint64
	for i, c := range h.Counts {
		n += c - r.prev[i]
	}
	var at time.Duration
	want, acc := uint64(q*float64(n)), uint64(0)
	for i, c := range h.Counts {
		acc += c - r.prev[i]
		if acc > want {
			// the bucket's lower bound: never more than was measured
			at = time.Duration(h.Buckets[i] * float64(time.Second))
			break
		}
	}
	copy(r.prev, h.Counts)
	return at, n
}
