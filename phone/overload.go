package phone

// Shed is how many new INVITEs load shedding refused with 503
// (Config.OverloadDelay). They are counted here only, on purpose: unlike
// the other refused INVITEs (CallRefused, refused.go) they make no event,
// notice or journal row, since they happen exactly when the phone has no
// time to spare.
func (p *Phone) Shed() int64 {
	p.mu.Lock()
	g := p.guard
	p.mu.Unlock()
	if g == nil || g.Shedder() == nil {
		return 0
	}
	return g.Shedder().Refused()
}
