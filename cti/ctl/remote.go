package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/anyphone/anyphone/cti/api"
)

// Remote is the product API at the other end of a control connection: the
// TUI attached to a shared AnyDevice controller (`anyphone --controller URL
// --user alice`) drives it as it drives a Service in its own process. It
// is the same protocol `anyphone ctl` speaks; events arrive on the
// connection and are delivered to Subscribe as api events. When the
// connection is lost (the controller restarts) it says so in a notice,
// dials again with back-off, and once back publishes Lagged, so that a
// front end takes a fresh Snapshot: the state is shown, not guessed.
type Remote struct {
	dial    func(context.Context) (*Client, error)
	timeout time.Duration
	bus     api.Bus
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	mu sync.Mutex
	c  *Client // nil while reconnecting
}

// errUnreachable answers commands while the connection is down.
var errUnreachable = &Error{Code: CodeInternal, Message: "the controller is unreachable: reconnecting"}

// NewRemote dials (with dial, which it calls again to reconnect),
// subscribes and starts delivering events. Close ends it.
func NewRemote(ctx context.Context, dial func(context.Context) (*Client, error)) (*Remote, error) {
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.Subscribe(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	r := &Remote{dial: dial, timeout: 10 * time.Second, done: make(chan struct{}), c: c}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// The event pump: owned by the Remote, ended by Close.
	go r.pump(c)
	return r, nil
}

// pump delivers c's events; when c ends it reconnects, until Close.
func (r *Remote) pump(c *Client) {
	defer close(r.done)
	defer r.bus.CloseAll()
	for {
		for ev := range c.Events() {
			if e, ok := decodeEvent(ev); ok {
				r.bus.Publish(e)
			}
		}
		if r.ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.c = nil
		r.mu.Unlock()
		why := "closed"
		if err := c.Err(); err != nil {
			why = err.Error()
		}
		r.bus.Publish(api.Notice{Level: api.NoticeWarn, Text: "controller connection lost (" + why + "): reconnecting"})
		if c = r.reconnect(); c == nil {
			return
		}
		r.bus.Publish(api.Notice{Level: api.NoticeInfo, Text: "reconnected to the controller"})
		r.bus.Publish(api.Lagged{}) // take a fresh Snapshot
	}
}

// reconnect dials with back-off (250 ms doubling to 5 s) until it is
// subscribed again or Close; nil after Close.
func (r *Remote) reconnect() *Client {
	wait := 250 * time.Millisecond
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
		c, err := r.dial(ctx)
		if err == nil {
			if _, err = c.Subscribe(ctx); err != nil {
				_ = c.Close()
			}
		}
		cancel()
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.c = c
		r.mu.Unlock()
		return c
	}
}

// decodeEvent turns a wire event back into an api event (the ones a front
// end shows: calls, notices, digits, lag, devices, request outcomes).
func decodeEvent(ev Event) (api.Event, bool) {
	switch ev.Name {
	case EventCall:
		var v struct {
			Call api.CallInfo `json:"call"`
		}
		if ev.Decode(&v) == nil {
			return api.CallChanged{Call: v.Call}, true
		}
	case EventMWI:
		var v struct {
			MWI api.MessageSummary `json:"mwi"`
		}
		if ev.Decode(&v) == nil {
			return api.MessageWaiting{MWI: v.MWI}, true
		}
	case EventNotice:
		var v wireNotice
		if ev.Decode(&v) == nil {
			return api.Notice{Level: v.Level, Text: v.Text}, true
		}
	case EventDTMF:
		var v struct {
			CallID api.CallID `json:"call_id"`
			Digit  string     `json:"digit"`
		}
		if ev.Decode(&v) == nil {
			return api.DTMFReceived{CallID: v.CallID, Digit: v.Digit}, true
		}
	case EventLagged:
		var v struct {
			Dropped int `json:"dropped"`
		}
		if ev.Decode(&v) == nil {
			return api.Lagged{Dropped: v.Dropped}, true
		}
	case EventJournalChanged:
		var v struct {
			UnreadMissed int `json:"unread_missed"`
		}
		if ev.Decode(&v) == nil {
			return api.JournalChanged{UnreadMissed: v.UnreadMissed}, true
		}
	case EventRequestOutcome:
		var v struct {
			CallID  api.CallID `json:"call_id"`
			Method  string     `json:"method"`
			Peer    string     `json:"peer"`
			Outcome string     `json:"outcome"`
			Code    int        `json:"code"`
			Reason  string     `json:"reason"`
			Seconds float64    `json:"seconds"`
			Text    string     `json:"text"`
		}
		if ev.Decode(&v) == nil {
			return api.RequestOutcome(v), true
		}
	case EventDevicesChanged:
		var v devicesResult
		if ev.Decode(&v) == nil {
			return api.DevicesChanged{Active: v.Active, Devices: v.Devices}, true
		}
	}
	return nil, false
}

