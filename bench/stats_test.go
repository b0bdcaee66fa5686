//go:build linux

package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of unsorted", ms(5, 1, 3, 2, 4), 50, 3 * time.Millisecond},
		{"p99 of 100", ms(slices.Collect(func(yield func(int) bool) {
			for i := 100; i >= 1; i-- {
				if !yield(i) {
					return
				}
			}
		})...), 99, 99 * time.Millisecond},
		{"max", ms(1, 9, 3), 100, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.xs)
			if got := Percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("%s: p%.0f = %v, want %v", tt.name, tt.p, got, tt.want)
			}
			if !slices.Equal(in, tt.xs) {
				t.Errorf("%s: input modified", tt.name)
			}
		})
	}
}

func TestPacingDeviations(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...float64) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = t0.Add(time.Duration(m * float64(time.Millisecond)))
		}
		return out
	}
	us := time.Microsecond
	tests := []struct {
		name string
		in   []time.Time
		skip int
		want []time.Duration
	}{
		{"exact", at(0, 20, 40), 0, []time.Duration{0, 0}},
		{"late and early", at(0, 21, 39.5), 0, []time.Duration{1000 * us, 1500 * us}},
		{"skip start-up", at(0, 1, 2, 22, 42), 2, []time.Duration{0, 0}},
		{"too few", at(0, 20), 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PacingDeviations(tt.in, 20*time.Millisecond, tt.skip); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
