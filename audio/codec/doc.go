// Package codec turns 16-bit PCM into RTP payloads and back for the audio
// codecs anyphone negotiates: PCMU and PCMA (pure Go), G.722 (spandsp) and
// Opus (libopus), the last two through cgo in the subpackages g722 and opus.
// Built without cgo (CGO_ENABLED=0) the wideband codecs report
// ErrUnavailable and are not offered.
//
// It must not import phone, cti, ui, anydevice or any SIP or RTP library:
// phone maps SDP codec names to New.
package codec
