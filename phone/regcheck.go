package phone

import (
	"context"
	"time"
)

// Noticing a lost binding. A registrar forgets a binding when it restarts
// without persistence or an administrator removes it (kamcmd ul.rm); the
// phone still shows "registered" and calls to the AOR fail until the next
// refresh quietly re-adds it. With regConfig.CheckBinding the registration
// first fetches the bindings before each refresh (RFC 3261 §10.2.3: a
// REGISTER without Contact; the 200 lists them) and, when ours is not
// among them, says so (OnLost, a warning) before registering again. The
// user's :register forces that refresh at once (Phone.Register).

// BindingLost reports that the registrar no longer held our binding: it
// is being registered again. Reg is the registration as it was seen.
type BindingLost struct {
	Reg RegInfo
}

func (BindingLost) phoneEvent() {}

// checkBinding fetches the registrar's bindings for the AOR and reports a
// binding of ours gone. Errors and non-2xx answers are left to the
// refresh that follows.
func (r *registration) checkBinding(ctx context.Context) {
	r.querying = true
	res, err := r.send(ctx, 0, nil)
	r.querying = false
	if err != nil || res == nil || !res.IsSuccess() {
		return
	}
	for _, c := range regContacts(res) {
		if regSameURI(c.Address, r.contact.Address) {
			return
		}
	}
	r.bound = false
	r.log.Warn("registrar lost our binding; registering again", "aor", r.cfg.AOR.Addr(), "contact", r.contact.Address.String())
	r.update(func(i *RegInfo) {
		i.State = RegRegistering
		i.Expires = time.Time{}
		i.Code = res.StatusCode
		i.Err = "the registrar lost our binding"
	})
	if r.cfg.OnLost != nil {
		r.cfg.OnLost(r.Info())
	}
}
