//go:build !speexdsp

package jitter

// Available reports whether the SpeexDSP jitter buffer is built in.
const Available = false
