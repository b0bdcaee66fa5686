package audio

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPipe(t *testing.T) {
	tests := []struct {
		name  string
		push  [][]int16
		reads []int
		want  [][]int16
	}{
		{"silence when empty", nil, []int{3}, [][]int16{{0, 0, 0}}},
		{"exact", [][]int16{{1, 2, 3}}, []int{3}, [][]int16{{1, 2, 3}}},
		{"split across reads", [][]int16{{1, 2}, {3, 4, 5}}, []int{2, 2, 2}, [][]int16{{1, 2}, {3, 4}, {5, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPipe(0)
			for _, s := range tt.push {
				if err := p.Push(s); err != nil {
					t.Fatalf("%s: push: %v", tt.name, err)
				}
			}
			for i, n := range tt.reads {
				got := make([]int16, n)
				if err := p.ReadFrame(got); err != nil {
					t.Fatalf("%s read %d: %v", tt.name, i, err)
				}
				if !slices.Equal(got, tt.want[i]) {
					t.Errorf("%s read %d: %v, want %v", tt.name, i, got, tt.want[i])
				}
			}
			if q := p.Queued(); q != 0 {
				t.Errorf("%s: %d samples still queued", tt.name, q)
			}
		})
	}
}

func TestPipeReceived(t *testing.T) {
	p := NewPipe(0)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	done := make(chan []int16)
	go func() { // owned by this test; joined by the receive below
		got, err := p.WaitReceived(ctx, 6)
		if err != nil {
			t.Errorf("WaitReceived: %v", err)
		}
		done <- got
	}()
	for _, s := range [][]int16{{1, 2, 3}, {4, 5, 6}} {
		if err := p.WriteFrame(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-done; !slices.Equal(got, ramp(1, 6)) {
		t.Errorf("received %v, want %v", got, ramp(1, 6))
	}

	short, cancelShort := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancelShort()
	if _, err := p.WaitReceived(short, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReceived past deadline = %v, want DeadlineExceeded", err)
	}
	// Not a wait: Close lands while WaitReceived blocks, the path under
	// test (the other order returns ErrClosed too).
	go func() { time.Sleep(10 * time.Millisecond); p.Close() }()
	if _, err := p.WaitReceived(ctx, 100); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitReceived on closed pipe = %v, want ErrClosed", err)
	}
	if err := p.Push([]int16{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after Close = %v, want ErrClosed", err)
	}
	if got := p.Received(); len(got) != 6 {
		t.Errorf("Received after Close: %d samples, want 6", len(got))
	}
}

func TestCapture(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		writes      [][]int16
		want        []int16
		wantDropped int
	}{
		{"under limit", 10, [][]int16{{1, 2}, {3}}, []int16{1, 2, 3}, 0},
		{"at limit", 3, [][]int16{{1, 2}, {3, 4, 5}}, []int16{1, 2, 3}, 2},
		{"default limit", 0, [][]int16{{7}}, []int16{7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture(tt.limit)
			for _, w := range tt.writes {
				if err := c.WriteFrame(w); err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
			}
			if got := c.Samples(); !slices.Equal(got, tt.want) {
				t.Errorf("%s: samples %v, want %v", tt.name, got, tt.want)
			}
			if got := c.Dropped(); got != tt.wantDropped {
				t.Errorf("%s: dropped %d, want %d", tt.name, got, tt.wantDropped)
			}
			c.Reset()
			if c.Len() != 0 || c.Dropped() != 0 {
				t.Errorf("%s: after Reset len %d dropped %d", tt.name, c.Len(), c.Dropped())
			}
		})
	}
}
