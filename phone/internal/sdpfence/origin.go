package sdpfence

import (
	"bytes"
	"strconv"
	"strings"
)

// Origin is the o= identity of the SDP we send on one call. RFC 3264 §8:
// every later offer or answer in the session keeps username, sess-id and
// address and raises the version by one. diago v0.31.0 breaks this twice:
// after an answer it adopts the peer's sess-id for our next offer
// (media_session.go RemoteSDP), and as answerer it copies the offerer's.
type Origin struct {
	set  bool
	head []string // username, sess-id
	tail []string // nettype, addrtype, address
	ver  uint64
}

// Keep records the o= line of the first SDP we send and rewrites every
// later one to the same identity with the next version. The caller
// serialises calls on one Origin (phone holds the call's lock).
func (o *Origin) Keep(body []byte) []byte {
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		s := strings.TrimRight(string(l), "\r")
		if !strings.HasPrefix(s, "o=") {
			continue
		}
		f := strings.Fields(s[2:])
		if len(f) != 6 {
			return body
		}
		ver, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return body
		}
		if !o.set {
			o.set, o.head, o.tail, o.ver = true, f[:2:2], f[3:6:6], ver
			return body
		}
		o.ver++
		out := "o=" + strings.Join(append(append(append([]string{}, o.head...), strconv.FormatUint(o.ver, 10)), o.tail...), " ")
		if strings.HasSuffix(string(l), "\r") {
			out += "\r"
		}
		lines[i] = []byte(out)
		return bytes.Join(lines, []byte("\n"))
	}
	return body
}
