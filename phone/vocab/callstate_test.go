package vocab

import "testing"

func TestCallStateText(t *testing.T) {
	for s := CallIdle; s <= CallEnded; s++ {
		b, _ := s.MarshalText()
		var back CallState
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip %d: got %v, %v", s, back, err)
		}
	}
}
