package sdpfence

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/diago/media"
	diagosdp "github.com/emiago/diago/media/sdp"
	pionsdp "github.com/pion/sdp/v3"

	"github.com/anyphone/anyphone/phone/vocab"
)

// sdpFixture reads testdata/sdp/<name>.
func sdpFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crlf joins SDP lines the way Normalize writes them.
func crlf(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n"
}

// sdpSummary renders the parts of Info the tests check, on one line.
func sdpSummary(i Info) string {
	var pts, extra []string
	for _, p := range i.Payloads {
		pts = append(pts, fmt.Sprintf("%d:%s/%d", p.PT, p.Name, p.Rate))
	}
	for _, m := range i.Extra {
		extra = append(extra, fmt.Sprintf("%s@%d:%d", m.Type, m.Index, m.Port))
	}
	return fmt.Sprintf("o=%d/%d audio#%d port=%d %s c=%s zero=%t dir=%s eff=%s rx=%t tx=%t pt=[%s] extra=[%s]",
		i.SessionID, i.SessionVersion, i.AudioIndex, i.AudioPort, i.AudioProto, i.ConnAddr, i.ZeroAddr,
		i.Direction, i.Effective, i.RemoteSendsToUs, i.WeMaySend, strings.Join(pts, " "), strings.Join(extra, ","))
}

var sippOffer = crlf("v=0", "o=user1 53655765 2353687637 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
	"m=audio 6000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000")

const sippSummary = "o=53655765/2353687637 audio#0 port=6000 RTP/AVP c=127.0.0.1 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[0:PCMU/8000] extra=[]"

