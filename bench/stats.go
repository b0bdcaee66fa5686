//go:build linux

package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs;
// xs need not be sorted and is not modified. It returns 0 for no samples.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// PacingDeviations returns |interval − period| between consecutive arrivals
// of one stream, leaving out the first skip arrivals (start-up).
func PacingDeviations(arrivals []time.Time, period time.Duration, skip int) []time.Duration {
	if len(arrivals) <= skip+1 {
		return nil
	}
	a := arrivals[skip:]
	out := make([]time.Duration, 0, len(a)-1)
	for i := 1; i < len(a); i++ {
		d := a[i].Sub(a[i-1]) - period
		if d < 0 {
			d = -d
		}
		out = append(out, d)
	}
	return out
}
