package phone_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// redirector is a phone that answers every call 302 to *to.
func redirector(t *testing.T, name string, to *atomic.Value) *phonetest.Phone {
	return phonetest.NewPhone(t, 0, &phone.Config{Name: name, Screen: func(phone.CallInfo) phone.Screening {
		return phone.Screening{Action: phone.ScreenRedirect, Rule: "test", Target: to.Load().(string)}
	}})
}

// TestFollowRedirects: a caller with FollowRedirects follows a 302 to the
// phone that answers (Remote and Redirects say so), stops at a loop and at
// its limit (EndInfo.Note says which), and without FollowRedirects ends at
// the first 302.
func TestFollowRedirects(t *testing.T) {
	answerer := phonetest.NewPhone(t, 0, &phone.Config{Name: "carol"})
	var toB, toC atomic.Value
	b := redirector(t, "bob", &toB)
	c := redirector(t, "dave", &toC)

	dial := func(t *testing.T, follow int, to string) phone.CallInfo {
		a := phonetest.NewPhone(t, 0, &phone.Config{Name: "alice", FollowRedirects: follow})
		id, err := a.Dial(t.Context(), to, phone.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ci := a.Events.WaitCall(t, 10*time.Second, "active or ended", func(ci phone.CallInfo) bool {
			return ci.ID == id && (ci.State == phone.CallActive || ci.State == phone.CallEnded)
		})
		if ci.State == phone.CallEnded {
			return ci
		}
		if err := a.Hangup(id); err != nil {
			t.Fatal(err)
		}
		return ci
	}

	t.Run("followed", func(t *testing.T) {
		toB.Store(answerer.URI())
		go func() {
			in := answerer.Events.WaitState(t, "", phone.CallIncoming)
			_ = answerer.Answer(in.ID)
		}()
		ci := dial(t, phone.DefaultRedirectLimit, b.URI())
		if ci.Answered.IsZero() || len(ci.Redirects) != 1 || ci.Redirects[0].Code != 302 ||
			!strings.HasPrefix(answerer.URI(), ci.Remote.URI) {
			t.Errorf("call = answered %v, redirects %+v, remote %s; want answered by %s after one 302", ci.Answered, ci.Redirects, ci.Remote.URI, answerer.URI())
		}
	})
	t.Run("loop", func(t *testing.T) {
		toB.Store(c.URI())
		toC.Store(b.URI())
		ci := dial(t, phone.DefaultRedirectLimit, b.URI())
		if ci.End == nil || ci.End.Code != 302 || !strings.Contains(ci.End.Note, "loop") || len(ci.Redirects) != 1 {
			t.Errorf("end = %+v, redirects %+v; want 302 with a loop note after one hop", ci.End, ci.Redirects)
		}
	})
	t.Run("limit", func(t *testing.T) {
		toB.Store(c.URI())
		toC.Store(answerer.URI())
		ci := dial(t, 1, b.URI())
		if ci.End == nil || ci.End.Code != 302 || !strings.Contains(ci.End.Note, "limit") {
			t.Errorf("end = %+v; want 302 with a limit note", ci.End)
		}
	})
	t.Run("off", func(t *testing.T) {
		toB.Store(answerer.URI())
		ci := dial(t, 0, b.URI())
		if ci.End == nil || ci.End.Code != 302 || len(ci.Redirects) != 0 || ci.End.Note != "" {
			t.Errorf("end = %+v, redirects %+v; want the 302, nothing followed", ci.End, ci.Redirects)
		}
	})
}