func TestSDPNormalizeFixtures(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		want    string // exact clean body; "" = the fixture itself
		summary string
	}{
		{"baresip", "baresip_offer.sdp", "",
			"o=1395618409/2008474716 audio#0 port=10002 RTP/AVP c=127.0.0.1 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[0:PCMU/8000 8:PCMA/8000 101:telephone-event/8000] extra=[]"},
		{"sipp uac", "sipp_uac_offer.sdp", "", sippSummary},
		{"LF only", "sipp_lf_only.sdp", sippOffer, sippSummary},
		{"empty LF-only line", "empty_lf_line.sdp", sippOffer, sippSummary},
		{"blanks, lone CR, empty lines", "messy_whitespace.sdp", sippOffer, sippSummary},
		{"no trailing CRLF keeps last line", "no_trailing_crlf_sendonly.sdp", sippOffer + "a=sendonly\r\n",
			"o=53655765/2353687637 audio#0 port=6000 RTP/AVP c=127.0.0.1 zero=false dir=sendonly eff=sendonly rx=true tx=false pt=[0:PCMU/8000] extra=[]"},
		{"SfB audio+video with x- lines", "sfb_audio_video.sdp",
			strings.ReplaceAll(string(sdpFixture(t, "sfb_audio_video.sdp")), " \r\n", "\r\n"),
			"o=0/1 audio#0 port=19308 RTP/AVP c=10.20.0.5 zero=false dir=sendrecv eff=sendrecv rx=true tx=true " +
				"pt=[117:G722/8000 114:x-msrta/16000 9:G722/8000 112:G7221/16000 111:SIREN/16000 0:PCMU/8000 8:PCMA/8000 " +
				"116:AAL2-G726-32/8000 115:x-msrta/8000 4:G723/8000 97:RED/8000 13:CN/8000 118:CN/16000 101:telephone-event/8000] extra=[video@1:16648]"},
		{"audio+video, telephone-event 96", "audio_video_te96.sdp", "",
			"o=2890844526/2890844526 audio#0 port=49170 RTP/AVP c=192.0.2.10 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[0:PCMU/8000 96:telephone-event/8000] extra=[video@1:51372]"},
		{"video first, media-level c=", "video_first_media_conn.sdp", "",
			"o=2808844564/2808844564 audio#1 port=49174 RTP/AVP c=192.0.2.20 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[8:PCMA/8000 101:telephone-event/8000] extra=[video@0:51372,application@2:9]"},
		{"RFC 2543 hold c=0.0.0.0", "hold_zero_ip.sdp", "",
			"o=1001/1002 audio#0 port=4000 RTP/AVP c=0.0.0.0 zero=true dir=sendrecv eff=inactive rx=false tx=false pt=[0:PCMU/8000 101:telephone-event/8000] extra=[]"},
		{"c=0.0.0.0 with sendonly", "hold_zero_ip_sendonly.sdp", "",
			"o=1001/1003 audio#0 port=4000 RTP/AVP c=0.0.0.0 zero=true dir=sendonly eff=sendonly rx=true tx=false pt=[0:PCMU/8000] extra=[]"},
		{"a=inactive", "hold_inactive.sdp", "",
			"o=1001/1004 audio#0 port=4000 RTP/AVP c=192.0.2.30 zero=false dir=inactive eff=inactive rx=false tx=false pt=[0:PCMU/8000] extra=[]"},
		{"session-level a=sendonly", "hold_session_sendonly.sdp", "",
			"o=1001/1005 audio#0 port=4000 RTP/AVP c=192.0.2.30 zero=false dir=sendonly eff=sendonly rx=true tx=false pt=[0:PCMU/8000] extra=[]"},
		{"diago 64-bit o=", "diago_64bit_origin.sdp", "",
			"o=17013234567890123456/17013234567890123457 audio#0 port=33810 RTP/AVP c=127.0.0.1 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[0:PCMU/8000 8:PCMA/8000 101:telephone-event/8000] extra=[]"},
		{"session and repeated rtpmap dropped", "dup_rtpmap.sdp",
			crlf("v=0", "o=- 5 5 IN IP4 192.0.2.40", "s=-", "c=IN IP4 192.0.2.40", "t=0 0", "m=audio 4000 RTP/AVP 96 0",
				"a=rtpmap:96 telephone-event/8000"),
			"o=5/5 audio#0 port=4000 RTP/AVP c=192.0.2.40 zero=false dir=sendrecv eff=sendrecv rx=true tx=true pt=[96:telephone-event/8000 0:PCMU/8000] extra=[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sdpFixture(t, tt.fixture)
			want := tt.want
			if want == "" {
				want = string(in)
			}
			got, info, err := Normalize(in)
			if err != nil {
				t.Fatalf("%s: Normalize: %v", tt.fixture, err)
			}
			if string(got) != want {
				t.Errorf("%s: clean =\n%q\nwant\n%q", tt.fixture, got, want)
			}
			if s := sdpSummary(info); s != tt.summary {
				t.Errorf("%s: info\n got %s\nwant %s", tt.fixture, s, tt.summary)
			}
			again, info2, err := Normalize(got)
			if err != nil || !bytes.Equal(again, got) || !reflect.DeepEqual(info, info2) {
				t.Errorf("%s: not idempotent: err %v, %q", tt.fixture, err, again)
			}
			// Our clean output is what pion accepts too (all fixtures are in RFC 4566 order).
			var sd pionsdp.SessionDescription
			if err := sd.Unmarshal(got); err != nil {
				t.Errorf("%s: pion refuses the clean body: %v", tt.fixture, err)
			}
		})
	}
}

