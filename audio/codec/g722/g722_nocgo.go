//go:build !cgo

package g722

import "errors"

// Codec is absent without cgo.
type Codec struct{}

// New reports that G.722 needs cgo (spandsp).
func New() (*Codec, error) { return nil, errors.New("g722: built without cgo") }

func (*Codec) SampleRate() int                     { return 16000 }
func (*Codec) Encode([]byte, []int16) (int, error) { return 0, errors.New("g722: built without cgo") }
func (*Codec) Decode([]int16, []byte) (int, error) { return 0, errors.New("g722: built without cgo") }
func (*Codec) Close() error                        { return nil }
