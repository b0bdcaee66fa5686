//go:build cgo

// Package g722 is G.722 at 64 kbit/s (16 kHz PCM) from spandsp, through cgo.
// spandsp's codec is the one FreeSWITCH and Asterisk ship; its tests check
// it against the ITU-T G.722 test vectors. Without cgo New returns an error.
package g722

/*
#cgo pkg-config: spandsp
#include <stdint.h>
#include <stdlib.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Codec is one G.722 encoder and decoder pair. Not safe for concurrent use.
type Codec struct {
	enc *C.g722_encode_state_t
	dec *C.g722_decode_state_t
}

// New returns a 64 kbit/s G.722 codec with 16 kHz PCM. Close frees it.
func New() (*Codec, error) {
	c := &Codec{
		enc: C.g722_encode_init(nil, 64000, 0),
		dec: C.g722_decode_init(nil, 64000, 0),
	}
	if c.enc == nil || c.dec == nil {
		_ = c.Close()
		return nil, errors.New("g722: spandsp init failed")
	}
	return c, nil
}

// SampleRate is 16000: G.722's PCM rate (its RTP clock is 8000).
func (c *Codec) SampleRate() int { return 16000 }

// Encode writes len(pcm)/2 bytes (two samples a byte) into dst.
func (c *Codec) Encode(dst []byte, pcm []int16) (int, error) {
	if c.enc == nil {
		return 0, errors.New("g722: closed")
	}
	if len(pcm) == 0 {
		return 0, nil
	}
	if len(dst) < (len(pcm)+1)/2 {
		return 0, errors.New("g722: buffer too small")
	}
	n := C.g722_encode(c.enc, (*C.uint8_t)(unsafe.Pointer(&dst[0])), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	return int(n), nil
}

// Decode writes two samples per payload byte into dst.
func (c *Codec) Decode(dst []int16, payload []byte) (int, error) {
	if c.dec == nil {
		return 0, errors.New("g722: closed")
	}
	if len(payload) == 0 {
		return 0, nil
	}
	if len(dst) < 2*len(payload) {
		return 0, errors.New("g722: buffer too small")
	}
	n := C.g722_decode(c.dec, (*C.int16_t)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.int(len(payload)))
	return int(n), nil
}

// Close frees the spandsp states; the Codec is unusable afterwards.
func (c *Codec) Close() error {
	if c.enc != nil {
		C.g722_encode_free(c.enc)
		c.enc = nil
	}
	if c.dec != nil {
		C.g722_decode_free(c.dec)
		c.dec = nil
	}
	return nil
}
