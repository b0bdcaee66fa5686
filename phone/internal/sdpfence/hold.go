package sdpfence

import (
	"strconv"
	"strings"
)

// RemapPT renames payload type from to to in the audio m= line and its
// a=rtpmap / a=fmtp lines. diago matches codecs by exact struct equality,
// payload type included, so a telephone-event offered on 96 would be left
// out of its answer (LIBRARIES §2.10): the middleware shows diago 101 and
// puts the peer's number back into our answer.
func RemapPT(body []byte, from, to int) []byte {
	f, t := strconv.Itoa(from), strconv.Itoa(to)
	d := sdpSplit(body)
	for i, l := range d.lines {
		switch {
		case strings.HasPrefix(l.text, "m=audio "):
			fs := strings.Fields(l.text)
			for j := 3; j < len(fs); j++ {
				if fs[j] == f {
					fs[j] = t
				}
			}
			d.lines[i].text = strings.Join(fs, " ")
		case strings.HasPrefix(l.text, "a=rtpmap:"+f+" "):
			d.lines[i].text = "a=rtpmap:" + t + " " + strings.TrimPrefix(l.text, "a=rtpmap:"+f+" ")
		case strings.HasPrefix(l.text, "a=fmtp:"+f+" "):
			d.lines[i].text = "a=fmtp:" + t + " " + strings.TrimPrefix(l.text, "a=fmtp:"+f+" ")
		}
	}
	return d.bytes()
}

// HeldOffer reports whether an offer is held in a form a strict peer
// refuses initially: c=0.0.0.0 (RFC 2543) or a=inactive. a=sendonly is
// accepted, as the Mediation Server does.
func HeldOffer(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	_, info, err := Normalize(body)
	if err != nil {
		return false
	}
	return info.ZeroAddr || info.Direction == Inactive
}

// AnswerHeldInactive turns the a=recvonly of our answer's audio into
// a=inactive (RFC 3264 §6.1) and reports whether it did; a body without
// audio or with another direction comes back unchanged with false. diago
// answers a sendonly offer with recvonly whatever its own mode
// (media.negotiateMediaDirection); while we hold, inactive says what both
// ends want (see phone's fixHeldAnswer).
func AnswerHeldInactive(body []byte) ([]byte, bool) {
	d := sdpSplit(body)
	k := d.pickAudio()
	if k < 0 {
		return body, false
	}
	start, end := d.section(k)
	dir := d.lastDirection(start, end)
	if dir == DirNone {
		dir = d.lastDirection(0, d.sessionEnd())
	}
	if dir != RecvOnly {
		return body, false
	}
	d.setDirection(Inactive, []int{k})
	return d.bytes(), true
}
