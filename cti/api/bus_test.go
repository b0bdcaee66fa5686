package api

import (
	"testing"
)

func TestBusNeverBlocksAndReportsLag(t *testing.T) {
	var b Bus
	slow := b.Subscribe(2)
	fast := b.Subscribe(100)
	for i := range 10 {
		b.Publish(Notice{Text: string(rune('a' + i))}) // must not block on slow
	}
	if got := len(fast.C); got != 10 {
		t.Fatalf("fast subscriber got %d events, want 10", got)
	}
	// slow holds the first two; the rest were dropped.
	<-slow.C
	<-slow.C
	b.Publish(Notice{Text: "after"})
	ev := <-slow.C
	lag, ok := ev.(Lagged)
	if !ok || lag.Dropped != 8 {
		t.Fatalf("slow subscriber got %#v, want Lagged{Dropped: 8}", ev)
	}
	if ev := <-slow.C; ev.(Notice).Text != "after" {
		t.Fatalf("after lag: %#v, want the new event", ev)
	}
	slow.Close()
	slow.Close() // idempotent
	b.Publish(Notice{Text: "x"})
	if _, open := <-slow.C; open {
		t.Fatal("closed subscription still delivers")
	}
	b.CloseAll()
	n := 0
	for range fast.C { // buffered events drain, then the channel is closed
		n++
	}
	if n != 12 { // ten, "after" and "x"
		t.Fatalf("fast drained %d events after closeAll, want 12", n)
	}
}
