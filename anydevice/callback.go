package anydevice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// CallbackOptions tunes one callback.
type CallbackOptions struct {
	// Device to ring instead of the user's first active device.
	Device string
	// CallerID to present to the destination instead of the office
	// number; it must be one of the user's own numbers.
	CallerID string
}

// Callback places a call for user to destination through the user's
// device: leg A rings the device showing the destination as the caller;
// once the device answers (and was not answered too fast: the fast-answer
// guard), leg B calls the destination as the user's office number in From
// and P-Asserted-Identity while the device hears a generated ringback
// (425 Hz, 1 s on, 4 s off), then the destination's early media if any;
// on answer both legs are bridged.
//
// Every check runs before the first INVITE: the device must be the user's,
// the caller id one of the user's numbers, the destination within the
// user's dial policy, the user under the concurrency and rate limits and
// two trunk channels free. A refusal is a *RefusedError and a Refused
// event. The call then proceeds asynchronously; SessionChanged events
// report it.
func (c *Controller) Callback(ctx context.Context, userID, destination string, o CallbackOptions) (SessionID, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	u, ok := c.user(userID)
	if !ok {
		return "", c.refuseTo(userID, destination, "unknown-user", "callback to "+destination)
	}
	devName := o.Device
	if devName == "" && len(u.Active) > 0 {
		devName = u.Active[0]
	}
	dev, ok := u.Device(devName)
	if !ok {
		return "", c.refuseTo(userID, destination, "device-not-owned", fmt.Sprintf("callback via device %q", devName))
	}
	callerID := u.Office()
	if o.CallerID != "" {
		if !u.OwnsNumber(o.CallerID) {
			return "", c.refuseTo(userID, destination, "caller-id", fmt.Sprintf("caller id %s is not the user's", o.CallerID))
		}
		callerID = o.CallerID
	}
	if callerID == "" {
		return "", c.refuseTo(userID, destination, "caller-id", "user has no office number")
	}
	number := destNumber(&u.Policy, destination)
	if rule := u.Policy.Judge(destination); rule != "" {
		return "", c.refuseTo(userID, destination, rule, "callback to "+destination)
	}
	// Neither leg rings when one of them could not be placed.
	if err := c.cfg.routable(dev.Target); err != nil {
		return "", fmt.Errorf("device %s: %w", dev.Name, err)
	}
	if err := c.cfg.routable(destination); err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", ErrClosed
	}
	n := 0
	for _, s := range c.sessions {
		if s.user.ID == userID {
			n++
		}
	}
	c.mu.Unlock()
	if n >= u.Policy.maxConcurrent() {
		return "", c.refuseTo(userID, destination, "concurrent", fmt.Sprintf("%d sessions already", n))
	}
	if !c.rate.allow(userID, u.Policy.maxPerMinute(), time.Now()) {
		return "", c.refuseTo(userID, destination, "rate", fmt.Sprintf("more than %d calls a minute", u.Policy.maxPerMinute()))
	}
	if !c.channelsFree(2) {
		return "", c.refuseTo(userID, destination, "channels", "callback needs 2 trunk channels")
	}
	// Each leg takes its own channel when the gate lets it go (gate.go).

	remote := destination
	if number != "" && !strings.Contains(destination, "@") {
		remote = number
		destination = number
	}
	s := c.newSession(u, KindCallback, remote)
	s.info.Device = dev.Name // before anyone can see the session
	c.mu.Lock()
	c.startLocked(s)
	c.mu.Unlock()
	var err error
	s.do(func() {
		err = s.startCallback(dev, destination, number, callerID)
	})
	if err != nil {
		return "", err
	}
	return s.id, nil
}

// destNumber is the E.164 number a destination dials, "" for a SIP URI
// whose user part is not a number (or a number the policy cannot place:
// Judge refuses those).
func destNumber(p *Policy, dest string) string {
	n, _ := p.numberOf(dest)
	return n
}

