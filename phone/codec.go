package phone

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/emiago/diago/media"

	"github.com/anyphone/anyphone/audio/codec"
)

// AudioRateCodec as Config.AudioRate runs each call's Media at the
// negotiated codec's own PCM rate (CodecRate).
const AudioRateCodec = -1

// codecG722 is G.722 as diago's codec matching (struct equality, LIBRARIES
// §2.11) sees it in an SDP: static payload type 9 with the RTP clock of
// 8000 that RFC 3551 §4.5.2 keeps for historical reasons (the PCM is 16 kHz).
var codecG722 = media.Codec{PayloadType: 9, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1, Name: "G722"}

// defaultCodecs is Config.Codecs when empty.
var defaultCodecs = []string{"PCMU", "PCMA"}

func init() {
	// Answer in our order of preference, not the offerer's (RFC 3264 §6.1
	// lets the answerer choose). diago has only this global switch; every
	// Phone in the process shares it and it is set before any call.
	media.SDPCodecPreferLocalOrder = 1
}

// sdpCodecs turns Config.Codecs into diago's list, telephone-event last.
// Unknown names, duplicates and codecs this build lacks (no cgo) are errors
// naming the field.
func sdpCodecs(names []string) ([]media.Codec, error) {
	if len(names) == 0 {
		names = defaultCodecs
	}
	out := make([]media.Codec, 0, len(names)+1)
	seen := map[string]bool{}
	for _, n := range names {
		name := codec.Canonical(n)
		if name == "" {
			return nil, fmt.Errorf("codecs: %q is not one of PCMU, PCMA, G722, opus", n)
		}
		if seen[name] {
			return nil, fmt.Errorf("codecs: %q listed twice", n)
		}
		seen[name] = true
		if !codec.Available(name) {
			return nil, fmt.Errorf("codecs: %s is not in this build (built without cgo)", name)
		}
		switch name {
		case "PCMU":
			out = append(out, media.CodecAudioUlaw)
		case "PCMA":
			out = append(out, media.CodecAudioAlaw)
		case "G722":
			out = append(out, codecG722)
		case "opus":
			out = append(out, media.CodecAudioOpus)
		}
	}
	return append(out, media.CodecTelephoneEvent8000), nil
}

// opusRTPMap finds the offer's Opus payload type (RFC 7587 §7: always
// opus/48000/2, on a dynamic payload type of the offerer's choosing).
var opusRTPMap = regexp.MustCompile(`(?im)^a=rtpmap:(\d+)\s+(opus)/48000(/2)?\s*$`)

// answerCodecs is our codec list for answering offer: diago matches codecs
// by exact struct equality including the payload type and has Opus fixed
// on 96, so an offer with Opus on 111 (browsers, Asterisk) would find no
// Opus in common; we adopt the offerer's payload type, as RFC 3264 §6.1
// requires of the answer anyway (LIBRARIES: codecs fence).
func (p *Phone) answerCodecs(offer []byte) []media.Codec {
	m := opusRTPMap.FindSubmatch(offer)
	if m == nil {
		return nil // diago's default: p.codecs
	}
	pt, err := strconv.Atoi(string(m[1]))
	if err != nil || pt < 96 || pt > 127 || pt == int(media.CodecAudioOpus.PayloadType) || pt == int(media.CodecTelephoneEvent8000.PayloadType) {
		return nil
	}
	out := make([]media.Codec, len(p.codecs))
	copy(out, p.codecs)
	for i, c := range out {
		if c == media.CodecAudioOpus {
			out[i].PayloadType = uint8(pt)
			out[i].Name = string(m[2]) // encoding names are case-insensitive (RFC 4855 §3), diago's match is not
			if m[3] == nil {
				out[i].NumChannels = 1 // "opus/48000" (wrong per RFC 7587, seen in the wild): match it
			}
			return out
		}
	}
	return nil // we do not offer Opus
}

// CodecRate is the PCM sample rate of an SDP codec name: 16000 for G.722,
// 48000 for Opus, 8000 otherwise.
func CodecRate(name string) int {
	switch codec.Canonical(name) {
	case "G722":
		return 16000
	case "opus":
		return 48000
	}
	return 8000
}

// pcmRate is the rate of the call's Media for codec name.
func (p *Phone) pcmRate(name string) int {
	switch p.cfg.AudioRate {
	case 0:
		return 8000
	case AudioRateCodec:
		return CodecRate(name)
	}
	return p.cfg.AudioRate
}

