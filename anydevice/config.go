package anydevice

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// Device is one place a user can take calls: a SIP URI or a number dialed
// through the trunk.
type Device struct {
	// Name is how the user picks it: desk, mobile, home, ...
	Name string `toml:"name" json:"name"`
	// Target is a SIP URI (sip:mobile@host:port) or a number (+49171...).
	Target string `toml:"target" json:"target"`
	// RingDelay staggers follow-me: the device rings this long after the
	// call arrived (0: at once).
	RingDelay time.Duration `toml:"ring_delay" json:"ring_delay,omitempty"`
	// Hold is the hold dialect this device accepts ("sendonly", "inactive",
	// "zero-ip"; "" = sendonly). Holds crossing the bridge are translated
	// into it.
	Hold string `toml:"hold" json:"hold,omitempty"`
	// FastAnswer is the fast-answer guard: an answer within this time
	// after the INVITE is taken for a carrier voicemail (0: off).
	FastAnswer time.Duration `toml:"fast_answer" json:"fast_answer,omitempty"`
	// ConfirmKey, if set (e.g. "1"), must be pressed on the device before
	// a follow-me call is bridged to it ("press 1 to take the call").
	ConfirmKey string `toml:"confirm_key" json:"confirm_key,omitempty"`
	// AutoAnswer is a header sent on callback legs to this device as a
	// hint to answer at once, "Name: value", e.g.
	// "Call-Info: <sip:controller>;answer-after=0".
	AutoAnswer string `toml:"auto_answer" json:"auto_answer,omitempty"`
}

// User is one person the controller acts for.
type User struct {
	// ID is the login name on the control protocol (X-Anyphone-User).
	ID string `toml:"id" json:"id"`
	// Token authenticates the user on the control protocol (Authenticate).
	// It is never logged.
	Token phone.Secret `toml:"token" json:"-"`
	// Display is shown with the office number (From display name).
	Display string `toml:"display" json:"display,omitempty"`
	// Numbers are the user's own numbers in E.164 (+4989...); the first is
	// the office number shown on callbacks (One-Number). Incoming calls to
	// any of them follow the user.
	Numbers []string `toml:"numbers" json:"numbers"`
	// Devices the user owns.
	Devices []Device `toml:"devices" json:"devices"`
	// Active names the devices calls go to (follow-me rings them all;
	// callbacks use the first). Default: the first device.
	Active []string `toml:"active" json:"active,omitempty"`
	// Voicemail receives unanswered incoming calls (302 with History-Info).
	Voicemail string `toml:"voicemail" json:"voicemail,omitempty"`
	// VoicemailAfter is the follow-me timeout (0: 30 s).
	VoicemailAfter time.Duration `toml:"voicemail_after" json:"voicemail_after,omitempty"`
	// Policy limits what the user may dial.
	Policy Policy `toml:"policy" json:"policy"`
	// OnBusy is what a call to the user's number gets while the user is on
	// the phone (a confirmed dialog in the user's presence, on any
	// device): "" rings the devices as usual (call waiting), "busy" 486
	// without forking to any device, "voicemail" a 302 to Voicemail (486
	// without one). Issue 15: busy-on-busy from the presence state.
	OnBusy string `toml:"on_busy" json:"on_busy,omitempty"`
}

// Office is the user's office number (the first of Numbers).
func (u *User) Office() string {
	if len(u.Numbers) == 0 {
		return ""
	}
	return u.Numbers[0]
}

