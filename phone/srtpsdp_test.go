package phone

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

var key30 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 30))

func TestParseSDES(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/SAVP 0 101\r\n" +
		"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + key30 + "\r\n" + // suite we do not speak
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:notbase64!!\r\n" + // broken key
		"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4\r\n" + // MKI: not supported
		"a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1\r\n" + // session parameter
		"a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\r\n" + // bad tag
		"a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31\r\n" + // lifetime: fine
		"a=crypto:6 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\r\n" +
		"m=video 0 RTP/SAVP 96\r\n" +
		"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\r\n"
	o := parseSDES([]byte(body))
	if o.proto != "RTP/SAVP" || !o.any || !o.secure() {
		t.Errorf("proto %q any %v", o.proto, o.any)
	}
	var tags []int
	for _, c := range o.cryptos {
		tags = append(tags, c.tag)
	}
	if len(tags) != 2 || tags[0] != 5 || tags[1] != 6 {
		t.Errorf("usable crypto tags %v, want [5 6]", tags)
	}

	clean := string(stripSDES([]byte(body)))
	if strings.Contains(clean, "a=crypto") || strings.Contains(clean, "m=audio 4000 RTP/SAVP") || !strings.Contains(clean, "m=audio 4000 RTP/AVP 0 101\r\n") {
		t.Errorf("stripped:\n%s", clean)
	}

	ours := sdesCrypto{tag: 5, suite: sdesSuites[1], key: bytes.Repeat([]byte{9}, 30)}
	plain := "v=0\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\nm=video 0 RTP/AVP 96\r\n"
	got := string(addSDES([]byte(plain), "RTP/SAVP", []sdesCrypto{ours}))
	want := "v=0\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" + base64.StdEncoding.EncodeToString(ours.key) + "\r\nm=video 0 RTP/AVP 96\r\n"
	if got != want {
		t.Errorf("addSDES:\n%q\nwant\n%q", got, want)
	}
	if r := string(redactSDES([]byte(got))); strings.Contains(r, base64.StdEncoding.EncodeToString(ours.key)) ||
		!strings.Contains(r, "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:<redacted>\r\n") {
		t.Errorf("redacted:\n%s", r)
	}
	if r := string(redactSDES([]byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20\r\n"))); r != "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^20\r\n" {
		t.Errorf("redacted with lifetime: %q", r)
	}
}

func TestParseSRTPMode(t *testing.T) {
	for in, want := range map[string]SRTPMode{"": SRTPOff, "off": SRTPOff, "Optional": SRTPOptional, " mandatory ": SRTPMandatory} {
		if got, err := ParseSRTPMode(in); err != nil || got != want {
			t.Errorf("ParseSRTPMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseSRTPMode("always"); err == nil {
		t.Error("ParseSRTPMode(always): no error")
	}
}

// FuzzSDES: no SDP makes the SDES helpers panic, and what stripSDES leaves
// has no crypto line.
func FuzzSDES(f *testing.F) {
	f.Add([]byte("m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4\r\n"))
	f.Add([]byte("a=crypto:\na=crypto:1\nm=audio\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := parseSDES(b)
		for _, c := range o.cryptos {
			if len(c.key) != sdesKeyLen(c.suite) {
				t.Fatalf("key of %d bytes", len(c.key))
			}
		}
		if s := stripSDES(b); bytes.Contains(s, []byte("\na=crypto:")) {
			t.Fatalf("crypto left: %q", s)
		}
		_ = addSDES(b, "RTP/SAVP", o.cryptos)
		_ = redactSDES(b)
	})
}
