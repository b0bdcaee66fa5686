package endpoint

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/phone"
)

// stuckCard is a sound card whose microphone never delivers a frame (a
// read blocked in the sound server's client library) until it is closed.
type stuckCard struct{ closed chan struct{} }

func (c *stuckCard) ReadFrame([]int16) error  { <-c.closed; return audio.ErrClosed }
func (c *stuckCard) WriteFrame([]int16) error { return nil }
func (c *stuckCard) Close() error {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return nil
}

func init() {
	audio.RegisterBackend("stuckcard", audio.Backend{
		Open: func(string, audio.Format, *slog.Logger) (audio.Source, audio.Sink, io.Closer, error) {
			c := &stuckCard{closed: make(chan struct{})}
			return c, c, c, nil
		},
	})
}

// TestMediaGuardsSoundCard: the endpoint's sound card goes through the
// softphone's device guard, so a microphone stuck in a read gives the call
// silence within a frame or two, and hanging up does not wait on it.
func TestMediaGuardsSoundCard(t *testing.T) {
	e := New(Behavior{Audio: "stuckcard"}, slog.New(slog.DiscardHandler))
	defer e.Close()
	src, sink, err := e.Media(phone.CallInfo{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- src.ReadFrame(make([]int16, audio.Narrowband.Samples())) }()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("read: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the call's microphone read blocked on the stuck sound card")
	}
	closed := make(chan struct{})
	go func() {
		if c, ok := sink.(io.Closer); ok {
			_ = c.Close()
		}
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("closing the call's audio waited on the stuck sound card")
	}
}
