package busy

import "testing"

func TestPolicyEffective(t *testing.T) {
	e := Policy{}.Effective()
	if e.OnBusy != Wait || e.InConference != Wait || e.Secondary != Wait || e.DNDAction != Unavailable ||
		e.NoAnswerAction != Unavailable || e.NoAnswerSeconds == nil || *e.NoAnswerSeconds != DefaultNoAnswerSeconds {
		t.Errorf("zero policy effective = %+v", e)
	}
	ten := 10
	e = Policy{OnBusy: Busy, VoicemailURI: "sip:vm@x", NoAnswerSeconds: &ten, Secondary: Decline}.Effective()
	if e.OnBusy != Busy || e.InConference != Busy || e.Secondary != Decline || e.DNDAction != Voicemail ||
		e.NoAnswerAction != Voicemail || *e.NoAnswerSeconds != 10 {
		t.Errorf("effective = %+v", e)
	}
}
