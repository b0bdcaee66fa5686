package main

import (
	"time"

	"github.com/anyphone/anyphone/phone"
)

// The phone's own defaults for fields where 0 means "the default", so that
// config show prints what the phone runs with (issue 13: expiry = "0s"
// while it registers for 600 s).
const (
	shownDefaultExpiry   = 600 * time.Second // phone: regDefaultExpiry
	shownDefaultMaxCalls = 64                // phone.New
)

// applyShownDefaults fills the fields config show would print as zero
// although the phone or the busy engine runs with a default: the
// registration expiry, the call limit and the busy policy (busy.Policy's
// Effective: on_busy = "wait", not "").
func (c *Config) applyShownDefaults() {
	if c.Account.Expiry == 0 {
		c.Account.Expiry = Duration(shownDefaultExpiry)
	}
	if c.SIP.Keepalive == nil {
		k := Duration(phone.DefaultKeepalive)
		c.SIP.Keepalive = &k
	}
	if c.SIP.MaxCalls == 0 {
		c.SIP.MaxCalls = shownDefaultMaxCalls
	}
	c.Busy = c.Busy.Effective()
}
