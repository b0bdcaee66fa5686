//go:build cgo

// Package speex is SpeexDSP's resampler (the one PulseAudio, FreeSWITCH
// and Opus's tools use) through cgo: polyphase, so a 48 kHz ↔ 8 kHz
// conversion costs a fraction of a windowed-sinc filter run at the higher
// rate. Without cgo New returns an error.
package speex

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Quality is SPEEX_RESAMPLER_QUALITY_VOIP.
const Quality = 3

// Resampler converts mono 16-bit PCM between two rates, keeping its state
// between calls. Not safe for concurrent use.
type Resampler struct {
	st      *C.SpeexResamplerState
	in, out int
}

// New returns a resampler from in to out hertz at quality (0-10).
func New(in, out, quality int) (*Resampler, error) {
	var cerr C.int
	st := C.speex_resampler_init(1, C.spx_uint32_t(in), C.spx_uint32_t(out), C.int(quality), &cerr)
	if st == nil || cerr != 0 {
		return nil, fmt.Errorf("speex: resampler %d → %d: error %d", in, out, int(cerr))
	}
	// Start without the filter's leading zeros (no latency at the start).
	C.speex_resampler_skip_zeros(st)
	return &Resampler{st: st, in: in, out: out}, nil
}

// MaxOut returns the most samples Process can produce from n.
func (r *Resampler) MaxOut(n int) int { return n*r.out/r.in + 2 }

// Process resamples src and appends the result to dst. It allocates only
// when dst lacks room for MaxOut(len(src)) more samples.
func (r *Resampler) Process(dst, src []int16) []int16 {
	if r.st == nil || len(src) == 0 {
		return dst
	}
	need := r.MaxOut(len(src))
	if cap(dst)-len(dst) < need {
		nd := make([]int16, len(dst), len(dst)+need)
		copy(nd, dst)
		dst = nd
	}
	out := dst[len(dst) : len(dst)+need]
	inLen, outLen := C.spx_uint32_t(len(src)), C.spx_uint32_t(need)
	C.speex_resampler_process_int(r.st, 0, (*C.spx_int16_t)(unsafe.Pointer(&src[0])), &inLen,
		(*C.spx_int16_t)(unsafe.Pointer(&out[0])), &outLen)
	return dst[:len(dst)+int(outLen)]
}

// Close frees the resampler.
func (r *Resampler) Close() error {
	if r.st != nil {
		C.speex_resampler_destroy(r.st)
		r.st = nil
	}
	return nil
}
