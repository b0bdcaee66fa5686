package cti

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/vocab"
)

// Presence (issue 15): the user's phone state is derived here, in one
// place, from every call the Service shows, desk calls and calls on
// other devices alike, and served to watchers who SUBSCRIBE to "dialog"
// at our phone. Colleagues we watch arrive as PresenceChanged events.

// initPresence makes the phone serve our merged state. Called by New.
func (s *Service) initPresence() {
	s.ph.ServePresence(phone.PresenceSource{Lookup: func(user string) (api.PresenceInfo, bool) {
		if !s.ph.ServesUser(user) {
			return api.PresenceInfo{}, false
		}
		return s.Presence(), true
	}})
}

// Presence returns our phone state: one RFC 4235 dialog per call that
// has not ended, whatever device carries it.
func (s *Service) Presence() api.PresenceInfo {
	info := api.PresenceInfo{Entity: s.ph.Entity(), DND: s.Policy().DND}
	for _, c := range append(s.ph.Calls(), s.devices.snapshot()...) {
		if d := phone.DialogStateOf(c); d.State != vocab.PhaseTerminated && d.State != vocab.PhaseUnknown {
			info.Dialogs = append(info.Dialogs, d)
		}
	}
	return info
}

// presenceChanged tells our watchers that a call or DND changed, and
// publishes OwnPresenceChanged when our state is not the last one's. It
// never blocks: the NOTIFYs are built and sent by each subscription.
//
// Our own state is derived from every call, so deriving it on every call
// event cost O(calls) per event: at 400 calls/s through an endpoint that
// was a third of its CPU. It is derived at most once per
// ownPresenceCoalesce instead, after the events of that window.
//
// The state and its event grow with the calls (one dialog each: at 1,000
// held calls an own_presence line is half a megabyte), so the window
// grows with them too: ownPresenceWindow. A desk phone's few calls keep
// 20 ms; 1,000 calls through a test endpoint get one state a second, not
// fifty, which held 40 KB of garbage per call in its RSS.
func (s *Service) presenceChanged() {
	s.ph.OwnPresenceChanged() // watchers' NOTIFYs: nothing to do without any
	s.ownPresence.Lock()
	pending := s.ownPresence.pending
	s.ownPresence.pending = true
	n := s.ownPresence.dialogs
	s.ownPresence.Unlock()
	if !pending {
		time.AfterFunc(ownPresenceWindow(n), s.ownPresenceNow)
	}
}

// ownPresenceCoalesce is how long a change waits for the next ones before
// our state is derived and OwnPresenceChanged published, for up to
// ownPresencePerWindow dialogs; ownPresenceWindow scales it with more.
const (
	ownPresenceCoalesce  = 20 * time.Millisecond
	ownPresencePerWindow = 20
	ownPresenceMaxWindow = time.Second
)

// ownPresenceWindow is the coalescing window for a state of n dialogs.
func ownPresenceWindow(n int) time.Duration {
	return min(ownPresenceCoalesce*time.Duration(1+n/ownPresencePerWindow), ownPresenceMaxWindow)
}

func (s *Service) ownPresenceNow() {
	s.ownPresence.Lock()
	s.ownPresence.pending = false
	s.ownPresence.Unlock()
	info := s.Presence()
	key, err := json.Marshal(info)
	if err != nil {
		return
	}
	sum := sha256.Sum256(key)
	s.ownPresence.Lock()
	same := sum == s.ownPresence.last
	s.ownPresence.last = sum
	s.ownPresence.dialogs = len(info.Dialogs)
	s.ownPresence.Unlock()
	if !same {
		s.publish(OwnPresenceChanged{Info: info})
	}
}

// Watch subscribes to a colleague's phone state: a user name (in our
// account's domain) or a SIP URI. PresenceChanged events follow.
func (s *Service) Watch(_ context.Context, target string) (api.Watch, error) {
	return s.ph.Watch(target)
}

// Unwatch stops watching target.
func (s *Service) Unwatch(_ context.Context, target string) error {
	return s.ph.Unwatch(target)
}

// Watches returns the colleagues we watch with their last state.
func (s *Service) Watches() []api.Watch { return s.ph.Watches() }

// startPublishing PUBLISHes our state to Options.PresenceServer, if set.
func (s *Service) startPublishing() error {
	if s.opts.PresenceServer == "" {
		return nil
	}
	return s.ph.StartPublishing(s.opts.PresenceServer)
}

// ErrNothingToPickup is returned by Pickup when the colleague has no call
// ringing that names its dialog (call-id and both tags).
var ErrNothingToPickup = errors.New("cti: no ringing call to pick up")

// Pickup picks up a colleague's ringing call (RFC 4235 §4, RFC 5359
// §2.12): it calls the caller with Replaces naming the early dialog from
// the colleague's dialog state; the caller answers it and CANCELs the
// colleague's ringing phone with Reason cause 200 (answered elsewhere).
func (s *Service) Pickup(ctx context.Context, w api.Watch) (api.CallID, error) {
	for _, d := range w.Info.Dialogs {
		if d.Direction != api.Incoming || d.CallID == "" || d.LocalTag == "" || d.RemoteTag == "" || d.Remote.URI == "" {
			continue
		}
		if d.State != vocab.PhaseEarly && d.State != vocab.PhaseProceeding && d.State != vocab.PhaseTrying {
			continue
		}
		if strings.ContainsAny(d.CallID+d.LocalTag+d.RemoteTag, ";,\r\n \t") {
			return "", fmt.Errorf("pickup: dialog %q: %w", d.ID, ErrNothingToPickup) // not a header value we send on
		}
		// The tags as the caller sees its dialog: its tag (the
		// colleague's remote tag) is the to-tag.
		replaces := d.CallID + ";to-tag=" + d.RemoteTag + ";from-tag=" + d.LocalTag + ";early-only"
		// The caller's remote target (its Contact) when the dialog state
		// names one: its From URI need not route back to it (RFC 4235
		// §4.1.6.2).
		target := d.Remote.URI
		if t := d.RemoteTarget; t != "" && strings.HasPrefix(strings.ToLower(t), "sip") {
			target = t
		}
		return s.dialLocal(ctx, target, api.DialOptions{Headers: map[string]string{"Replaces": replaces}}) // the desk picks up
	}
	return "", ErrNothingToPickup
}
