package anydevice

// The gate: every INVITE the controller's phone would send passes here
// (phone.Config.Authorize), whoever caused it: a callback's device and
// destination legs, follow-me and simultaneous-ring device legs, a move, a
// consultation or blind transfer, a REFER received on any leg, an INVITE
// with Replaces from outside. It knows on whose behalf each call is placed
// (the session behind DialOptions.Owner, or behind the leg a REFER came
// on); a request with no user behind it is refused. It judges the target
// under that user's policy and takes the trunk channel, so the channel
// limit holds for every leg, and a 3xx is never followed (phone does not).
// Every refusal is a Refused event naming its rule (and so a journal row).

import (
	"errors"
	"fmt"
	"strings"

	"github.com/anyphone/anyphone/phone"
)

// gateRefusal is what the gate returns to the phone: the controller's
// RefusedError (for callers in anydevice) and the SIP answer for the phone.
type gateRefusal struct {
	re *RefusedError
	fe *phone.ForbiddenError
}

func (g *gateRefusal) Error() string   { return g.re.Error() }
func (g *gateRefusal) Unwrap() []error { return []error{g.re, g.fe} }

// deny records a refusal (event, log) and returns it as the gate's error.
func (c *Controller) deny(user, target, rule, detail string, code int) error {
	var re *RefusedError
	_ = errors.As(c.refuseTo(user, target, rule, detail), &re)
	return &gateRefusal{re: re, fe: &phone.ForbiddenError{Rule: rule, Code: code}}
}

// ownerOf is the DialOptions.Owner of a leg the session dials: session,
// role and device name.
func ownerOf(s *session, role string, dev Device) string {
	return string(s.id) + "/" + role + "/" + dev.Name
}

// authorize is the controller phone's gate.
func (c *Controller) authorize(r phone.CallRequest) error {
	switch r.Kind {
	case phone.RequestDial:
		return c.authorizeDial(r)
	case phone.RequestRefer:
		return c.authorizeRefer(r)
	case phone.RequestReplaces:
		// The controller is the anchor of every call it bridges and does
		// its own transfers on its legs: nobody takes a leg over.
		user := ""
		c.mu.Lock()
		if s := c.legs[r.Related]; s != nil {
			user = s.user.ID
		}
		c.mu.Unlock()
		return c.deny(user, r.Target, "replaces", fmt.Sprintf("INVITE with Replaces for leg %s from %s", r.Related, r.Source), 403)
	default:
		return c.deny("", r.Target, "no-user", "unknown request "+r.Kind.String(), 403)
	}
}

// authorizeDial judges a leg the controller itself dials.
func (c *Controller) authorizeDial(r phone.CallRequest) error {
	sid, rest, _ := strings.Cut(r.Owner, "/")
	role, devName, _ := strings.Cut(rest, "/")
	c.mu.Lock()
	s := c.sessions[SessionID(sid)]
	c.mu.Unlock()
	if s == nil || sid == "" {
		return c.deny("", r.Target, "no-user", "dial "+r.Target+" on behalf of no session", 403)
	}
	u := s.user
	switch role {
	case "device":
		dev, ok := u.Device(devName)
		if !ok {
			return c.deny(u.ID, r.Target, "device-not-owned", "device leg to "+r.Target, 403)
		}
		if !sameDial(r.Target, c.target(dev.Target)) {
			return c.deny(u.ID, r.Target, "device-not-owned", fmt.Sprintf("device %s leg to %s, not its target", dev.Name, r.Target), 403)
		}
		if rule := u.Policy.judgeDevice(dev.Target); rule != "" {
			return c.deny(u.ID, r.Target, rule, "device "+dev.Name+" leg to "+dev.Target, 403)
		}
		if s.kind == KindFollowMe && !u.Policy.simring() && s.ringingDevices() > 0 {
			return c.deny(u.ID, r.Target, "simring", "a second device would ring at once for "+u.ID, 403)
		}
	case "remote", "consult":
		if rule := u.Policy.Judge(r.Target); rule != "" {
			return c.deny(u.ID, r.Target, rule, role+" leg to "+r.Target, 403)
		}
	default:
		return c.deny(u.ID, r.Target, "no-user", "leg of unknown role "+role, 403)
	}
	if !c.charge(r.Call) {
		return c.deny(u.ID, r.Target, "channels", fmt.Sprintf("no free trunk channel for %s leg to %s", role, r.Target), 503)
	}
	return nil
}

