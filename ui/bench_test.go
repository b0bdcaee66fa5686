package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/anyphone/anyphone/cti"
)

// eightCalls is a busy desk: one active, six held, one ringing.
func eightCalls() []cti.CallInfo {
	var calls []cti.CallInfo
	for i := range 8 {
		c := call(fmt.Sprintf("c%d", i), cti.Outgoing, cti.CallActive, fmt.Sprintf("Caller %d", i), fmt.Sprintf("+49301234%03d", i), i, i+2)
		if i > 0 && i < 7 {
			c = held(c)
		}
		if i == 7 {
			c = call("c7", cti.Incoming, cti.CallIncoming, "Ringing", "1007", 70, 0)
		}
		calls = append(calls, c)
	}
	return calls
}

// BenchmarkView is the time per frame with 8 calls at 120×40 (aim: under
// 2 ms). Journal rows join when the journal pane exists.
func BenchmarkView(b *testing.B) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		b.Run(fmt.Sprintf("8calls_%dx%d", sz[0], sz[1]), func(b *testing.B) {
			m := newTestModel(b, newFake(), sz[0], sz[1], eightCalls()...)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
	b.Run("ladder_256_messages", func(b *testing.B) {
		f := newFake()
		for i := range 32 {
			for _, msg := range ladderFixture() {
				msg.Time = msg.Time.Add(time.Duration(i) * 10 * time.Second)
				f.ladder = append(f.ladder, msg)
			}
		}
		m := newTestModel(b, f, 120, 40, eightCalls()...)
		press(m, "l")
		b.ReportAllocs()
		for b.Loop() {
			_ = m.View()
		}
	})
}

// BenchmarkJournalView is the time per frame of the journal pane holding
// 10,000 rows with 8 calls up (aim: under 2 ms).
func BenchmarkJournalView(b *testing.B) {
	f := newFake()
	fx := journalFixture()
	for i := range 10000 {
		e := fx[i%len(fx)]
		e.ID = int64(10000 - i)
		e.Started = base.Add(-time.Duration(i) * time.Minute)
		f.entries = append(f.entries, e)
	}
	m := newTestModel(b, f, 120, 40, eightCalls()...)
	press(m, "j")
	if len(m.journal.entries) != 10000 {
		b.Fatalf("journal rows: %d", len(m.journal.entries))
	}
	press(m, "pgdown", "pgdown")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkFirstFrame is the start-up time to the first frame: New (which
// subscribes and takes a Snapshot), a window size, and a View.
func BenchmarkFirstFrame(b *testing.B) {
	calls := eightCalls()
	b.ReportAllocs()
	for b.Loop() {
		f := newFake()
		f.snap.Calls = calls
		m := New(f, Options{NoBell: true, Now: func() time.Time { return base }})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		_ = m.View()
	}
}
