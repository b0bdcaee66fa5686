package ctl

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/cti/api"
)

// TestDecodeRequestOutcome: a request_outcome on the wire comes back to a
// front end attached through the control protocol (the TUI against a
// shared controller) as the api event, so its status line shows it.
func TestDecodeRequestOutcome(t *testing.T) {
	want := api.RequestOutcome{CallID: "d7", Method: "BYE", Peer: "127.0.0.1:5070", Outcome: "transport_error",
		Reason: "peer unreachable", Seconds: 0.5, Text: "mobile: BYE: transport error after 0.5 s (peer unreachable)"}
	b, err := MarshalEvent(want, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := decodeMessage(b)
	if err != nil || ev == nil {
		t.Fatalf("decodeMessage(%s): %v", b, err)
	}
	got, ok := decodeEvent(*ev)
	if !ok {
		t.Fatalf("decodeEvent(%s): not decoded", b)
	}
	if got != want {
		t.Errorf("decodeEvent = %+v, want %+v", got, want)
	}
}
