package phone

// Shed is how many new INVITEs load shedding refused with 503
// (Config.OverloadDelay).
func (p *Phone) Shed() int64 {
	p.mu.Lock()
	g := p.guard
	p.mu.Unlock()
	if g == nil || g.Shedder() == nil {
		return 0
	}
	return g.Shedder().Refused()
}
