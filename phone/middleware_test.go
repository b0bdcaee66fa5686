package phone_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// rawInvite sends one INVITE with body to p from a bare sipgo client and
// returns the final response (ACKing a 2xx is left to the caller's needs:
// the test only inspects it).
func rawInvite(t *testing.T, p *phonetest.Phone, body string, hdrs ...sip.Header) *sip.Response {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("raw"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	var target sip.Uri
	if err := sip.ParseUri(p.URI(), &target); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, target)
	ct := "application/sdp"
	for _, h := range hdrs {
		if strings.EqualFold(h.Name(), "Content-Type") {
			ct = "" // the caller's
		}
	}
	if ct != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ct))
	}
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: 5099}})
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tx, err := cli.TransactionRequest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				if res.StatusCode < 300 {
					// RFC 3261 §13.2.2.4: the ACK for a 2xx is a new request in the dialog.
					ack := sip.NewRequest(sip.ACK, req.Recipient)
					ack.AppendHeader(sip.HeaderClone(req.From()))
					ack.AppendHeader(sip.HeaderClone(res.To()))
					ack.AppendHeader(sip.HeaderClone(req.CallID()))
					ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
					ack.SetDestination(req.Destination())
					if err := cli.WriteRequest(ack); err != nil {
						t.Fatalf("ack: %v", err)
					}
				}
				return res
			}
		case <-tx.Done():
			t.Fatalf("transaction ended without a final response: %v", tx.Err())
		case <-ctx.Done():
			t.Fatal("no final response")
		}
	}
}

// fixture loads an SDP fixture with every address moved to loopback: an
// answered test call sends RTP to what the SDP says, and tests never send
// anywhere but 127.0.0.1.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("internal/sdpfence/testdata/sdp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return ipv4.ReplaceAllString(string(b), "IN IP4 127.0.0.1")
}

var ipv4 = regexp.MustCompile(`IN IP4 [0-9.]+`)

func TestIncomingSDPFences(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		hdrs     []sip.Header
		wantCode int
		check    func(t *testing.T, res *sip.Response)
	}{
		{
			name: "lf-only empty line (diago panics on it) is answered", body: fixture(t, "empty_lf_line.sdp"), wantCode: 200,
		},
		{
			name: "no trailing crlf keeps the last line", body: strings.TrimRight(fixture(t, "sipp_uac_offer.sdp"), "\r\n"), wantCode: 200,
		},
		{
			name: "audio plus video gets video rejected with port 0", body: fixture(t, "audio_video_te96.sdp"), wantCode: 200,
			check: func(t *testing.T, res *sip.Response) {
				body := string(res.Body())
				if n := strings.Count(body, "m="); n != 2 {
					t.Errorf("answer has %d m-lines, want 2 (RFC 3264 §6):\n%s", n, body)
				}
				if !strings.Contains(body, "m=video 0 ") {
					t.Errorf("answer does not reject video with port 0:\n%s", body)
				}
			},
		},
		{name: "garbage sdp", body: fixture(t, "garbage.sdp"), wantCode: 400},
		{name: "truncated sdp", body: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=aud", wantCode: 400},
		{name: "require 100rel", body: fixture(t, "sipp_uac_offer.sdp"), hdrs: []sip.Header{sip.NewHeader("Require", "100rel")}, wantCode: 420,
			check: func(t *testing.T, res *sip.Response) {
				if h := res.GetHeader("Unsupported"); h == nil || h.Value() != "100rel" {
					t.Errorf("420 without Unsupported: 100rel: %v", h)
				}
			}},
	}
	p := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	go func() {
		// auto-answer whatever rings
		for {
			select {
			case <-t.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			for _, c := range p.Calls() {
				if c.State == phone.CallIncoming {
					_ = p.Answer(c.ID)
				}
			}
		}
	}()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := rawInvite(t, p, tc.body, tc.hdrs...)
			if int(res.StatusCode) != tc.wantCode {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.wantCode)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestRTPWatchdog(t *testing.T) {
	// The raw caller sends no RTP at all: the watchdog must notice.
	p := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob", RTPTimeout: 800 * time.Millisecond, RTPTimeoutHangup: true})
	go func() {
		in := p.Events.WaitState(t, "", phone.CallIncoming)
		_ = p.Answer(in.ID)
	}()
	res := rawInvite(t, p, fixture(t, "sipp_uac_offer.sdp"))
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	ev := p.Events.WaitFor(t, 5*time.Second, "media timeout", func(ev phone.Event) bool {
		_, ok := ev.(phone.MediaTimeout)
		return ok
	}).(phone.MediaTimeout)
	if ev.Silent < 800*time.Millisecond {
		t.Errorf("fired after %s of silence, want at least 800ms", ev.Silent)
	}
	end := p.Events.WaitState(t, ev.CallID, phone.CallEnded)
	if end.End == nil || end.End.Cause != phone.EndMediaTimeout {
		t.Errorf("end = %+v, want media-timeout", end.End)
	}
}

func TestRequireTimerIsSupported(t *testing.T) {
	// RFC 4028: a peer that requires session timers is served (update.go
	// answers Session-Expires), while an unknown extension still gets 420.
	p := phonetest.NewPhone(t, 0, &phone.Config{Name: "bob"})
	go func() {
		in := p.Events.WaitState(t, "", phone.CallIncoming)
		_ = p.Answer(in.ID)
	}()
	res := rawInvite(t, p, fixture(t, "sipp_uac_offer.sdp"),
		sip.NewHeader("Require", "timer"), sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "1800"))
	if res.StatusCode != 200 {
		t.Fatalf("Require: timer got %d %s, want 200", res.StatusCode, res.Reason)
	}
	if h := res.GetHeader("Session-Expires"); h == nil {
		t.Errorf("200 without Session-Expires (RFC 4028 §9)")
	}
}
