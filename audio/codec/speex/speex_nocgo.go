//go:build !cgo

package speex

import "errors"

// Quality is SPEEX_RESAMPLER_QUALITY_VOIP.
const Quality = 3

// Resampler is absent without cgo.
type Resampler struct{}

// New reports that the resampler needs cgo (speexdsp).
func New(in, out, quality int) (*Resampler, error) {
	return nil, errors.New("speex: built without cgo")
}

func (*Resampler) MaxOut(n int) int                 { return n }
func (*Resampler) Process(dst, src []int16) []int16 { return dst }
func (*Resampler) Close() error                     { return nil }
