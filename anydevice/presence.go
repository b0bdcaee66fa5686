package anydevice

// Dialog state for each user (issue 15): the controller answers SUBSCRIBE
// Event: dialog for its users itself, from its sessions (every call the
// user places or takes on any device), with RFC 4235 NOTIFYs on every
// change. Watchers authenticate with digest: username a user id of this
// controller, password that user's token (the same secret as the control
// protocol's); an unknown watcher gets 403, a missing or wrong answer 401,
// a user the controller does not serve 404.

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/vocab"
)

// servePresence hooks the controller's users into its phone. Called by
// Start.
func (c *Controller) servePresence() {
	c.ph.ServePresence(phone.PresenceSource{
		Lookup:   c.Presence,
		Password: c.presencePassword,
		Realm:    "anydevice",
		// A watcher by number is keyed on the user id, as
		// PresenceChanged(session's user) is.
		Canonical: func(name string) string {
			if u, ok := c.presenceUser(name); ok {
				return u.ID
			}
			return name
		},
	})
}

// presencePassword is the digest password of watcher: its token.
func (c *Controller) presencePassword(watcher string) (string, bool) {
	u, ok := c.user(watcher)
	if !ok || u.Token.Reveal() == "" {
		return "", false
	}
	return u.Token.Reveal(), true
}

// presenceUser finds the user a SUBSCRIBE names: by id, else by number.
func (c *Controller) presenceUser(name string) (User, bool) {
	if u, ok := c.user(name); ok {
		return u, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if u := c.byNumber[name]; u != nil {
		return *u, true
	}
	return User{}, false
}

// Presence returns user's dialog state: one dialog per session that has
// not ended, on whichever device carries it; false for a user this
// controller does not serve.
func (c *Controller) Presence(user string) (vocab.PresenceInfo, bool) {
	u, ok := c.presenceUser(user)
	if !ok {
		return vocab.PresenceInfo{}, false
	}
	info := vocab.PresenceInfo{Entity: "sip:" + u.ID + "@" + c.ph.Addr()}
	c.mu.Lock()
	var ss []*session
	for _, s := range c.sessions {
		if s.user.ID == u.ID {
			ss = append(ss, s)
		}
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.mu.Lock()
		si := s.info
		s.mu.Unlock()
		if d, ok := dialogStateOf(u, si); ok {
			d.Local.URI = info.Entity
			info.Dialogs = append(info.Dialogs, d)
		}
	}
	// Sessions live in a map: order the dialogs by creation for stable
	// documents.
	sortDialogs(info.Dialogs, ss)
	return info, true
}

// dialogStateOf maps a session to an RFC 4235 dialog from the user's side;
// false for a session that has ended.
func dialogStateOf(u User, si SessionInfo) (vocab.DialogState, bool) {
	d := vocab.DialogState{
		ID: string(si.ID), Device: si.Device, Held: si.Held,
		Local:  vocab.Party{URI: u.ID, DisplayName: u.Display},
		Remote: vocab.Party{URI: si.Remote},
	}
	switch si.Kind {
	case KindCallback:
		d.Direction = vocab.Outgoing
	case KindFollowMe:
		d.Direction = vocab.Incoming
	}
	switch si.State {
	case StateIdle, StateDeviceRinging:
		if si.Kind == KindCallback {
			d.State = vocab.PhaseTrying // the user's own device rings first
		} else {
			d.State = vocab.PhaseEarly
		}
	case StateRemoteRinging, StateConfirming:
		d.State = vocab.PhaseEarly
	case StateBridged:
		d.State = vocab.PhaseConfirmed
	default:
		return d, false
	}
	for _, l := range si.Legs {
		if l.Role == "remote" {
			d.CallID = l.Call.SIPCallID
			if l.Call.Remote.URI != "" {
				d.Remote = l.Call.Remote
			}
		}
	}
	if !strings.Contains(d.Remote.URI, ":") && d.Remote.URI != "" {
		d.Remote.URI = "tel:" + d.Remote.URI
	}
	return d, true
}

// sortDialogs orders ds like the sessions' creation times.
func sortDialogs(ds []vocab.DialogState, ss []*session) {
	created := map[string]int64{}
	for _, s := range ss {
		s.mu.Lock()
		created[string(s.id)] = s.info.Created.UnixNano()
		s.mu.Unlock()
	}
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && created[ds[j].ID] < created[ds[j-1].ID]; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// presenceEvent NOTIFYs the watchers of a session's user when it changes.
func (c *Controller) presenceEvent(ev Event) {
	switch e := ev.(type) {
	case SessionChanged:
		c.ph.PresenceChanged(e.Session.User)
	case SessionEnded:
		c.ph.PresenceChanged(e.Session.User)
	}
}

// busyOnBusy refuses a call to a user who is on the phone (a confirmed
// dialog in the same state watchers see) when the user's OnBusy says so:
// no device is rung (seed 002: "Ruf gar nicht forken").
func (c *Controller) busyOnBusy(u User, ci phone.CallInfo) (phone.Screening, bool) {
	if u.OnBusy == "" {
		return phone.Screening{}, false
	}
	info, _ := c.Presence(u.ID)
	if info.Busy() != "on the phone" && !hasConfirmed(info) {
		return phone.Screening{}, false
	}
	c.log.Info("busy on busy", "user", u.ID, "from", ci.Remote.User, "action", u.OnBusy)
	if u.OnBusy == "voicemail" && u.Voicemail != "" {
		return phone.Screening{
			Action: phone.ScreenRedirect, Rule: "anydevice:busy-voicemail", Target: u.Voicemail, Code: 302, Phrase: "Moved Temporarily",
			Headers: [][2]string{{"History-Info", historyInfo(c.identityURI(u.Office()), u.Voicemail, 486)}},
		}, true
	}
	return phone.Screening{Action: phone.ScreenReject, Rule: "anydevice:busy", Code: 486, Phrase: "Busy Here",
		Reason: `Q.850;cause=17;text="User busy"`}, true
}

// hasConfirmed reports whether one of the dialogs is confirmed (a call
// on hold while another rings still makes the user busy).
func hasConfirmed(info vocab.PresenceInfo) bool {
	for _, d := range info.Dialogs {
		if d.State == vocab.PhaseConfirmed {
			return true
		}
	}
	return false
}

// publishPresence PUBLISHes each user's state to Config.PresenceServer,
// if set. Called by Start.
func (c *Controller) publishPresence() error {
	srv := c.cfg.PresenceServer
	if srv == "" {
		return nil
	}
	host := c.cfg.Domain
	if host == "" {
		u, err := url.Parse(srv)
		if err != nil || u.Opaque == "" {
			return fmt.Errorf("anydevice: presence server %q: want sip:host:port", srv)
		}
		host = u.Opaque
	}
	for _, id := range c.Users() {
		if err := c.ph.StartPublishingFor(srv, id, "sip:"+id+"@"+host); err != nil {
			return fmt.Errorf("anydevice: %w", err)
		}
	}
	return nil
}