func TestSDPNormalizeErrors(t *testing.T) {
	const o = "o=- 1 1 IN IP4 192.0.2.1"
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantLine int
	}{
		{"empty", "", 400, 0},
		{"only blank lines", "\r\n \n\n", 400, 0},
		{"garbage fixture", string(sdpFixture(t, "garbage.sdp")), 400, 1},
		{"no v= first", crlf(o, "v=0", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 1 RTP/AVP 0"), 400, 1},
		{"v=1", crlf("v=1", o, "m=audio 1 RTP/AVP 0"), 400, 1},
		{"second v=", crlf("v=0", o, "v=0", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"not type=value", crlf("v=0", o, "hello", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"upper-case type", crlf("v=0", o, "A=sendonly", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"unknown type x=", crlf("v=0", o, "x=1", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"NUL byte", crlf("v=0", o, "s=a\x00b", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"no o=", crlf("v=0", "s=-", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 0},
		{"o= 5 fields", crlf("v=0", "o=- 1 1 IN IP4", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 2},
		{"o= id not a number", crlf("v=0", "o=- x1 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 2},
		{"o= id beyond 64 bits", crlf("v=0", "o=- 18446744073709551616 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 2},
		{"o= twice", crlf("v=0", o, o, "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"o= in media section", crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0", o), 400, 4},
		{"no m=", crlf("v=0", o, "s=-", "c=IN IP4 192.0.2.1", "t=0 0"), 400, 0},
		{"m= 3 fields", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP"), 400, 4},
		{"m= port not a number", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=audio abc RTP/AVP 0"), 400, 4},
		{"m= port negative", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=audio -1 RTP/AVP 0"), 400, 4},
		{"m= port too big", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=audio 65536 RTP/AVP 0"), 400, 4},
		{"m= bad port count", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=audio 4000/x RTP/AVP 0"), 400, 4},
		{"c= 2 fields (diago indexes fields[2])", crlf("v=0", o, "c=IN IP4", "m=audio 1 RTP/AVP 0"), 400, 3},
		{"two session c= (diago reads the first)", crlf("v=0", o, "c=IN IP4 192.0.2.1", "c=IN IP4 192.0.2.2", "m=audio 1 RTP/AVP 0"), 400, 4},
		{"two media c=", crlf("v=0", o, "m=audio 1 RTP/AVP 0", "c=IN IP4 192.0.2.1", "c=IN IP4 192.0.2.2"), 400, 5},
		{"no c= for audio", crlf("v=0", o, "m=video 1 RTP/AVP 31", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0"), 400, 5},
		{"video only", crlf("v=0", o, "c=IN IP4 192.0.2.1", "m=video 1 RTP/AVP 31"), 488, 0},
		{"c= FQDN", crlf("v=0", o, "c=IN IP4 pbx.example.com", "m=audio 1 RTP/AVP 0"), 488, 0},
		{"c= IP4 with v6 address", crlf("v=0", o, "c=IN IP4 ::1", "m=audio 1 RTP/AVP 0"), 488, 0},
		{"c= not IN", crlf("v=0", o, "c=ATM NSAP 47.0005", "m=audio 1 RTP/AVP 0"), 488, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clean, _, err := Normalize([]byte(tt.body))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("%s: err = %v (%q), want *Error", tt.name, err, clean)
			}
			if se.Code != tt.wantCode || se.Line != tt.wantLine {
				t.Errorf("%s: code %d line %d (%v), want code %d line %d", tt.name, se.Code, se.Line, se, tt.wantCode, tt.wantLine)
			}
			if clean != nil {
				t.Errorf("%s: clean body returned with an error", tt.name)
			}
		})
	}
}

// diagoPanics runs f and reports whether it panicked.
func diagoPanics(f func()) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	f()
	return false
}

// TestSDPFencesDiago shows each diago defect on the raw body and that the fenced body avoids it.
func TestSDPFencesDiago(t *testing.T) {
	remote := func(b []byte) error { return (&media.MediaSession{}).RemoteSDP(b) }
	direction := func(b []byte) string {
		sd := diagosdp.SessionDescription{}
		if err := diagosdp.Unmarshal(b, &sd); err != nil {
			return "error: " + err.Error()
		}
		return sd.MediaDirection()
	}
	t.Run("defect 1: empty LF-only line panics", func(t *testing.T) {
		in := sdpFixture(t, "empty_lf_line.sdp")
		if !diagoPanics(func() { _ = remote(in) }) {
			t.Fatal("diago no longer panics on the raw body: is the fence still needed?")
		}
		clean, _, _, err := FenceIncoming(in)
		if err != nil {
			t.Fatal(err)
		}
		if diagoPanics(func() { _ = remote(clean) }) {
			t.Fatal("diago panics on the fenced body")
		}
		if err := remote(clean); err != nil {
			t.Fatalf("diago refuses the fenced body: %v", err)
		}
	})
	t.Run("defect 2: last line lost without trailing CRLF (#125)", func(t *testing.T) {
		in := sdpFixture(t, "no_trailing_crlf_sendonly.sdp")
		if got := direction(in); got != "sendrecv" {
			t.Fatalf("raw: diago reads %q; the defect is gone?", got)
		}
		clean, _, _, err := FenceIncoming(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := direction(clean); got != "sendonly" {
			t.Fatalf("fenced: diago reads %q, want sendonly", got)
		}
	})
	t.Run("defect 3: more than one m= line", func(t *testing.T) {
		for _, name := range []string{"audio_video_te96.sdp", "video_first_media_conn.sdp", "sfb_audio_video.sdp"} {
			in := sdpFixture(t, name)
			if remote(in) == nil {
				t.Fatalf("%s: diago accepts the raw body; the defect is gone?", name)
			}
			clean, _, removed, err := FenceIncoming(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote(clean); err != nil {
				t.Errorf("%s: diago refuses the fenced body: %v", name, err)
			}
			if len(removed) == 0 {
				t.Errorf("%s: nothing removed", name)
			}
		}
	})
	t.Run("repeated rtpmap overflows diago's codec slice", func(t *testing.T) {
		in := sdpFixture(t, "dup_rtpmap.sdp")
		if !diagoPanics(func() { _ = remote(in) }) {
			t.Fatal("diago no longer panics on the raw body")
		}
		clean, _, _, err := FenceIncoming(in)
		if err != nil {
			t.Fatal(err)
		}
		if diagoPanics(func() { _ = remote(clean) }) {
			t.Fatal("diago panics on the fenced body")
		}
	})
	t.Run("defect 4: RFC 2543 hold read as sendrecv", func(t *testing.T) {
		in := sdpFixture(t, "hold_zero_ip.sdp")
		if got := direction(in); got != "sendrecv" {
			t.Fatalf("raw: diago reads %q", got)
		}
		clean, info, _, err := FenceIncoming(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := direction(clean); got != "inactive" {
			t.Errorf("fenced: diago reads %q, want inactive", got)
		}
		if info.WeMaySend || info.RemoteSendsToUs {
			t.Errorf("info says media flows: %s", sdpSummary(info))
		}
	})
	t.Run("media-level c= wins over session-level", func(t *testing.T) {
		in := []byte(crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "c=IN IP4 192.0.2.2"))
		clean, info, _, err := FenceIncoming(in)
		if err != nil {
			t.Fatal(err)
		}
		sd := diagosdp.SessionDescription{}
		if err := diagosdp.Unmarshal(clean, &sd); err != nil {
			t.Fatal(err)
		}
		ci, err := sd.ConnectionInformation()
		if err != nil || ci.IP.String() != "192.0.2.2" || info.ConnAddr != "192.0.2.2" {
			t.Errorf("diago sends to %v (err %v), info %s; want 192.0.2.2", ci.IP, err, info.ConnAddr)
		}
	})
}

func TestSDPStripAndAddRejected(t *testing.T) {
	diagoAnswer := crlf("v=0", "o=- 2890844526 2890844527 IN IP4 127.0.0.1", "s=Sip Go Media", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio 33810 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=maxptime:20", "a=sendrecv")
	answerMediaConn := crlf("v=0", "o=- 2890844526 2890844527 IN IP4 127.0.0.1", "s=Sip Go Media", "t=0 0",
		"m=audio 33810 RTP/AVP 0", "c=IN IP4 127.0.0.1", "a=sendrecv")
	tests := []struct {
		name         string
		offer        string
		wantStripped string
		wantRemoved  []Media
		answer       string
		wantAnswer   string
	}{
		{
			name:  "audio first",
			offer: string(sdpFixture(t, "audio_video_te96.sdp")),
			wantStripped: crlf("v=0", "o=alice 2890844526 2890844526 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
				"m=audio 49170 RTP/AVP 0 96", "a=rtpmap:0 PCMU/8000", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-16"),
			wantRemoved: []Media{{Index: 1, Type: "video", Port: 51372, Proto: "RTP/AVP", Formats: []string{"99"}}},
			answer:      diagoAnswer,
			wantAnswer:  diagoAnswer + "m=video 0 RTP/AVP 99\r\n",
		},
		{
			name:  "video first, application last",
			offer: string(sdpFixture(t, "video_first_media_conn.sdp")),
			wantStripped: crlf("v=0", "o=bob 2808844564 2808844564 IN IP4 192.0.2.20", "s=-", "t=0 0",
				"m=audio 49174 RTP/AVP 8 101", "c=IN IP4 192.0.2.20", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"),
			wantRemoved: []Media{
				{Index: 0, Type: "video", Port: 51372, Proto: "RTP/AVP", Formats: []string{"31"}},
				{Index: 2, Type: "application", Port: 9, Proto: "TCP/BFCP", Formats: []string{"*"}},
			},
			answer: diagoAnswer,
			wantAnswer: crlf("v=0", "o=- 2890844526 2890844527 IN IP4 127.0.0.1", "s=Sip Go Media", "c=IN IP4 127.0.0.1", "t=0 0",
				"m=video 0 RTP/AVP 31",
				"m=audio 33810 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=maxptime:20", "a=sendrecv",
				"m=application 0 TCP/BFCP *"),
		},
		{
			name:         "answer with media-level c= only: rejected lines get one",
			offer:        string(sdpFixture(t, "video_first_media_conn.sdp")),
			wantStripped: "", // checked above
			wantRemoved:  nil,
			answer:       answerMediaConn,
			wantAnswer: crlf("v=0", "o=- 2890844526 2890844527 IN IP4 127.0.0.1", "s=Sip Go Media", "t=0 0",
				"m=video 0 RTP/AVP 31", "c=IN IP4 127.0.0.1",
				"m=audio 33810 RTP/AVP 0", "c=IN IP4 127.0.0.1", "a=sendrecv",
				"m=application 0 TCP/BFCP *", "c=IN IP4 127.0.0.1"),
		},
		{
			name:  "second audio (rejected) stays out",
			offer: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 0 RTP/SAVP 0", "m=audio 4000 RTP/AVP 0 8"),
			wantStripped: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
				"m=audio 4000 RTP/AVP 0 8"),
			wantRemoved: []Media{{Index: 0, Type: "audio", Port: 0, Proto: "RTP/SAVP", Formats: []string{"0"}}},
			answer:      diagoAnswer,
			wantAnswer: crlf("v=0", "o=- 2890844526 2890844527 IN IP4 127.0.0.1", "s=Sip Go Media", "c=IN IP4 127.0.0.1", "t=0 0",
				"m=audio 0 RTP/SAVP 0",
				"m=audio 33810 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=maxptime:20", "a=sendrecv"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clean, _, err := Normalize([]byte(tt.offer))
			if err != nil {
				t.Fatal(err)
			}
			stripped, removed := StripExtraMedia(clean)
			if tt.wantStripped != "" {
				if string(stripped) != tt.wantStripped {
					t.Errorf("%s: stripped =\n%q\nwant\n%q", tt.name, stripped, tt.wantStripped)
				}
				if !reflect.DeepEqual(removed, tt.wantRemoved) {
					t.Errorf("%s: removed = %+v, want %+v", tt.name, removed, tt.wantRemoved)
				}
			}
			got := AddRejectedMedia([]byte(tt.answer), removed)
			if string(got) != tt.wantAnswer {
				t.Errorf("%s: answer =\n%q\nwant\n%q", tt.name, got, tt.wantAnswer)
			}
			// RFC 3264 §6: as many m= lines as the offer, in the same order of types.
			_, offerInfo, _ := Normalize(clean)
			ad := sdpSplit(got)
			if len(ad.media) != len(offerInfo.Extra)+1 {
				t.Errorf("%s: answer has %d m= lines, offer %d", tt.name, len(ad.media), len(offerInfo.Extra)+1)
			}
		})
	}
	t.Run("nothing removed leaves the answer alone", func(t *testing.T) {
		in := []byte("v=0\nodd but untouched")
		if got := AddRejectedMedia(in, nil); &got[0] != &in[0] {
			t.Errorf("answer copied: %q", got)
		}
	})
	t.Run("no audio: body returned as is", func(t *testing.T) {
		in := []byte(crlf("v=0", "m=video 1 RTP/AVP 31"))
		got, removed := StripExtraMedia(in)
		if !bytes.Equal(got, in) || removed != nil {
			t.Errorf("got %q %v", got, removed)
		}
	})
}

// diagoOwn is an SDP as diago generates it (media_session.go generateSDPForAudio), o= fixed.
var diagoOwn = crlf("v=0", "o=- 3961202355 3961202356 IN IP4 192.168.1.10", "s=Sip Go Media", "c=IN IP4 192.168.1.10", "t=0 0",
	"m=audio 33810 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-16", "a=ptime:20", "a=maxptime:20", "a=sendrecv")

// diagoOwnWith is diagoOwn with another o= version, c= address and final direction line.
func diagoOwnWith(version, addr, dir string) string {
	s := strings.Replace(diagoOwn, "3961202356 IN", version+" IN", 1)
	s = strings.Replace(s, "c=IN IP4 192.168.1.10", "c=IN IP4 "+addr, 1)
	s = strings.Replace(s, "a=sendrecv\r\n", dir, 1)
	return s
}

func TestSDPApplyHold(t *testing.T) {
	tests := []struct {
		name    string
		dialect vocab.HoldDialect
		want    string
		eff     Direction
	}{
		{"default is sendonly", vocab.HoldDefault, diagoOwnWith("3961202357", "192.168.1.10", "a=sendonly\r\n"), SendOnly},
		{"sendonly", vocab.HoldSendonly, diagoOwnWith("3961202357", "192.168.1.10", "a=sendonly\r\n"), SendOnly},
		{"inactive", vocab.HoldInactive, diagoOwnWith("3961202357", "192.168.1.10", "a=inactive\r\n"), Inactive},
		{"zero-ip", vocab.HoldZeroIP, diagoOwnWith("3961202357", "0.0.0.0", ""), Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := ApplyHold([]byte(diagoOwn), tt.dialect)
			if string(held) != tt.want {
				t.Fatalf("%v: held =\n%q\nwant\n%q", tt.dialect, held, tt.want)
			}
			_, info, err := Normalize(held)
			if err != nil || info.Effective != tt.eff || info.Effective != holdDirection(tt.dialect) {
				t.Errorf("%v: peer reads %v (err %v), want %v", tt.dialect, info.Effective, err, tt.eff)
			}
			resumed := ApplyResume(held, "192.168.1.10")
			if want := diagoOwnWith("3961202358", "192.168.1.10", "a=sendrecv\r\n"); string(resumed) != want {
				t.Errorf("%v: resumed =\n%q\nwant\n%q", tt.dialect, resumed, want)
			}
		})
	}
	t.Run("session-level direction and two media", func(t *testing.T) {
		in := crlf("v=0", "o=- 7 9 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0", "a=sendrecv",
			"m=audio 4000 RTP/AVP 0", "a=recvonly", "a=ptime:20", "m=video 4002 RTP/AVP 31")
		want := crlf("v=0", "o=- 7 10 IN IP6 2001:db8::1", "s=-", "c=IN IP6 ::", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "a=ptime:20", "m=video 4002 RTP/AVP 31")
		if got := ApplyHold([]byte(in), vocab.HoldZeroIP); string(got) != want {
			t.Errorf("zero-ip IP6 =\n%q\nwant\n%q", got, want)
		}
		want = crlf("v=0", "o=- 7 10 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "a=ptime:20", "a=inactive", "m=video 4002 RTP/AVP 31", "a=inactive")
		if got := ApplyHold([]byte(in), vocab.HoldInactive); string(got) != want {
			t.Errorf("inactive =\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("resume without address keeps c=", func(t *testing.T) {
		held := ApplyHold([]byte(diagoOwn), vocab.HoldInactive)
		want := diagoOwnWith("3961202358", "192.168.1.10", "a=sendrecv\r\n")
		if got := ApplyResume(held, ""); string(got) != want {
			t.Errorf("resumed =\n%q\nwant\n%q", got, want)
		}
	})
}

func TestSDPTranslateRemoteHold(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" = unchanged, same bytes
		eff  Direction
	}{
		{"RFC 2543 hold gets a=inactive", string(sdpFixture(t, "hold_zero_ip.sdp")),
			string(sdpFixture(t, "hold_zero_ip.sdp")) + "a=inactive\r\n", Inactive},
		{"c=0.0.0.0 + sendonly unchanged", string(sdpFixture(t, "hold_zero_ip_sendonly.sdp")), "", SendOnly},
		{"a=inactive unchanged", string(sdpFixture(t, "hold_inactive.sdp")), "", Inactive},
		{"session-level sendonly unchanged", string(sdpFixture(t, "hold_session_sendonly.sdp")), "", SendOnly},
		{"plain offer unchanged", sippOffer, "", SendRecv},
		{"c=0.0.0.0 + recvonly becomes inactive",
			crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "t=0 0", "a=recvonly", "m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0", "a=recvonly", "a=ptime:20"),
			crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0", "a=ptime:20", "a=inactive"),
			Inactive},
		{"IPv6 :: hold", crlf("v=0", "o=- 1 2 IN IP6 2001:db8::1", "s=-", "c=IN IP6 ::", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			crlf("v=0", "o=- 1 2 IN IP6 2001:db8::1", "s=-", "c=IN IP6 ::", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=inactive"),
			Inactive},
		{"not SDP unchanged", "hello", "", DirNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := translateRemoteHold(in)
			if tt.want == "" {
				if &got[0] != &in[0] {
					t.Errorf("%s: body rewritten: %q", tt.name, got)
				}
			} else if string(got) != tt.want {
				t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
			}
			if tt.eff == DirNone {
				return
			}
			sd := diagosdp.SessionDescription{}
			if err := diagosdp.Unmarshal(got, &sd); err != nil {
				t.Fatal(err)
			}
			if d := sd.MediaDirection(); d != tt.eff.String() {
				t.Errorf("%s: diago reads %q, want %v", tt.name, d, tt.eff)
			}
		})
	}
}

func TestSDPDirectionAnswer(t *testing.T) {
	tests := []struct{ offer, want Direction }{
		{SendOnly, RecvOnly},
		{RecvOnly, SendOnly},
		{Inactive, Inactive},
		{SendRecv, SendRecv},
		{DirNone, SendRecv},
	}
	for _, tt := range tests {
		if got := sdpDirectionAnswer(tt.offer); got != tt.want {
			t.Errorf("sdpDirectionAnswer(%q) = %q, want %q", tt.offer, got, tt.want)
		}
	}
}

func TestSDPFixOrigin(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" = unchanged, same bytes
	}{
		{"diago 64-bit id", string(sdpFixture(t, "diago_64bit_origin.sdp")),
			strings.Replace(string(sdpFixture(t, "diago_64bit_origin.sdp")),
				"17013234567890123456 17013234567890123457", "3961202355 3961202356", 1)},
		{"version equal to id", "v=0\r\no=- 17013234567890123456 17013234567890123456 IN IP4 127.0.0.1\r\n",
			"v=0\r\no=- 3961202355 3961202355 IN IP4 127.0.0.1\r\n"},
		{"LF-only body keeps its bytes", "v=0\no=- 17013234567890123456 17013234567890123466 IN IP4 127.0.0.1\nm=audio 1 RTP/AVP 0",
			"v=0\no=- 3961202355 3961202365 IN IP4 127.0.0.1\nm=audio 1 RTP/AVP 0"},
		{"version below id", "v=0\r\no=- 17013234567890123456 5 IN IP4 127.0.0.1\r\n", "v=0\r\no=- 3961202355 5 IN IP4 127.0.0.1\r\n"},
		{"only version too big", "v=0\r\no=- 7 17013234567890123456 IN IP4 127.0.0.1\r\n",
			"v=0\r\no=- 7 9223372036854775807 IN IP4 127.0.0.1\r\n"},
		{"valid untouched", sippOffer, ""},
		{"int64 max untouched", "v=0\r\no=- 9223372036854775807 9223372036854775807 IN IP4 127.0.0.1\r\n", ""},
		{"o= in media section ignored", "v=0\r\nm=audio 1 RTP/AVP 0\r\no=- 17013234567890123456 1 IN IP4 1.2.3.4\r\n", ""},
		{"malformed o= untouched", "v=0\r\no=- 17013234567890123456 x IN IP4 1.2.3.4\r\n", ""},
		{"no o=", "v=0\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := FixOrigin(in)
			if tt.want == "" {
				if &got[0] != &in[0] {
					t.Errorf("%s: body rewritten: %q", tt.name, got)
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
			}
		})
	}
	t.Run("versions stay monotonic", func(t *testing.T) {
		const id = uint64(17013234567890123456)
		prev := uint64(0)
		for v := id; v < id+5; v++ {
			out := FixOrigin(fmt.Appendf(nil, "v=0\r\no=- %d %d IN IP4 127.0.0.1\r\n", id, v))
			_, info, _ := Normalize(append(out, "c=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0\r\n"...))
			if info.SessionID != id>>32 || info.SessionVersion <= prev {
				t.Fatalf("version %d → %d/%d after %d", v, info.SessionID, info.SessionVersion, prev)
			}
			prev = info.SessionVersion
		}
	})
}

func TestSDPSetConnection(t *testing.T) {
	twoLevels := crlf("v=0", "o=- 1 1 IN IP4 10.0.0.2", "s=-", "c=IN IP4 10.0.0.2", "t=0 0",
		"m=audio 4000 RTP/AVP 0", "c=IN IP4 10.0.0.2/127", "m=video 0 RTP/AVP 31", "c=IN IP4 0.0.0.0")
	tests := []struct {
		name string
		in   string
		addr string
		want string // "" = unchanged, same bytes
	}{
		{"session and media level, hold kept", twoLevels, "203.0.113.7",
			crlf("v=0", "o=- 1 1 IN IP4 10.0.0.2", "s=-", "c=IN IP4 203.0.113.7", "t=0 0",
				"m=audio 4000 RTP/AVP 0", "c=IN IP4 203.0.113.7", "m=video 0 RTP/AVP 31", "c=IN IP4 0.0.0.0")},
		{"IPv6 address", diagoOwn, "2001:db8::7", strings.Replace(diagoOwn, "c=IN IP4 192.168.1.10", "c=IN IP6 2001:db8::7", 1)},
		{"v4-mapped v6 written as IP4", diagoOwn, "::ffff:203.0.113.7",
			strings.Replace(diagoOwn, "c=IN IP4 192.168.1.10", "c=IN IP4 203.0.113.7", 1)},
		{"same address unchanged", diagoOwn, "192.168.1.10", ""},
		{"not an address", diagoOwn, "pbx.example.com", ""},
		{"empty address", diagoOwn, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := setConnection(in, tt.addr)
			if tt.want == "" {
				if &got[0] != &in[0] {
					t.Errorf("%s: body rewritten: %q", tt.name, got)
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
			}
		})
	}
}

func TestSDPInfoPayloadType(t *testing.T) {
	tests := []struct {
		fixture string
		name    string
		rate    int
		wantPT  int
		wantOK  bool
	}{
		{"baresip_offer.sdp", "telephone-event", 8000, 101, true},
		{"audio_video_te96.sdp", "telephone-event", 8000, 96, true},
		{"audio_video_te96.sdp", "TELEPHONE-EVENT", 0, 96, true},
		{"audio_video_te96.sdp", "telephone-event", 16000, 0, false},
		{"sipp_uac_offer.sdp", "telephone-event", 8000, 0, false},
		{"sfb_audio_video.sdp", "G722", 8000, 117, true},
		{"dup_rtpmap.sdp", "PCMU", 8000, 0, true}, // static payload type, no rtpmap
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" "+tt.name, func(t *testing.T) {
			_, info, err := Normalize(sdpFixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			pt, ok := info.PayloadType(tt.name, tt.rate)
			if pt != tt.wantPT || ok != tt.wantOK {
				t.Errorf("%s: payloadType(%s, %d) = %d, %t; want %d, %t", tt.fixture, tt.name, tt.rate, pt, ok, tt.wantPT, tt.wantOK)
			}
		})
	}
}

func TestSDPNormalizeFieldSpacing(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"blank after m= (fuzz regression: diago lost the audio)",
			"v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm= audio 4000 RTP/AVP 0",
			crlf("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 0")},
		{"tabs and double spaces in o=, c=, m=",
			crlf("v=0", "o=-\t1  1 IN IP4 1.2.3.4", "s=a  b", "c=IN\tIP4  1.2.3.4", "m=audio\t4000  RTP/AVP 0\t8", "a=fmtp:8  x"),
			crlf("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=a  b", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 0 8", "a=fmtp:8  x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, info, err := Normalize([]byte(tt.in))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if string(got) != tt.want {
				t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
			}
			sd := diagosdp.SessionDescription{}
			if err := diagosdp.Unmarshal(got, &sd); err != nil {
				t.Fatal(err)
			}
			if md, err := sd.MediaDescription("audio"); err != nil || md.Port != info.AudioPort {
				t.Errorf("%s: diago reads port %d (%v), want %d", tt.name, md.Port, err, info.AudioPort)
			}
		})
	}
}

func TestSDPRewriteHold(t *testing.T) {
	// diago's Hold offer: its own SDP with a=sendonly and the version already bumped.
	diagoHold := diagoOwnWith("3961202357", "192.168.1.10", "a=sendonly\r\n")
	tests := []struct {
		name    string
		dialect vocab.HoldDialect
		want    string // "" = unchanged, same bytes
	}{
		{"default keeps diago's offer", vocab.HoldDefault, ""},
		{"sendonly keeps diago's offer", vocab.HoldSendonly, ""},
		{"inactive", vocab.HoldInactive, diagoOwnWith("3961202357", "192.168.1.10", "a=inactive\r\n")},
		{"zero-ip", vocab.HoldZeroIP, diagoOwnWith("3961202357", "0.0.0.0", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(diagoHold)
			got := RewriteHold(in, tt.dialect)
			if tt.want == "" {
				if &got[0] != &in[0] {
					t.Errorf("%v: body rewritten: %q", tt.dialect, got)
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("%v: got\n%q\nwant\n%q", tt.dialect, got, tt.want)
			}
		})
	}
}
