package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSessionTimer422Retried (issue 13): a caller whose Session-Expires is
// below our Min-SE gets 422 and, knowing RFC 4028, retries at once on the
// same Call-ID with our Min-SE. That negotiation is no refused call: the
// endpoint reports no ended call with 422 for it, only the call that
// follows. A caller that does not retry is reported as refused (rule
// session-interval) once the retry window has passed.
func TestSessionTimer422Retried(t *testing.T) {
	ep := startEndpoint(t, "--answer", "auto", "--audio", "tone:440", "--log-level", "warn")
	c := newRawClient(t, ep.Addr)
	sdp := "v=0\r\no=interop 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", freePort(t, 1))
	invite := func(callID string, cseq int, se string) rawResponse {
		t.Helper()
		c.Send(c.request("INVITE", ep.URI, callID, cseq, []string{"Content-Type: application/sdp",
			"Supported: timer", "Session-Expires: " + se}, sdp))
		r, ok := c.WaitFinal(callID, fmt.Sprintf("%d INVITE", cseq), 3*time.Second)
		if !ok {
			t.Fatalf("%s: no final answer to the INVITE with Session-Expires %s", callID, se)
		}
		c.Send(ackFor(c, ep.URI, callID, r))
		return r
	}
	refused422 := func(callID string) func(Event) bool {
		return func(ev Event) bool {
			return isCall("ended")(ev) && ev.Call.End != nil && ev.Call.End.Code == 422 &&
				strings.Contains(ev.Raw, callID) && strings.Contains(ev.Raw, `"session-interval"`)
		}
	}

	const retried = "st-retried@interop"
	if r := invite(retried, 1, "30"); r.Code != 422 {
		t.Fatalf("Session-Expires 30: %d, want 422", r.Code)
	}
	if r := invite(retried, 2, "1800"); r.Code != 200 {
		t.Fatalf("the retry with Session-Expires 1800: %d, want 200", r.Code)
	} else {
		c.Send(c.request("BYE", ep.URI, retried, 3, []string{"To: " + r.To}, ""))
	}

	const gaveUp = "st-gave-up@interop"
	if r := invite(gaveUp, 1, "30"); r.Code != 422 {
		t.Fatalf("Session-Expires 30: %d, want 422", r.Code)
	}
	if _, err := ep.WaitEvent(refused422(gaveUp), 5*time.Second); err != nil {
		t.Errorf("a 422 not retried is not reported as a refused call: %v", err)
	}
	for _, ev := range ep.Events() {
		if refused422(retried)(ev) {
			t.Errorf("the 422 that the caller retried is reported as a refused call: %s", ev.Raw)
		}
	}
}
