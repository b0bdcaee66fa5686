package busy

// Effective is p with every default applied, as Decide and NoAnswer read
// it: what `config show`, `ctl policy` and the settings pane show (issue
// 13: an unset field printed as "" hid that the phone waits). It is for
// showing: stored back, it would pin InConference to today's OnBusy.
func (p Policy) Effective() Policy {
	e := p
	e.OnBusy = p.onBusy()
	if e.InConference == Unset {
		e.InConference = e.OnBusy
	}
	e.Secondary = p.secondaryAction()
	e.DNDAction = p.dndAction()
	if e.NoAnswerAction == Unset {
		e.NoAnswerAction = p.voicemailOr(Unavailable)
	}
	n := int(p.NoAnswerTimeout().Seconds())
	e.NoAnswerSeconds = &n
	return e
}
