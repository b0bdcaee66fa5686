package audio

import (
	"sync/atomic"
	"time"
)

// TimedSink is a Sink that also takes a received frame with its RTP
// timestamp and sequence number, so a jitter buffer can order frames and
// notice the missing ones. The RTP reader (phone) prefers it to WriteFrame.
type TimedSink interface {
	Sink
	WriteTimed(src []int16, ts uint32, seq uint16) error
}

// JitterBuffer holds received frames until their playout time: it puts
// frames that arrive out of order back in order, adapts its delay to the
// network's jitter, conceals a missing frame (packet-loss concealment),
// and drops or inserts frames when the sender's clock drifts from ours.
// Put is called as frames arrive, Get once per frame time by the playout
// clock. Implementations are safe for concurrent use.
type JitterBuffer interface {
	// Put adds a received frame with its RTP timestamp and sequence number.
	Put(frame []int16, ts uint32, seq uint16)
	// Get fills dst with the frame due now: received, concealed or silence.
	Get(dst []int16) JitterResult
	// Reset forgets every frame (a call put on hold, resumed).
	Reset()
	// Stats returns the counts so far.
	Stats() JitterStats
	// Close releases the buffer.
	Close() error
}

// JitterResult says what Get played.
type JitterResult int

const (
	JitterSilence   JitterResult = iota // nothing received yet (or for long): silence
	JitterPlayed                        // a received frame
	JitterConcealed                     // a missing frame, concealed
)

func (r JitterResult) String() string {
	switch r {
	case JitterPlayed:
		return "played"
	case JitterConcealed:
		return "concealed"
	}
	return "silence"
}

// JitterStats are a jitter buffer's counts.
type JitterStats struct {
	Played, Concealed, Silence uint64
	Delay                      time.Duration // what the frames it holds add now
}

var newJitter atomic.Pointer[func(Format) JitterBuffer]

// RegisterJitterBuffer makes fn the constructor NewJitterBuffer uses
// (audio/speex registers SpeexDSP's when built with the speexdsp tag).
func RegisterJitterBuffer(fn func(Format) JitterBuffer) { newJitter.Store(&fn) }

// NewJitterBuffer returns a jitter buffer for frames of f, or nil when
// none is built in (frames are then played as they arrive).
func NewJitterBuffer(f Format) JitterBuffer {
	if fn := newJitter.Load(); fn != nil {
		return (*fn)(f)
	}
	return nil
}
