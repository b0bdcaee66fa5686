//go:build speexdsp

package speex

/*
#cgo pkg-config: speexdsp spandsp
#include <stdlib.h>
#include <string.h>
#include <speex/speex_jitter.h>
#include <spandsp/telephony.h>
#include <spandsp/plc.h>
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/anyphone/anyphone/audio"
)

// Available reports whether the SpeexDSP jitter buffer is built in.
const Available = true

func init() {
	audio.RegisterJitterBuffer(func(f audio.Format) audio.JitterBuffer { return New(f) })
}

// Buffer is SpeexDSP's adaptive jitter buffer with spandsp's packet-loss
// concealment, for frames of one format. It is safe for concurrent use.
type Buffer struct {
	mu     sync.Mutex
	jb     *C.JitterBuffer
	plc    *C.plc_state_t
	n      int            // samples per frame = timestamp units per frame
	out    []int16        // cout as a slice
	cout   unsafe.Pointer // C memory Get's frames land in
	in     []int16        // cin as a slice
	cin    unsafe.Pointer // C memory Put copies a frame to
	st     audio.JitterStats
	frame  time.Duration
	heard  bool // a frame has been played since the last reset
	misses int  // consecutive concealed frames
}

// maxConceal is how long a gap is concealed before it fades to silence
// (spandsp fades its synthetic speech out over 60 ms on its own).
const maxConceal = 5

// New returns a jitter buffer for frames of f. Close it when done.
func New(f audio.Format) *Buffer {
	n := f.Samples()
	b := &Buffer{n: n, frame: f.Frame}
	b.jb = C.jitter_buffer_init(C.int(n))
	b.plc = C.plc_init(nil)
	b.cout = C.malloc(C.size_t(2 * n))
	b.out = unsafe.Slice((*int16)(b.cout), n)
	b.cin = C.malloc(C.size_t(2 * n))
	b.in = unsafe.Slice((*int16)(b.cin), n)
	return b
}

// Put adds a frame received with RTP timestamp ts and sequence seq.
func (b *Buffer) Put(frame []int16, ts uint32, seq uint16) {
	if len(frame) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jb == nil {
		return
	}
	k := min(len(frame), b.n)
	copy(b.in, frame[:k]) // C memory: a Go pointer must not sit in p
	var p C.JitterBufferPacket
	p.data = (*C.char)(b.cin)
	p.len = C.spx_uint32_t(2 * k)
	p.timestamp = C.spx_uint32_t(ts)
	p.span = C.spx_uint32_t(k)
	p.sequence = C.spx_uint16_t(seq)
	C.jitter_buffer_put(b.jb, &p) // copies the data
}

// Get fills dst with the frame due now and advances the buffer's clock.
func (b *Buffer) Get(dst []int16) audio.JitterResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jb == nil {
		clear(dst)
		return audio.JitterSilence
	}
	var p C.JitterBufferPacket
	p.data = (*C.char)(b.cout)
	p.len = C.spx_uint32_t(2 * b.n)
	var off C.spx_int32_t
	r := C.jitter_buffer_get(b.jb, &p, C.spx_int32_t(b.n), &off)
	C.jitter_buffer_tick(b.jb)
	res := audio.JitterSilence
	switch {
	case r == C.JITTER_BUFFER_OK && int(p.len) == 2*b.n:
		C.plc_rx(b.plc, (*C.int16_t)(b.cout), C.int(b.n))
		copy(dst, b.out)
		b.heard, b.misses = true, 0
		res = audio.JitterPlayed
		b.st.Played++
	case b.heard && b.misses < maxConceal:
		C.plc_fillin(b.plc, (*C.int16_t)(b.cout), C.int(b.n))
		copy(dst, b.out)
		b.misses++
		res = audio.JitterConcealed
		b.st.Concealed++
	default:
		clear(dst)
		b.st.Silence++
	}
	clear(dst[min(len(dst), b.n):])
	return res
}

// Reset forgets every frame.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jb != nil {
		C.jitter_buffer_reset(b.jb)
		b.heard, b.misses = false, 0
	}
}

// Stats returns the counts so far and the current playout delay.
func (b *Buffer) Stats() audio.JitterStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.st
	if b.jb != nil {
		// The frames it holds: the delay they add.
		var count C.spx_int32_t
		C.jitter_buffer_ctl(b.jb, C.JITTER_BUFFER_GET_AVAILABLE_COUNT, unsafe.Pointer(&count))
		st.Delay = time.Duration(count) * b.frame
	}
	return st
}

// Close releases the buffer. It is safe to call more than once.
func (b *Buffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jb != nil {
		C.jitter_buffer_destroy(b.jb)
		C.plc_free(b.plc)
		C.free(b.cout)
		C.free(b.cin)
		b.jb, b.plc, b.cout, b.out, b.cin, b.in = nil, nil, nil, nil, nil, nil
	}
	return nil
}

var _ audio.JitterBuffer = (*Buffer)(nil)