// Device returns the user's device by name.
func (u *User) Device(name string) (Device, bool) {
	for _, d := range u.Devices {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return Device{}, false
}

// OwnsNumber reports whether n is one of the user's numbers.
func (u *User) OwnsNumber(n string) bool {
	for _, x := range u.Numbers {
		if x == n {
			return true
		}
	}
	return false
}

// Config configures a Controller. The zero value of every field means its
// default.
type Config struct {
	// Phone configures the controller's own SIP UA. Its Events, Media and
	// Screen are taken over by the controller (the given ones are still
	// called after the controller's); so is Packets, unless PCMRelay.
	Phone phone.Config
	// Trunk is host:port where numbers are dialed (sip:<number>@Trunk);
	// empty: numbers go through Phone.Account's domain.
	Trunk string
	// Domain is the host part of identities we assert (From and
	// P-Asserted-Identity); default the controller's own address.
	Domain string
	// PresenceServer, when set (sip:host:port), gets each user's dialog
	// state as PUBLISH (RFC 3903) for sip:<user id>@<its host> (or
	// @Domain), e.g. kamailio's presence_dialoginfo; watchers then
	// SUBSCRIBE there (issue 15). The controller serves SUBSCRIBEs itself
	// either way.
	PresenceServer string
	// Users the controller acts for.
	Users []User
	// MaxChannels limits trunk channels in use at once (every leg counts
	// one: 2 for an external callback, 3 during a consult); 0: unlimited.
	MaxChannels int
	// InviteSources are the addresses new calls to the users may come
	// from (INVITEs outside a dialog); others get 403. Empty: the
	// addresses of Trunk and of the account's registrar and proxy, when
	// any is set; with none set, any source (the embedded controller).
	InviteSources []netip.Prefix
	// StatePath, if set, persists the users' active devices (JSON).
	StatePath string
	// Events receives every controller event; it must not block.
	Events func(Event)
	// PCMRelay keeps every bridge on the PCM relay (decode, 20 ms frames,
	// re-encode) even when both legs negotiated the same codec; by default
	// such legs are relayed packet by packet (relay.go).
	PCMRelay bool
}

// Validate reports the first bad field by name.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	numbers := map[string]string{}
	for i, u := range c.Users {
		switch u.OnBusy {
		case "", "busy", "voicemail":
		default:
			return fmt.Errorf("users[%d].on_busy: %q is not busy or voicemail", i, u.OnBusy)
		}
		if u.ID == "" {
			return fmt.Errorf("users[%d].id: empty", i)
		}
		if seen[u.ID] {
			return fmt.Errorf("users[%d].id: %q twice", i, u.ID)
		}
		seen[u.ID] = true
		for _, n := range u.Numbers {
			if !isNumber(n) {
				return fmt.Errorf("users[%d].numbers: %q is not an E.164 number", i, n)
			}
			if other, dup := numbers[n]; dup {
				return fmt.Errorf("users[%d].numbers: %q belongs to %s too", i, n, other)
			}
			numbers[n] = u.ID
		}
		devs := map[string]bool{}
		for j, d := range u.Devices {
			if d.Name == "" || d.Target == "" {
				return fmt.Errorf("users[%d].devices[%d]: name and target are required", i, j)
			}
			if err := checkTarget(d.Target); err != nil {
				return fmt.Errorf("users[%d].devices[%d].target: %w", i, j, err)
			}
			if devs[strings.ToLower(d.Name)] {
				return fmt.Errorf("users[%d].devices[%d]: %q twice", i, j, d.Name)
			}
			devs[strings.ToLower(d.Name)] = true
			if _, err := phone.ParseHoldDialect(d.Hold); d.Hold != "" && err != nil {
				return fmt.Errorf("users[%d].devices[%d].hold: %w", i, j, err)
			}
			if rule := u.Policy.judgeDevice(d.Target); rule != "" {
				return fmt.Errorf("users[%d].devices[%d].target: %q is refused by the user's policy (%s)", i, j, d.Target, rule)
			}
			if err := c.routable(d.Target); err != nil {
				return fmt.Errorf("users[%d].devices[%d].target: %w", i, j, err)
			}
			if d.AutoAnswer != "" && !strings.Contains(d.AutoAnswer, ":") {
				return fmt.Errorf("users[%d].devices[%d].auto_answer: %q is not \"Name: value\"", i, j, d.AutoAnswer)
			}
		}
		for _, a := range u.Active {
			if !devs[strings.ToLower(a)] {
				return fmt.Errorf("users[%d].active: no device %q", i, a)
			}
		}
		if len(u.Active) > 1 && !u.Policy.simring() {
			return fmt.Errorf("users[%d].active: %d devices, but policy.allow_simring is off", i, len(u.Active))
		}
		if u.Voicemail != "" {
			if rule := u.Policy.judgeDevice(u.Voicemail); rule != "" {
				return fmt.Errorf("users[%d].voicemail: %q is refused by the user's policy (%s)", i, u.Voicemail, rule)
			}
			if err := c.routable(u.Voicemail); err != nil {
				return fmt.Errorf("users[%d].voicemail: %w", i, err)
			}
		}
		if err := u.Policy.validate(); err != nil {
			return fmt.Errorf("users[%d].policy: %w", i, err)
		}
	}
	if c.MaxChannels < 0 {
		return errors.New("max_channels: negative")
	}
	return nil
}

// checkTarget checks a device target's form: a SIP, SIPS or tel URI, an
// address with @, or a number; no blanks. The user's policy judges it
// next (Policy.judgeDevice).
func checkTarget(t string) error {
	lower := strings.ToLower(t)
	switch {
	case t == "":
		return errors.New("empty target")
	case strings.ContainsAny(t, " \t\r\n<>\""):
		return fmt.Errorf("%q: blanks, <, > or quotes in a target", t)
	case strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") || strings.HasPrefix(lower, "tel:"):
		if len(t) <= len("sips:") {
			return fmt.Errorf("%q is not a URI", t)
		}
		return nil
	case strings.Contains(t, "@") || looksNumeric(t):
		return nil
	}
	return fmt.Errorf("%q is neither a SIP URI nor a number", t)
}

// isNumber reports whether s looks like an E.164 number: + and 4-15 digits.
func isNumber(s string) bool { return phone.IsE164(s) }

// inviteSources is the INVITE ACL in force: InviteSources, else the
// addresses of the trunk, registrar and proxy (names resolved now).
func (c *Config) inviteSources() ([]netip.Prefix, error) {
	if len(c.InviteSources) > 0 {
		return c.InviteSources, nil
	}
	var hosts []struct{ field, hostport string }
	if c.Trunk != "" {
		hosts = append(hosts, struct{ field, hostport string }{"trunk", c.Trunk})
	}
	if a := c.Phone.Account; a != nil {
		if a.Registrar != "" {
			hosts = append(hosts, struct{ field, hostport string }{"account.registrar", a.Registrar})
		}
		if a.Proxy != "" {
			hosts = append(hosts, struct{ field, hostport string }{"account.proxy", a.Proxy})
		}
	}
	var out []netip.Prefix
	for _, h := range hosts {
		host := hostOnly(h.hostport)
		addrs, err := net.LookupHost(host)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w (set invite_sources)", h.field, h.hostport, err)
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				ip = ip.Unmap()
				out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	return out, nil
}

// hostOnly is the host of a SIP URI or host:port.
func hostOnly(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "sips:"), "sip:")
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}
