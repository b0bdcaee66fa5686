package phone_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestParseMessageSummary(t *testing.T) {
	tests := []struct {
		name string
		body string
		want phone.MessageSummary
		bad  bool
	}{
		{name: "RFC 3842 example", body: "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n",
			want: phone.MessageSummary{Waiting: true, Account: "sip:alice@vmail.example.com", New: 4, Old: 8, NewUrgent: 1, OldUrgent: 2}},
		{name: "LF, lower case, spaces", body: "messages-waiting:YES\nvoice-message :  2 / 8 \n", want: phone.MessageSummary{Waiting: true, New: 2, Old: 8}},
		{name: "none waiting", body: "Messages-Waiting: no\r\nVoice-Message: 0/3\r\n", want: phone.MessageSummary{Old: 3}},
		{name: "status only", body: "Messages-Waiting: yes\r\n", want: phone.MessageSummary{Waiting: true}},
		{name: "other classes and headers ignored", body: "Messages-Waiting: yes\r\nFax-Message: 1/1\r\nVoice-Message: 1/0\r\n\r\nTo: <sip:alice@example.com>\r\nSubject: hi\r\n",
			want: phone.MessageSummary{Waiting: true, New: 1}},
		{name: "empty", body: "", bad: true},
		{name: "no status", body: "Voice-Message: 2/8\r\n", bad: true},
		{name: "maybe", body: "Messages-Waiting: maybe\r\n", bad: true},
		{name: "two status lines", body: "Messages-Waiting: yes\r\nMessages-Waiting: no\r\n", bad: true},
		{name: "no colon", body: "Messages-Waiting yes\r\n", bad: true},
		{name: "negative", body: "Messages-Waiting: yes\r\nVoice-Message: -1/8\r\n", bad: true},
		{name: "huge count", body: "Messages-Waiting: yes\r\nVoice-Message: 99999999999999999999/8\r\n", bad: true},
		{name: "no slash", body: "Messages-Waiting: yes\r\nVoice-Message: 2\r\n", bad: true},
		{name: "open paren", body: "Messages-Waiting: yes\r\nVoice-Message: 2/8 (1/1\r\n", bad: true},
		{name: "trailing junk", body: "Messages-Waiting: yes\r\nVoice-Message: 2/8 (1/1) x\r\n", bad: true},
		{name: "control character", body: "Messages-Waiting: yes\r\nMessage-Account: sip:a\x00b\r\n", bad: true},
		{name: "too long", body: "Messages-Waiting: yes\r\n" + strings.Repeat("X-Pad: y\r\n", 2000), bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := phone.ParseMessageSummary([]byte(tc.body))
			if tc.bad {
				if !errors.Is(err, phone.ErrBadMessageSummary) {
					t.Errorf("%s: err %v, want ErrBadMessageSummary", tc.name, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
			}
		})
	}
}

func FuzzParseMessageSummary(f *testing.F) {
	for _, s := range []string{
		"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n",
		"Messages-Waiting: no\n\nTo: x\n",
		"Voice-Message: 2/8 (",
		"Messages-Waiting: yes\r\nVoice-Message: 1/(2)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := phone.ParseMessageSummary(b)
		if err != nil {
			if !errors.Is(err, phone.ErrBadMessageSummary) {
				t.Fatalf("error %v does not wrap ErrBadMessageSummary", err)
			}
			return
		}
		if ms.New < 0 || ms.Old < 0 || ms.NewUrgent < 0 || ms.OldUrgent < 0 || ms.New > 9999999 {
			t.Fatalf("counts out of range: %+v", ms)
		}
	})
}