// authorizeRefer judges a REFER received on a leg: refused unless the
// user's policy allows REFER (allow_refer), then only to a target the user
// may dial, only on the remote party's leg of a bridged two-party call,
// and only with a trunk channel free; the new leg then replaces the
// referring one.
func (c *Controller) authorizeRefer(r phone.CallRequest) error {
	c.mu.Lock()
	s := c.legs[r.Related]
	c.mu.Unlock()
	if s == nil {
		return c.deny("", r.Target, "no-user", fmt.Sprintf("REFER to %s on call %s from %s", r.Target, r.Related, r.Source), 403)
	}
	u := s.user
	detail := fmt.Sprintf("REFER to %s on %s's call %s", r.Target, u.ID, s.id)
	if !u.Policy.AllowRefer {
		return c.deny(u.ID, r.Target, "refer", detail, 403)
	}
	if rule := u.Policy.Judge(r.Target); rule != "" {
		return c.deny(u.ID, r.Target, rule, detail, 403)
	}
	var fits bool
	if !s.do(func() { fits = s.referable(r.Related) }) || !fits {
		return c.deny(u.ID, r.Target, "refer-state", detail+": only the remote party of a bridged two-party call may transfer", 403)
	}
	if r.Probe {
		if !c.channelFree() {
			return c.deny(u.ID, r.Target, "channels", detail, 503)
		}
		return nil
	}
	if !c.charge(r.Call) {
		return c.deny(u.ID, r.Target, "channels", detail, 503)
	}
	var adopted bool
	if !s.do(func() { adopted = s.adoptRefer(r.Related, r.Call) }) || !adopted {
		c.uncharge(r.Call)
		return c.deny(u.ID, r.Target, "refer-state", detail+": the call changed meanwhile", 403)
	}
	return nil
}

// charge takes a trunk channel for call id; false when the limit is
// reached. The channel is given back when the phone reports the call ended
// (onPhoneEvent), whatever placed it.
func (c *Controller) charge(id phone.CallID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chargeLocked(id, false)
}

// chargeLocked takes a channel for id (force: even past the limit, for an
// incoming call that was admitted). c.mu must be held.
func (c *Controller) chargeLocked(id phone.CallID, force bool) bool {
	if c.charged[id] {
		return true
	}
	if !force && c.cfg.MaxChannels > 0 && c.channels >= c.cfg.MaxChannels {
		return false
	}
	c.charged[id] = true
	c.channels++
	if c.channels > c.peakChannels {
		c.peakChannels = c.channels
	}
	return true
}

func (c *Controller) uncharge(id phone.CallID) {
	c.mu.Lock()
	c.unchargeLocked(id)
	c.mu.Unlock()
}

// unchargeLocked gives id's channel back. c.mu must be held.
func (c *Controller) unchargeLocked(id phone.CallID) {
	if c.charged[id] {
		delete(c.charged, id)
		c.channels--
	}
}

// channelsFree reports whether n more channels fit under the limit.
func (c *Controller) channelsFree(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.MaxChannels == 0 || c.channels+n <= c.cfg.MaxChannels
}

func (c *Controller) channelFree() bool { return c.channelsFree(1) }

// PeakChannels is the most trunk channels in use at once since New.
func (c *Controller) PeakChannels() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peakChannels
}

// sameDial reports whether two targets dial the same user at the same
// host (scheme, parameters and headers aside).
func sameDial(a, b string) bool {
	return dialKey(a) == dialKey(b)
}

func dialKey(t string) string {
	t = strings.TrimSpace(t)
	t = strings.TrimPrefix(strings.TrimSuffix(t, ">"), "<")
	lower := strings.ToLower(t)
	for _, p := range []string{"sips:", "sip:", "tel:"} {
		if strings.HasPrefix(lower, p) {
			t, lower = t[len(p):], lower[len(p):]
			break
		}
	}
	if i := strings.IndexAny(t, ";?"); i >= 0 {
		at := strings.LastIndexByte(t, '@')
		if at < 0 || i > at {
			t = t[:i]
		} else if j := strings.IndexAny(t[at:], ";?"); j >= 0 {
			t = t[:at+j]
		}
	}
	user, host, ok := strings.Cut(t, "@")
	if !ok {
		return strings.ToLower(t)
	}
	if i := strings.IndexByte(user, ';'); i >= 0 {
		user = user[:i]
	}
	return user + "@" + strings.ToLower(host)
}
