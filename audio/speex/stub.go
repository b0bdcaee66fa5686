//go:build !speexdsp

package speex

// Available reports whether the SpeexDSP jitter buffer is built in.
const Available = false
