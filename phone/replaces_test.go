package phone

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/internal/sdpfence"
)

func TestParseReplaces(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     replacesInfo
		bad      bool
	}{
		{name: "rfc 3891 example", in: "425928@bobster.example.org;to-tag=7743;from-tag=6472",
			want: replacesInfo{CallID: "425928@bobster.example.org", ToTag: "7743", FromTag: "6472"}},
		{name: "spaces and early-only", in: " abc ; from-tag=f ;to-tag=t;early-only", want: replacesInfo{CallID: "abc", ToTag: "t", FromTag: "f", EarlyOnly: true}},
		{name: "no from-tag", in: "abc;to-tag=t", bad: true},
		{name: "empty", in: "", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReplaces(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("parseReplaces(%q) = %+v, %v; want %+v, bad=%v", tc.in, got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestReferToWithReplacesRoundTrip(t *testing.T) {
	r := replacesInfo{CallID: "a1b2@anyphone", ToTag: "to;x", FromTag: "from"}
	target := sip.Uri{Scheme: "sip", User: "carol", Host: "127.0.0.1", Port: 5070}
	v := referToWithReplaces(target, r)
	if want := "<sip:carol@127.0.0.1:5070?Replaces=a1b2%40anyphone%3Bto-tag%3Dto%3Bx%3Bfrom-tag%3Dfrom>"; v != want {
		t.Fatalf("Refer-To = %s, want %s", v, want)
	}
	var u sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(v, &u, &params); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, u)
	if !moveReplacesToHeader(req) {
		t.Fatal("no Replaces found in the parsed Refer-To")
	}
	if req.Recipient.Headers != nil || strings.Contains(req.Recipient.String(), "Replaces") {
		t.Errorf("Request-URI still carries headers: %s", req.Recipient.String())
	}
	h := req.GetHeader("Replaces")
	if h == nil || h.Value() != r.String() {
		t.Errorf("Replaces header = %v, want %s", h, r.String())
	}
}

func TestParseInfoDTMF(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		want           rune
		ok             bool
	}{
		{"dtmf-relay", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"dtmf-relay star", "application/dtmf-relay", "Signal= *\nDuration=100", '*', true},
		{"dtmf-relay 11 is #", "Application/DTMF-Relay; charset=x", "Signal=11\r\n", '#', true},
		{"application/dtmf", "application/dtmf", "9", '9', true},
		{"lowercase letter", "application/dtmf", "a", 'A', true},
		{"not dtmf", "text/plain", "5", 0, false},
		{"bad signal", "application/dtmf-relay", "Signal=X\r\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseInfoDTMF(tc.ct, []byte(tc.body))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseInfoDTMF = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSDPRemapPT(t *testing.T) {
	in := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"
	out := string(sdpfence.RemapPT([]byte(in), 96, 101))
	for _, want := range []string{"m=audio 4000 RTP/AVP 0 101\r\n", "a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-16\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("remapped SDP lacks %q:\n%s", want, out)
		}
	}
	if back := string(sdpfence.RemapPT([]byte(out), 101, 96)); back != in {
		t.Errorf("round trip = %q, want %q", back, in)
	}
}

func TestHoldFallbackAndHeldOffer(t *testing.T) {
	for _, tc := range []struct {
		from HoldDialect
		next HoldDialect
		ok   bool
	}{
		{HoldZeroIP, HoldInactive, true},
		{HoldInactive, HoldSendonly, true},
		{HoldSendonly, 0, false},
		{HoldDefault, 0, false},
	} {
		if got, ok := nextHoldDialect(tc.from); got != tc.next || ok != tc.ok {
			t.Errorf("nextHoldDialect(%s) = %s, %v; want %s, %v", tc.from, got, ok, tc.next, tc.ok)
		}
	}
	base := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	for _, tc := range []struct {
		name string
		body string
		want bool
	}{
		{"sendrecv", base, false},
		{"sendonly", string(sdpfence.ApplyHold([]byte(base), HoldSendonly)), false},
		{"inactive", string(sdpfence.ApplyHold([]byte(base), HoldInactive)), true},
		{"zero-ip", string(sdpfence.ApplyHold([]byte(base), HoldZeroIP)), true},
		{"empty", "", false},
	} {
		if got := sdpfence.HeldOffer([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: sdpfence.HeldOffer = %v, want %v", tc.name, got, tc.want)
		}
	}
}
