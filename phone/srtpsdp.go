package phone

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES (RFC 4568) in SDP: a=crypto lines in our offers and answers, read
// from and removed out of the peer's SDP before diago parses it (diago
// v0.31.0 sees plain RTP/AVP; srtp.go does the crypto on the socket).

// sdesSuite is one crypto-suite we speak.
type sdesSuite struct {
	name    string
	profile srtp.ProtectionProfile
}

// sdesSuites are the suites we offer, in our order of preference.
var sdesSuites = []sdesSuite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32},
}

func suiteByName(name string) (sdesSuite, bool) {
	for _, s := range sdesSuites {
		if strings.EqualFold(s.name, name) {
			return s, true
		}
	}
	return sdesSuite{}, false
}

// sdesCrypto is one a=crypto line: tag, suite and the inline key+salt.
type sdesCrypto struct {
	tag   int
	suite sdesSuite
	key   []byte // master key || master salt (30 bytes for AES-128)
}

func (c sdesCrypto) line() string {
	return "a=crypto:" + strconv.Itoa(c.tag) + " " + c.suite.name + " inline:" + base64.StdEncoding.EncodeToString(c.key)
}

// sdesOffer is what an SDP says about SRTP for its audio stream.
type sdesOffer struct {
	proto   string       // the audio m-line's transport: RTP/AVP, RTP/SAVP, ...
	cryptos []sdesCrypto // the usable a=crypto lines, in the SDP's order
	any     bool         // a=crypto lines were present (usable or not)
}

// secure reports whether the SDP asks for SRTP: RTP/SAVP(F) or crypto lines.
func (o sdesOffer) secure() bool {
	return o.any || strings.Contains(o.proto, "SAVP")
}

// parseSDES reads the audio stream's transport and a=crypto lines. Lines
// with a suite we do not speak, session parameters, a lifetime or MKI we
// cannot honour are skipped (RFC 4568 §6.3: pick another line).
func parseSDES(body []byte) sdesOffer {
	var o sdesOffer
	inAudio, seenMedia := false, false
	for _, raw := range strings.Split(string(body), "\n") {
		l := strings.TrimRight(raw, "\r")
		if strings.HasPrefix(l, "m=") {
			seenMedia = true
			f := strings.Fields(l[2:])
			inAudio = len(f) >= 3 && f[0] == "audio" && o.proto == ""
			if inAudio {
				o.proto = f[2]
			}
			continue
		}
		if !strings.HasPrefix(l, "a=crypto:") || (seenMedia && !inAudio) {
			continue
		}
		o.any = true
		if c, ok := parseCryptoLine(l); ok {
			o.cryptos = append(o.cryptos, c)
		}
	}
	return o
}

func parseCryptoLine(l string) (sdesCrypto, bool) {
	f := strings.Fields(strings.TrimPrefix(l, "a=crypto:"))
	if len(f) < 3 {
		return sdesCrypto{}, false
	}
	if len(f) > 3 {
		return sdesCrypto{}, false // session parameters (UNENCRYPTED_SRTP, KDR, ...): not supported
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return sdesCrypto{}, false
	}
	suite, ok := suiteByName(f[1])
	if !ok {
		return sdesCrypto{}, false
	}
	params := f[2]
	if !strings.HasPrefix(params, "inline:") || strings.Contains(params, ";") {
		return sdesCrypto{}, false // several keys: not supported
	}
	keySalt := strings.TrimPrefix(params, "inline:")
	if i := strings.IndexByte(keySalt, '|'); i >= 0 {
		// |lifetime and |MKI:length: a lifetime we accept (we renew on
		// re-INVITE), an MKI we cannot send.
		rest := keySalt[i+1:]
		keySalt = keySalt[:i]
		if strings.Contains(rest, ":") {
			return sdesCrypto{}, false
		}
	}
	key, err := base64.StdEncoding.DecodeString(keySalt)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(keySalt)
	}
	if err != nil || len(key) != sdesKeyLen(suite) {
		return sdesCrypto{}, false
	}
	return sdesCrypto{tag: tag, suite: suite, key: key}, true
}

