package journal

import (
	"context"
	"testing"
)

const benchRows = 10000

func fill(b *testing.B, j *Journal, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := j.Record(ctx, burstEntry(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord measures one upsert into a journal of 10,000 calls.
func BenchmarkRecord(b *testing.B) {
	j := openTest(b)
	fill(b, j, benchRows)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := j.Record(ctx, burstEntry(benchRows+i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList measures the journal view's queries on 10,000 calls.
func BenchmarkList(b *testing.B) {
	j := openTest(b)
	fill(b, j, benchRows)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		f    Filter
	}{
		{"page", Filter{User: "me", Limit: 50}},
		{"missed-unread", Filter{User: "me", View: ViewMissed, Unread: true, Limit: 50}},
		{"search", Filter{User: "me", Search: "Caller 99", Limit: 50}},
		{"all", Filter{User: "me"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := j.List(ctx, bc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("unread-count", func(b *testing.B) {
		for b.Loop() {
			if _, err := j.UnreadMissed(ctx, "me"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
