package journal

import (
	"context"
	"testing"
)

// TestRecordSRTP: the journal keeps the crypto-suite of a call's media, and
// a later sighting without it (the end, seen by another device) keeps it.
func TestRecordSRTP(t *testing.T) {
	j := openTest(t)
	e := incoming("s1", 0, OutcomeAnswered)
	e.SRTP = "AES_CM_128_HMAC_SHA1_80"
	mustRecord(t, j, e)
	later := incoming("s1", 0, OutcomeAnswered)
	mustRecord(t, j, later)
	mustRecord(t, j, incoming("clear", 1, OutcomeAnswered))
	es, err := j.List(context.Background(), Filter{User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range es {
		got[e.SIPCallID] = e.SRTP
	}
	if got["s1"] != "AES_CM_128_HMAC_SHA1_80" || got["clear"] != "" || len(got) != 2 {
		t.Errorf("srtp by call: %v; want s1 AES_CM_128_HMAC_SHA1_80, clear empty", got)
	}
}
