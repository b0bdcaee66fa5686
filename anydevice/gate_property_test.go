package anydevice_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestGateProperty: random sequences of leg events and user commands
// (answers, 302s, REFERs from either party to allowed and forbidden
// targets, holds, BYEs, consultations, transfers, conferences, moves,
// hang-ups) never make the controller send an INVITE outside the user's
// policy or above the channel limit. Every INVITE the controller's phone
// sends is seen in its events and judged by an oracle that knows only
// which test phones may be called; the trap phones (a premium and an
// international number) count what reaches them. Rounds:
// ANYPHONE_GATE_ROUNDS (default 10); the seed is logged, and
// ANYPHONE_GATE_SEED replays one.
func TestGateProperty(t *testing.T) {
	if testing.Short() {
		t.Skip("real phones on loopback")
	}
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("ANYPHONE_GATE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("ANYPHONE_GATE_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (ANYPHONE_GATE_SEED=%d replays it), %d rounds", seed, seed, rounds)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var rmu sync.Mutex
	intn := func(n int) int { rmu.Lock(); defer rmu.Unlock(); return rng.IntN(n) }

	mobile := phonetest.NewPhone(t, 1000, &phone.Config{Name: "mobile"})
	desk := phonetest.NewPhone(t, 1100, &phone.Config{Name: "desk"})
	third := phonetest.NewPhone(t, 800, &phone.Config{Name: "+4930999"})
	premium := phonetest.NewPhone(t, 0, &phone.Config{Name: "+49900123456"})
	intl := phonetest.NewPhone(t, 0, &phone.Config{Name: "+1212555000"})
	// The destination answers, or redirects to the premium trap (302).
	dest := phonetest.NewPhone(t, 600, &phone.Config{Name: "+4930555", Screen: func(phone.CallInfo) phone.Screening {
		if intn(4) == 0 {
			return phone.Screening{Action: phone.ScreenRedirect, Rule: "test:302", Target: premium.URI()}
		}
		return phone.Screening{}
	}})
	forbidden := []string{premium.URI(), intl.URI(), "sip:%2B49900123456@" + premium.Addr(), "tel:+49900123456",
		"sip:+1212555000@" + intl.Addr() + ";user=phone"}
	allowed := map[string]bool{}
	for _, p := range []*phonetest.Phone{mobile, desk, dest, third} {
		allowed[dialKeyOf(p.URI())] = true
	}

	const maxChannels = 3
	var (
		omu        sync.Mutex
		live       = map[phone.CallID]bool{}
		peak       int
		violations []string
		placed     int
	)
	observe := func(ev phone.Event) {
		cc, ok := ev.(phone.CallChanged)
		if !ok {
			return
		}
		omu.Lock()
		defer omu.Unlock()
		ci := cc.Call
		if ci.State == phone.CallEnded {
			delete(live, ci.ID)
			return
		}
		if _, seen := live[ci.ID]; !seen && ci.Direction == phone.Outgoing {
			placed++
			if !allowed[dialKeyOf(ci.Remote.URI)] {
				violations = append(violations, "INVITE to "+ci.Remote.URI)
			}
		}
		live[ci.ID] = true
		if len(live) > peak {
			peak = len(live)
		}
	}
	u := alice(desk.URI(), mobile.URI())
	u.Policy.AllowRefer = true
	u.Policy.MaxPerMinute = 1000
	ctl, _ := newController(t, []anydevice.User{u}, func(c *anydevice.Config) {
		c.MaxChannels = maxChannels
		c.Phone.Events = observe
	})

	// The peers' own behaviour: answer what rings (after 0-300 ms), now
	// and then hold, resume, hang up, or REFER their call anywhere.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, p := range []*phonetest.Phone{mobile, desk, dest, third} {
		wg.Go(func() {
			tick := time.NewTicker(40 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				for _, ci := range p.Calls() {
					switch {
					case ci.State == phone.CallIncoming && time.Since(ci.Created) > time.Duration(intn(300))*time.Millisecond:
						_ = p.Answer(ci.ID)
					case ci.State == phone.CallActive && intn(60) == 0:
						switch intn(5) {
						case 0:
							_ = p.Hold(ci.ID)
						case 1:
							_ = p.Resume(ci.ID)
						case 2:
							_ = p.Hangup(ci.ID)
						default:
							to := forbidden[intn(len(forbidden))]
							if intn(3) == 0 {
								to = third.URI()
							}
							go func() { _ = p.Transfer(ci.ID, to) }() // waits for the 202 or the refusal
						}
					}
				}
			}
		})
	}

	targets := append([]string{dest.URI(), third.URI(), dest.URI()}, forbidden...)
	for round := range rounds {
		to := []string{dest.URI(), third.URI()}[intn(2)]
		if intn(5) == 0 {
			to = forbidden[intn(len(forbidden))]
		}
		sid, err := ctl.Callback(t.Context(), "alice", to, anydevice.CallbackOptions{})
		if err != nil {
			t.Logf("round %d: callback to %s: %v", round, to, err)
			continue
		}
		for range 8 {
			time.Sleep(time.Duration(100+intn(300)) * time.Millisecond)
			switch intn(9) {
			case 0:
				_ = ctl.Consult("alice", sid, targets[intn(len(targets))])
			case 1:
				_ = ctl.Toggle("alice", sid)
			case 2:
				_ = ctl.CompleteTransfer("alice", sid)
			case 3:
				_ = ctl.Transfer("alice", sid, targets[intn(len(targets))])
			case 4:
				_ = ctl.Conference("alice", sid)
			case 5:
				_ = ctl.Hold("alice", sid)
			case 6:
				_ = ctl.Resume("alice", sid)
			case 7:
				_ = ctl.Move("alice", sid, []string{"desk", "mobile"}[intn(2)])
			case 8:
				if intn(3) == 0 {
					_ = ctl.Hangup("alice", sid)
				}
			}
		}
		_ = ctl.Hangup("alice", sid)
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := ctl.Status("alice")
			if len(st.Sessions) == 0 && st.Channels == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the session did not end: %+v", round, st)
			}
			for _, s := range st.Sessions {
				_ = ctl.Hangup("alice", s.ID)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	stop()
	wg.Wait()

	omu.Lock()
	defer omu.Unlock()
	t.Logf("%d rounds: %d INVITEs placed, at most %d calls at once (controller's peak %d channels)", rounds, placed, peak, ctl.PeakChannels())
	for _, v := range violations {
		t.Errorf("outside the policy: %s", v)
	}
	if peak > maxChannels || ctl.PeakChannels() > maxChannels {
		t.Errorf("%d calls at once (%d channels charged), limit %d", peak, ctl.PeakChannels(), maxChannels)
	}
	for _, trap := range []*phonetest.Phone{premium, intl} {
		if n := len(trap.Events.All()); n != 0 {
			t.Errorf("trap %s saw %d events: %v", trap.URI(), n, trap.Events.All()[0])
		}
	}
	if placed == 0 {
		t.Fatal("no call was placed at all: the property was not exercised")
	}
}

// dialKeyOf is user@host:port of a SIP URI, for the oracle.
func dialKeyOf(uri string) string {
	var user, host string
	if _, err := fmt.Sscanf(uri, "sip:%s", &host); err != nil {
		return uri
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '@' {
			user, host = host[:i], host[i+1:]
			break
		}
	}
	for i := 0; i < len(host); i++ {
		if host[i] == ';' || host[i] == '>' {
			host = host[:i]
			break
		}
	}
	return user + "@" + host
}
