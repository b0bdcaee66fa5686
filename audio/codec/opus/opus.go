//go:build cgo

// Package opus is Opus (RFC 6716, RTP per RFC 7587) at 48 kHz mono from
// libopus through gopkg.in/hraban/opus.v2, the binding diago itself uses
// behind its with_opus_c tag. We send mono; the decoder folds a stereo
// stream to mono, as RFC 7587 §3.4 allows. Without cgo New returns an error.
package opus

import (
	"errors"

	hopus "gopkg.in/hraban/opus.v2"
)

// Codec is one Opus encoder and decoder pair. Not safe for concurrent use.
type Codec struct {
	enc    *hopus.Encoder
	dec    *hopus.Decoder
	closed bool
}

// New returns an Opus codec for VoIP at 48 kHz mono.
func New() (*Codec, error) {
	enc, err := hopus.NewEncoder(48000, 1, hopus.AppVoIP)
	if err != nil {
		return nil, err
	}
	dec, err := hopus.NewDecoder(48000, 1)
	if err != nil {
		return nil, err
	}
	return &Codec{enc: enc, dec: dec}, nil
}

// SampleRate is 48000, Opus's RTP clock (RFC 7587 §4.1).
func (c *Codec) SampleRate() int { return 48000 }

// Encode encodes one frame (2.5 to 60 ms: 120 to 2880 samples).
func (c *Codec) Encode(dst []byte, pcm []int16) (int, error) {
	if c.closed {
		return 0, errors.New("opus: closed")
	}
	return c.enc.Encode(pcm, dst)
}

// Decode decodes one packet into dst (up to 120 ms: 5760 samples).
func (c *Codec) Decode(dst []int16, payload []byte) (int, error) {
	if c.closed {
		return 0, errors.New("opus: closed")
	}
	return c.dec.Decode(payload, dst)
}

// Close marks the codec unusable; the binding's states are Go memory.
func (c *Codec) Close() error {
	c.closed = true
	return nil
}
