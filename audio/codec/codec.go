package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zaf/g711"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/audio/codec/g722"
	"github.com/anyphone/anyphone/audio/codec/opus"
	"github.com/anyphone/anyphone/audio/codec/speex"
)

// ErrUnavailable is returned by New for a codec this build lacks (cgo off).
var ErrUnavailable = errors.New("codec: not in this build (needs cgo)")

// ErrUnknown is returned by New for a name it does not know.
var ErrUnknown = errors.New("codec: unknown")

// Codec encodes and decodes one direction pair of a call's audio, mono.
// SampleRate is the rate of its PCM (8000 for G.711, 16000 for G.722,
// 48000 for Opus), which is not always the RTP clock rate (G.722's is
// 8000, RFC 3551 §4.5.2). A Codec keeps state between frames and is not
// safe for concurrent use; Close frees what cgo allocated.
type Codec interface {
	// Encode writes the payload of pcm (one frame) into dst.
	Encode(dst []byte, pcm []int16) (int, error)
	// Decode writes the samples of one payload into dst.
	Decode(dst []int16, payload []byte) (int, error)
	SampleRate() int
	Close() error
}

// Names are the codecs New knows, by their SDP encoding names in the
// canonical spelling (RFC 3551, RFC 7587).
var Names = []string{"PCMU", "PCMA", "G722", "opus"}

// Canonical returns the canonical spelling of an SDP encoding name
// (encoding names are case-insensitive, RFC 4855 §3), or "" if unknown.
func Canonical(name string) string {
	for _, n := range Names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

// Available reports whether New can make name in this build.
func Available(name string) bool {
	c, err := New(name)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// New returns a fresh Codec for an SDP encoding name (case-insensitive).
func New(name string) (Codec, error) {
	switch Canonical(name) {
	case "PCMU":
		return g711Codec{ulaw: true}, nil
	case "PCMA":
		return g711Codec{}, nil
	case "G722":
		c, err := g722.New()
		if err != nil {
			return nil, fmt.Errorf("G722: %w", errors.Join(ErrUnavailable, err))
		}
		return c, nil
	case "opus":
		c, err := opus.New()
		if err != nil {
			return nil, fmt.Errorf("opus: %w", errors.Join(ErrUnavailable, err))
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
}

// g711Codec is PCMU or PCMA: one byte per sample, 8 kHz, stateless.
type g711Codec struct{ ulaw bool }

func (c g711Codec) Encode(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, errors.New("codec: G.711 buffer too small")
	}
	for i, s := range pcm {
		if c.ulaw {
			dst[i] = g711.EncodeUlawFrame(s)
		} else {
			dst[i] = g711.EncodeAlawFrame(s)
		}
	}
	return len(pcm), nil
}

func (c g711Codec) Decode(dst []int16, payload []byte) (int, error) {
	n := min(len(dst), len(payload))
	for i, b := range payload[:n] {
		if c.ulaw {
			dst[i] = g711.DecodeUlawFrame(b)
		} else {
			dst[i] = g711.DecodeAlawFrame(b)
		}
	}
	return n, nil
}

func (g711Codec) SampleRate() int { return 8000 }
func (g711Codec) Close() error    { return nil }

// Resampler converts mono PCM between two rates frame by frame.
type Resampler interface {
	// Process appends the resampled src to dst.
	Process(dst, src []int16) []int16
	Close() error
}

// NewResampler returns SpeexDSP's resampler at VoIP quality from in to out
// hertz, or audio.Resampler (pure Go, slower) in a build without cgo.
func NewResampler(in, out int) Resampler {
	if r, err := speex.New(in, out, speex.Quality); err == nil {
		return r
	}
	return goResampler{audio.NewResampler(in, out)}
}

type goResampler struct{ *audio.Resampler }

func (goResampler) Close() error { return nil }