// notify sends a NOTIFY datagram from c to the phone at addr and returns
// the final response code.
func notify(t *testing.T, c *net.UDPConn, addr string, n int, event, ctype, body string) int {
	t.Helper()
	la := c.LocalAddr().String()
	msg := fmt.Sprintf("NOTIFY sip:alice@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-mwi-%[3]d;rport\r\n"+
		"From: <sip:vm@%[2]s>;tag=vm%[3]d\r\n"+
		"To: <sip:alice@%[1]s>\r\n"+
		"Call-ID: mwi-%[3]d@test\r\n"+
		"CSeq: %[3]d NOTIFY\r\n"+
		"Max-Forwards: 70\r\n"+
		"Contact: <sip:vm@%[2]s>\r\n"+
		"Event: %[4]s\r\n"+
		"Subscription-State: active\r\n"+
		"Content-Type: %[5]s\r\n"+
		"Content-Length: %[6]d\r\n\r\n%[7]s", addr, la, n, event, ctype, len(body), body)
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDP([]byte(msg), ra); err != nil {
		t.Fatal(err)
	}
	code, _, all := finalResponse(c, 3*time.Second)
	if code == 0 {
		t.Fatalf("no response to NOTIFY %d; read %q", n, all)
	}
	return code
}

// TestMWINotify: an unsolicited NOTIFY message-summary is answered 200 and
// reaches the phone's state and events; a bad body gets 400, another
// content type 415, and neither changes the state.
func TestMWINotify(t *testing.T) {
	p := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice", Voicemail: "sip:*97@127.0.0.1"})
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := p.MWI(); ok {
		t.Fatal("MWI known before any NOTIFY")
	}
	if code := notify(t, c, p.Addr(), 1, "message-summary", "application/simple-message-summary",
		"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vm\r\nVoice-Message: 2/8 (1/0)\r\n"); code != 200 {
		t.Fatalf("good NOTIFY: %d, want 200", code)
	}
	ev := p.Events.WaitFor(t, 2*time.Second, "MessageWaiting", func(ev phone.Event) bool {
		mw, ok := ev.(phone.MessageWaiting)
		return ok && mw.Summary.New == 2
	}).(phone.MessageWaiting)
	want := phone.MessageSummary{Waiting: true, Account: "sip:alice@vm", New: 2, Old: 8, NewUrgent: 1,
		Voicemail: "sip:*97@127.0.0.1", Subscription: "unsolicited", Updated: ev.Summary.Updated}
	if ev.Summary != want || ev.Summary.Updated.IsZero() {
		t.Errorf("event %+v, want %+v", ev.Summary, want)
	}
	for i, tc := range []struct {
		event, ctype, body string
		code               int
	}{
		{"message-summary", "application/simple-message-summary", "Messages-Waiting: perhaps\r\n", 400},
		{"message-summary", "application/simple-message-summary", "Voice-Message: 1/2\r\n", 400},
		{"message-summary", "application/simple-message-summary", "Messages-Waiting: yes\r\nVoice-Message: 1/x\r\n", 400},
		{"message-summary", "text/plain", "Messages-Waiting: no\r\n", 415},
		{"message-summary;id=1", "application/simple-message-summary", "\x00\xff\xfe:::", 400},
	} {
		if code := notify(t, c, p.Addr(), 10+i, tc.event, tc.ctype, tc.body); code != tc.code {
			t.Errorf("NOTIFY %d (%q): %d, want %d", i, tc.body, code, tc.code)
		}
	}
	if ms, ok := p.MWI(); !ok || ms.New != 2 || ms.Old != 8 || !ms.Waiting {
		t.Errorf("state after bad NOTIFYs: %+v, %v; want 2/8 waiting", ms, ok)
	}
	if code := notify(t, c, p.Addr(), 20, "message-summary", "application/simple-message-summary", "Messages-Waiting: no\r\nVoice-Message: 0/10\r\n"); code != 200 {
		t.Fatalf("second NOTIFY: %d", code)
	}
	if ms, _ := p.MWI(); ms.Waiting || ms.New != 0 || ms.Old != 10 {
		t.Errorf("after 'no': %+v", ms)
	}
}
