package journal

import (
	"testing"

	"github.com/anyphone/anyphone/phone/vocab"
)

// TestWhy: the WHY column joins the secondary call, where a transferred
// call went and the note, in that order.
func TestWhy(t *testing.T) {
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{}, ""},
		{Entry{Secondary: vocab.SecondaryForked}, vocab.SecondaryForked.String()},
		{Entry{SecondaryText: "team call for Alice", Secondary: vocab.SecondaryForked}, "team call for Alice"},
		{Entry{Outcome: OutcomeTransferred, Phrase: "transferred to sip:carol@x"}, "transferred to sip:carol@x"},
		{Entry{SecondaryText: "forwarded from Bob", Note: "redirected by 302 to sip:vm@x; answered by sip:vm@x"}, "forwarded from Bob; redirected by 302 to sip:vm@x; answered by sip:vm@x"},
	} {
		if got := tc.e.Why(); got != tc.want {
			t.Errorf("Why(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