// callback state kept between the legs.
type callbackPlan struct {
	dest, number, callerID string
}

func (s *session) startCallback(dev Device, dest, number, callerID string) error {
	show := number
	if show == "" {
		show = dest
	}
	o := phone.DialOptions{FromUser: userPart(show), FromDisplay: show}
	if dev.AutoAnswer != "" {
		name, val, _ := strings.Cut(dev.AutoAnswer, ":")
		o.Headers = append(o.Headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(val)})
	}
	a, err := s.dial("device", dev, dev.Target, o)
	if err != nil {
		s.ending = true
		s.setEnd("device-failed: " + err.Error())
		return err
	}
	s.dev = a
	s.plan = callbackPlan{dest: dest, number: number, callerID: callerID}
	s.setState(StateDeviceRinging)
	s.publish()
	return nil
}

func userPart(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "sips:"), "sip:")
	if at := strings.IndexByte(s, '@'); at >= 0 {
		return s[:at]
	}
	return s
}

func (s *session) onCallbackLeg(l *leg, prev phone.CallInfo) {
	switch {
	case l == s.dev && l.call.State == phone.CallActive && prev.State != phone.CallActive && s.rem == nil:
		if g := l.dev.FastAnswer; g > 0 && time.Since(l.dialed) < g {
			// A carrier voicemail picked up: never connect the destination
			// to it.
			l.note = "voicemail"
			s.later(ackGuard, func() { s.hangupLeg(l, reasonFastAns, "voicemail") })
			s.ending = true
			s.setEnd("device-voicemail")
			return
		}
		s.dialRemote()
	case l == s.dev && l.ended:
		if s.moving != nil && !s.moving.ended && s.state() == StateBridged {
			return // the old device leg went away during a move: fine
		}
		s.setEnd(endCauseOr("device", l))
		s.ending = true
		s.hangupLeg(s.rem, reasonFor(l), "")
		s.hangupLeg(s.moving, reasonFor(l), "")
	case l == s.rem && l.call.State == phone.CallEarly:
		// Early media from the destination replaces our ringback as soon
		// as it carries audio (Port keeps the ringback until then).
		s.dev.port.Listen(l.port)
	case l == s.rem && l.call.State == phone.CallActive && prev.State != phone.CallActive:
		s.bridge()
	case l == s.rem && l.ended:
		s.ending = true
		s.setEnd(endCauseOr("remote", l))
		s.hangupLeg(s.dev, reasonFor(l), "")
		s.hangupLeg(s.moving, reasonFor(l), "")
	default:
		s.onMoveLeg(l, prev)
	}
}

func endCauseOr(role string, l *leg) string {
	if l.call.End != nil && l.call.End.Cause == phone.EndLocalHangup {
		return "hangup"
	}
	return endCause(l)
}

// dialRemote places leg B: From and P-Asserted-Identity carry the user's
// office number (One-Number, RFC 3325), and the device hears ringback.
func (s *session) dialRemote() {
	p := s.plan
	s.dev.port.SetFill(NewRingback())
	o := phone.DialOptions{
		FromUser:    p.callerID,
		FromDisplay: s.user.Display,
		Headers: [][2]string{
			{"P-Asserted-Identity", pai(s.user.Display, s.c.identityURI(p.callerID))},
		},
	}
	b, err := s.dial("remote", Device{}, p.dest, o)
	if err != nil {
		s.c.log.Info("remote leg", "session", s.id, "err", err)
		s.setEnd("remote-failed: " + err.Error())
		s.ending = true
		s.hangupLeg(s.dev, `SIP;cause=503;text="Destination unreachable"`, "")
		return
	}
	s.rem = b
	s.setState(StateRemoteRinging)
}

func pai(display, uri string) string {
	if display == "" {
		return "<" + uri + ">"
	}
	return fmt.Sprintf("%q <%s>", display, uri)
}