// Close ends the Remote: no more reconnecting, the connection closed.
func (r *Remote) Close() error {
	r.cancel()
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	<-r.done
	return nil
}

// Do sends any command of the protocol (device, move, journal, ...).
func (r *Remote) Do(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	return r.do(ctx, cmd, args)
}

func (r *Remote) do(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	if c == nil {
		return nil, errUnreachable
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	return c.Do(ctx, cmd, args)
}

func (r *Remote) call(ctx context.Context, cmd string, id api.CallID, extra map[string]any) error {
	args := map[string]any{"call_id": id}
	for k, v := range extra {
		args[k] = v
	}
	_, err := r.do(ctx, cmd, args)
	return err
}

func (r *Remote) Dial(ctx context.Context, to string, o api.DialOptions) (api.CallID, error) {
	raw, err := r.do(ctx, "dial", map[string]any{"to": to, "from_user": o.FromUser, "from_display": o.FromDisplay})
	if err != nil {
		return "", err
	}
	var v struct {
		CallID api.CallID `json:"call_id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("ctl: dial: %w", err)
	}
	return v.CallID, nil
}

func (r *Remote) Answer(ctx context.Context, id api.CallID) error {
	return r.call(ctx, "answer", id, nil)
}

func (r *Remote) Reject(ctx context.Context, id api.CallID, code int, reason string) error {
	return r.call(ctx, "reject", id, map[string]any{"code": code, "reason": reason})
}

func (r *Remote) Hangup(ctx context.Context, id api.CallID) error {
	return r.call(ctx, "hangup", id, nil)
}

func (r *Remote) HangupAll(ctx context.Context) error {
	_, err := r.do(ctx, "hangup_all", nil)
	return err
}

func (r *Remote) Hold(ctx context.Context, id api.CallID) error { return r.call(ctx, "hold", id, nil) }

func (r *Remote) Resume(ctx context.Context, id api.CallID) error {
	return r.call(ctx, "resume", id, nil)
}

func (r *Remote) SendDTMF(ctx context.Context, id api.CallID, digits string) error {
	return r.call(ctx, "dtmf", id, map[string]any{"digits": digits})
}

func (r *Remote) Mute(ctx context.Context, id api.CallID, on bool) error {
	cmd := "unmute"
	if on {
		cmd = "mute"
	}
	return r.call(ctx, cmd, id, nil)
}

func (r *Remote) Register(ctx context.Context) error {
	_, err := r.do(ctx, "register", nil)
	return err
}

func (r *Remote) Unregister(ctx context.Context) error {
	_, err := r.do(ctx, "unregister", nil)
	return err
}

// Snapshot asks for the status (a round trip on the connection).
func (r *Remote) Snapshot() api.Snapshot {
	raw, err := r.do(context.Background(), "status", nil)
	if err != nil {
		return api.Snapshot{Notices: []api.Notice{{Level: api.NoticeError, Text: "status: " + err.Error()}}}
	}
	var w struct {
		Calls       []api.CallInfo      `json:"calls"`
		Regs        []api.RegInfo       `json:"registrations"`
		Notices     []wireNotice        `json:"notices"`
		MWI         *api.MessageSummary `json:"mwi"`
		Transport   string              `json:"transport"`
		TLSInsecure bool                `json:"tls_insecure"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return api.Snapshot{Notices: []api.Notice{{Level: api.NoticeError, Text: "status: " + err.Error()}}}
	}
	snap := api.Snapshot{Calls: w.Calls, Regs: w.Regs, MWI: w.MWI, Transport: w.Transport, TLSInsecure: w.TLSInsecure}
	for _, n := range w.Notices {
		snap.Notices = append(snap.Notices, api.Notice{Level: n.Level, Text: n.Text})
	}
	return snap
}

// Subscribe returns a subscription to the connection's events.
func (r *Remote) Subscribe() *api.Subscription { return r.bus.Subscribe(256) }

// Ladder asks for a call's SIP messages.
func (r *Remote) Ladder(id api.CallID) []api.SIPMessage {
	raw, err := r.do(context.Background(), "ladder", map[string]any{"call_id": id})
	if err != nil {
		return nil
	}
	var v struct {
		Messages []api.SIPMessage `json:"messages"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Messages
}

func (r *Remote) Transfer(ctx context.Context, id api.CallID, to string) error {
	return r.call(ctx, "transfer", id, map[string]any{"target": to})
}

func (r *Remote) Consult(ctx context.Context, id api.CallID, to string) (api.CallID, error) {
	raw, err := r.do(ctx, "consult", map[string]any{"call_id": id, "target": to})
	if err != nil {
		return "", err
	}
	var v struct {
		CallID api.CallID `json:"call_id"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.CallID, nil
}

func (r *Remote) Toggle(ctx context.Context, id api.CallID) error {
	return r.call(ctx, "toggle", id, nil)
}

func (r *Remote) CompleteTransfer(ctx context.Context, heldID, consultID api.CallID) error {
	return r.call(ctx, "complete_transfer", heldID, map[string]any{"other_id": consultID})
}

func (r *Remote) Conference(ctx context.Context, a, b api.CallID) error {
	return r.call(ctx, "conference", a, map[string]any{"other_id": b})
}

// devices sends device or target and returns the devices after it.
func (r *Remote) devices(ctx context.Context, cmd string, args any) (devicesResult, error) {
	raw, err := r.do(ctx, cmd, args)
	if err != nil {
		return devicesResult{}, err
	}
	var v devicesResult
	if err := json.Unmarshal(raw, &v); err != nil {
		return devicesResult{}, fmt.Errorf("ctl: %s: %w", cmd, err)
	}
	return v, nil
}

// SetDevice makes name the user's active device.
func (r *Remote) SetDevice(ctx context.Context, name string) error {
	_, err := r.devices(ctx, "device", deviceArgs{Device: name})
	return err
}

// Devices returns the user's active devices, first the one calls go to.
func (r *Remote) Devices(ctx context.Context) ([]string, error) {
	v, err := r.devices(ctx, "device", nil)
	return v.Active, err
}

// DeviceList returns the user's devices.
func (r *Remote) DeviceList(ctx context.Context) ([]api.DeviceInfo, error) {
	v, err := r.devices(ctx, "device", nil)
	return v.Devices, err
}

// SetDeviceTarget makes the user's device name ring target.
func (r *Remote) SetDeviceTarget(ctx context.Context, name, target string) error {
	_, err := r.devices(ctx, "target", deviceTargetArgs{Device: name, Target: target})
	return err
}

// Move carries a call on another device over to device.
func (r *Remote) Move(ctx context.Context, id api.CallID, device string) error {
	return r.call(ctx, "move", id, map[string]any{"device": device})
}

var _ DeviceController = (*Remote)(nil)
