//go:build !cgo

package opus

import "errors"

// Codec is absent without cgo.
type Codec struct{}

// New reports that Opus needs cgo (libopus).
func New() (*Codec, error) { return nil, errors.New("opus: built without cgo") }

func (*Codec) SampleRate() int                     { return 48000 }
func (*Codec) Encode([]byte, []int16) (int, error) { return 0, errors.New("opus: built without cgo") }
func (*Codec) Decode([]int16, []byte) (int, error) { return 0, errors.New("opus: built without cgo") }
func (*Codec) Close() error                        { return nil }