func sdesKeyLen(s sdesSuite) int {
	k, _ := s.profile.KeyLen()
	n, _ := s.profile.SaltLen()
	return k + n
}

// stripSDES turns the peer's SDP into what diago v0.31.0 accepts: no
// a=crypto lines and RTP/AVP instead of RTP/SAVP (diago refuses RTP/SAVP
// unless its own SDES, which a re-INVITE drops, is on: LIBRARIES §3 row 6).
func stripSDES(body []byte) []byte {
	if !bytes.Contains(body, []byte("a=crypto:")) && !bytes.Contains(body, []byte("RTP/SAVP")) {
		return body
	}
	var out bytes.Buffer
	out.Grow(len(body))
	for _, raw := range bytes.SplitAfter(body, []byte("\n")) {
		if bytes.HasPrefix(raw, []byte("a=crypto:")) {
			continue
		}
		if bytes.HasPrefix(raw, []byte("m=audio ")) {
			raw = bytes.Replace(raw, []byte(" RTP/SAVPF "), []byte(" RTP/AVPF "), 1)
			raw = bytes.Replace(raw, []byte(" RTP/SAVP "), []byte(" RTP/AVP "), 1)
		}
		out.Write(raw)
	}
	return out.Bytes()
}

// addSDES puts our crypto lines into the audio stream of an SDP diago
// generated and sets its transport to proto.
func addSDES(body []byte, proto string, cryptos []sdesCrypto) []byte {
	var out bytes.Buffer
	out.Grow(len(body) + 80*len(cryptos))
	lines := bytes.SplitAfter(body, []byte("\n"))
	inAudio, done := false, false
	flush := func() {
		if inAudio && !done {
			for _, c := range cryptos {
				out.WriteString(c.line() + "\r\n")
			}
			done = true
		}
	}
	for _, raw := range lines {
		if len(raw) == 0 {
			continue
		}
		if bytes.HasPrefix(raw, []byte("m=")) {
			flush()
			inAudio = bytes.HasPrefix(raw, []byte("m=audio ")) && !done
			if inAudio {
				f := strings.Fields(string(raw))
				if len(f) >= 3 {
					f[2] = proto
					raw = []byte(strings.Join(f, " ") + "\r\n")
				}
			}
		}
		out.Write(raw)
	}
	flush()
	return out.Bytes()
}

// cryptoKeyRE finds the key material of an a=crypto line.
var cryptoKeyRE = regexp.MustCompile(`(a=crypto:[^\r\n]*?inline:)[^\s|;]+`)

// redactSDES replaces the keys in a=crypto lines by <redacted>: for
// ladders, traces and logs. Keys are never shown.
func redactSDES(msg []byte) []byte {
	if !bytes.Contains(msg, []byte("inline:")) {
		return msg
	}
	return cryptoKeyRE.ReplaceAll(msg, []byte("${1}<redacted>"))
}

// SRTPMode is the [sip] srtp setting: whether calls offer and accept SDES-SRTP.
type SRTPMode int

const (
	// SRTPOff offers plain RTP and refuses RTP/SAVP offers (488).
	SRTPOff SRTPMode = iota
	// SRTPOptional offers RTP/AVP with a=crypto and falls back to RTP.
	SRTPOptional
	// SRTPMandatory offers RTP/SAVP and refuses calls without SRTP (488).
	SRTPMandatory
)

func (m SRTPMode) String() string {
	switch m {
	case SRTPOff:
		return "off"
	case SRTPOptional:
		return "optional"
	case SRTPMandatory:
		return "mandatory"
	}
	return "SRTPMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseSRTPMode reads "off", "optional" or "mandatory" ("" is off).
func ParseSRTPMode(s string) (SRTPMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "off":
		return SRTPOff, nil
	case "optional":
		return SRTPOptional, nil
	case "mandatory":
		return SRTPMandatory, nil
	}
	return SRTPOff, fmt.Errorf("%q is not off, optional or mandatory", s)
}