// maxDecodedAt is the most samples a payload of n bytes decodes to at a
// codec rate: 120 ms of it (Opus's longest frame), or two samples a byte
// (G.722; G.711 is one) for a longer G.7xx packet. Sized per codec, the
// decode buffer is 960 samples for G.711 rather than Opus's 5760 (a
// call's two transcoders allocated 23 KB each before: at 400 calls/s,
// 9 MB/s of garbage), and the sending half allocates none.
func maxDecodedAt(rate, n int) int { return max(rate*120/1000, 2*n) }

// transcoder is one call's codec between the media pump's PCM (at the
// call's audio rate, 20 ms frames) and RTP payloads: it resamples between
// the audio rate and the codec's rate when they differ. The encoding half
// belongs to the writer goroutine and the decoding half to the reader;
// both halves share only the codec's state, which libopus and spandsp keep
// apart per direction.
type transcoder struct {
	c       codec.Codec
	rate    int // the Media side's rate
	inFrame int // samples of one 20 ms frame at the codec rate

	// writer goroutine
	up    codec.Resampler // rate → codec rate; nil when equal
	upBuf []int16         // resampled, not yet encoded

	// reader goroutine
	dec     []int16
	down    codec.Resampler // codec rate → rate; nil when equal
	downBuf []int16         // resampled, not yet delivered
	frame   int             // samples of one 20 ms frame at rate
}

// newTranscoder returns the transcoder for an SDP codec name with the Media
// side at rate.
func newTranscoder(name string, rate int) (*transcoder, error) {
	c, err := codec.New(name)
	if err != nil {
		return nil, err
	}
	t := &transcoder{c: c, rate: rate, inFrame: c.SampleRate() / 50, frame: rate / 50}
	if rate != c.SampleRate() {
		t.up = codec.NewResampler(rate, c.SampleRate())
		t.down = codec.NewResampler(c.SampleRate(), rate)
		t.upBuf = make([]int16, 0, 4*t.inFrame)
		t.downBuf = make([]int16, 0, maxDecodedAt(c.SampleRate(), 0)*rate/c.SampleRate()+4*t.frame)
	}
	return t, nil
}

var errNoEncoder = errors.New("phone: no encoder for the call's codec")

// encode turns one frame at the Media rate into a payload in dst.
func (t *transcoder) encode(dst []byte, pcm []int16) (int, error) {
	if t.up == nil {
		return t.c.Encode(dst, pcm)
	}
	t.upBuf = t.up.Process(t.upBuf, pcm)
	if len(t.upBuf) < t.inFrame {
		// The resampler's phase gives a sample less now and then: pad
		// (inaudible) rather than skip a packet.
		t.upBuf = append(t.upBuf, make([]int16, t.inFrame-len(t.upBuf))...)
	}
	n, err := t.c.Encode(dst, t.upBuf[:t.inFrame])
	rest := copy(t.upBuf, t.upBuf[t.inFrame:])
	t.upBuf = t.upBuf[:min(rest, t.inFrame)] // never more than a frame of latency
	return n, err
}

// decode turns one payload into PCM at the Media rate, calling deliver with
// each frame (at the codec rate without resampling; 20 ms frames with).
// deliver must not keep the slice.
func (t *transcoder) decode(payload []byte, deliver func(frame []int16, at int)) error {
	if need := maxDecodedAt(t.c.SampleRate(), len(payload)); len(t.dec) < need {
		t.dec = make([]int16, need) // once per call: the sending half never decodes
	}
	n, err := t.c.Decode(t.dec, payload)
	if err != nil {
		return err
	}
	if t.down == nil {
		deliver(t.dec[:n], 0)
		return nil
	}
	// at is where a frame starts relative to this payload's first sample,
	// at the Media rate: frames completed with samples of earlier payloads
	// start before it (the resampler's own delay is the same for all).
	held := len(t.downBuf)
	t.downBuf = t.down.Process(t.downBuf, t.dec[:n])
	i := 0
	for ; len(t.downBuf)-i >= t.frame; i += t.frame {
		deliver(t.downBuf[i:i+t.frame], i-held)
	}
	t.downBuf = t.downBuf[:copy(t.downBuf, t.downBuf[i:])]
	return nil
}

// mediaTimestamp is an RTP timestamp at the clock rate clock (8000 for
// G.722, RFC 3551 §4.5.2; 48000 for Opus) as samples at the Media rate
// rate, the unit of the hub's jitter buffer; at is the frame's offset
// from the payload's first sample (decode).
func mediaTimestamp(ts uint32, clock, rate, at int) uint32 {
	if clock <= 0 || clock == rate {
		return ts + uint32(int32(at))
	}
	return uint32(uint64(ts)*uint64(rate)/uint64(clock)) + uint32(int32(at))
}

func (t *transcoder) close() {
	_ = t.c.Close()
	if t.up != nil {
		_ = t.up.Close()
		_ = t.down.Close()
	}
}
