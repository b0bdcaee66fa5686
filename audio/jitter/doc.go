// Package jitter is the receive path's jitter buffer and packet-loss
// concealment: SpeexDSP's adaptive jitter buffer (libspeexdsp) orders
// frames, sets the playout delay from the measured jitter and handles
// clock drift; spandsp's G.711 Appendix I style concealment (libspandsp)
// fills the frames that never came. Both are cgo behind the build tag
// "speexdsp"; without it the package registers nothing and calls play
// frames as they arrive. Importing the package registers the buffer with
// audio.RegisterJitterBuffer.
package jitter
