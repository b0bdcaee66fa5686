// Package speex is the softphone's signal processing from libraries made
// for it, through cgo behind the build tag "speexdsp":
//
//   - on the receive path, SpeexDSP's adaptive jitter buffer (libspeexdsp)
//     orders frames, sets the playout delay from the measured jitter and
//     handles clock drift, and spandsp's G.711 Appendix I style
//     concealment (libspandsp) fills the frames that never came;
//   - on the microphone, SpeexDSP's echo canceller with its preprocessor
//     for the residual echo removes what the speaker played.
//
// Without the tag the package registers nothing: calls play frames as
// they arrive and the microphone goes out as captured. Importing the
// package registers both with audio.RegisterJitterBuffer and
// audio.RegisterEchoCanceller.
package speex
