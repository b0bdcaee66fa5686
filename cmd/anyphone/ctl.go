package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/phone"
)

// CtlCmd sends one-shot commands to a running instance over its control
// API (docs/control-protocol.md). The address and token come from the
// flags, the environment (ANYPHONE_CTL_ADDR, ANYPHONE_CTL_TOKEN) or the
// config file's [control] section, in that order.
type CtlCmd struct {
	Addr    string        `help:"Control address, host:port or a ws:// URL (default: [control] listen of the config)." env:"ANYPHONE_CTL_ADDR"`
	Token   phone.Secret  `help:"Control token; prefer the environment variable, flags show in ps." env:"ANYPHONE_CTL_TOKEN"`
	User    string        `help:"Your user at a shared AnyDevice controller (anyphone controller); the token is then yours." env:"ANYPHONE_CTL_USER"`
	Timeout time.Duration `help:"Give up on connecting or a command after this long." default:"10s"`

	Dial       CtlDialCmd       `cmd:"" help:"Place a call."`
	Answer     CtlAnswerCmd     `cmd:"" help:"Answer a ringing call (the only one if no ID is given)."`
	Reject     CtlRejectCmd     `cmd:"" help:"Decline a ringing call (the only one if no ID is given)."`
	Hangup     CtlHangupCmd     `cmd:"" help:"End a call (the only one if no ID is given), or --all."`
	DTMF       CtlDTMFCmd       `cmd:"" name:"dtmf" help:"Send DTMF digits on a call."`
	Hold       CtlHoldCmd       `cmd:"" help:"Put a call on hold (the only active one if no ID is given)."`
	Resume     CtlResumeCmd     `cmd:"" help:"Take a call off hold (the only held one if no ID is given)."`
	Transfer   CtlTransferCmd   `cmd:"" help:"Blind-transfer a call to TARGET."`
	Consult    CtlConsultCmd    `cmd:"" help:"Hold a call and call TARGET for a consultation; prints the consultation's call id."`
	Toggle     CtlToggleCmd     `cmd:"" help:"Swap between a held call and the active one."`
	Complete   CtlCompleteCmd   `cmd:"" help:"Complete an attended transfer: connect the held call to the consulted one."`
	Conference CtlConferenceCmd `cmd:"" help:"Join two calls (or a device call and its consultation) in a conference."`
	Split      CtlSplitCmd      `cmd:"" help:"Take a call out of the conference (it stays active, the other is held)."`
	Device     CtlDeviceCmd     `cmd:"" help:"Show the active AnyDevice device, or make NAME (desk, mobile, home, ...) the active one."`
	Target     CtlTargetCmd     `cmd:"" help:"Make DEVICE ring TARGET (a SIP URI or a number) from now on."`
	Move       CtlMoveCmd       `cmd:"" help:"Carry a call on another device over to DEVICE."`
	Status     CtlStatusCmd     `cmd:"" help:"Show calls, registrations and notices."`
	Events     CtlEventsCmd     `cmd:"" help:"Print events as JSON lines until Ctrl-C."`
	Ladder     CtlLadderCmd     `cmd:"" help:"Show the SIP messages of a call, or of a dialog by its SIP Call-ID (see dialogs)."`
	Dialogs    CtlDialogsCmd    `cmd:"" help:"List the SIP dialogs no call owns (REGISTER, OPTIONS, SUBSCRIBE) whose messages are kept."`
	Policy     CtlPolicyCmd     `cmd:"" help:"Show the busy policy; --let-through N minutes or --clear an override."`
	Journal    CtlJournalCmd    `cmd:"" help:"List the call journal as JSON."`
	Presence   CtlPresenceCmd   `cmd:"" help:"Show our phone state and the colleagues we watch."`
	Watch      CtlWatchCmd      `cmd:"" help:"Watch a colleague's phone state (SUBSCRIBE dialog) and print it; --follow prints each change."`

	out io.Writer // stdout; tests set it
}

func (c *CtlCmd) stdout() io.Writer {
	if c.out == nil {
		return os.Stdout
	}
	return c.out
}

// errNoCtlAddr says how to name the instance to talk to.
var errNoCtlAddr = errors.New("no control address: pass --addr, set ANYPHONE_CTL_ADDR, or set [control] listen (or [controller] url) in the config")

// target resolves the address and token: flags and environment first,
// then the config file's [control] section.
func (c *CtlCmd) target(g *Globals) (addr, user string, token phone.Secret, err error) {
	addr, user, token = c.Addr, c.User, c.Token
	if addr != "" && token != "" {
		return addr, user, token, nil
	}
	// With --addr the file only may supply a token: a missing one is fine.
	path, must := configPath(g)
	cfg, err := LoadConfig(path, must && addr == "")
	if err != nil {
		return "", "", "", usageError(err)
	}
	if addr == "" && cfg.Control.Listen == "" && cfg.Controller.URL != "" {
		// No local control API: the shared controller of [controller].
		if user == "" {
			user = cfg.Controller.User
		}
		if token == "" {
			if token, err = cfg.Controller.token(); err != nil {
				return "", "", "", usageError(err)
			}
		}
		return cfg.Controller.URL, user, token, nil
	}
	if addr == "" {
		addr = cfg.Control.Listen
		if addr == "" {
			return "", "", "", usageError(errNoCtlAddr)
		}
		if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
			return "", "", "", usageError(fmt.Errorf("control.listen %q picks a free port: pass the actual address with --addr", addr))
		}
	}
	if token == "" {
		if token, err = cfg.ControlToken(); err != nil {
			return "", "", "", usageError(err)
		}
	}
	return addr, user, token, nil
}

// session connects and returns the client and a context bounded by
// --timeout; call the returned func when done.
func (c *CtlCmd) session(g *Globals) (*ctl.Client, context.Context, func(), error) {
	cl, _, tctx, done, err := c.followSession(g)
	return cl, tctx, done, err
}

// followSession is session for a command that runs until Ctrl-C (events,
// watch --follow, presence --follow): ctx ends only on Ctrl-C or SIGTERM,
// dctx is ctx bounded by --timeout, for the dial and the first requests.
func (c *CtlCmd) followSession(g *Globals) (cl *ctl.Client, ctx, dctx context.Context, done func(), err error) {
	addr, user, token, err := c.target(g)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dctx, cancel := context.WithTimeout(ctx, c.timeout())
	cl, err = ctl.DialUser(dctx, addr, user, token)
	if err != nil {
		cancel()
		stop()
		return nil, nil, nil, nil, err
	}
	return cl, ctx, dctx, func() { cl.Close(); cancel(); stop() }, nil
}

func (c *CtlCmd) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 10 * time.Second
	}
	return c.Timeout
}

// callView is a call as ctl prints it (states as the strings on the wire).
type callView struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	State     string `json:"state"`
	LocalHold bool   `json:"local_hold"`
	Device    string `json:"device"`
	Codec     string `json:"codec"`
	SRTP      string `json:"srtp"`
	Remote    struct {
		DisplayName string `json:"display_name"`
		URI         string `json:"uri"`
	} `json:"remote"`
	Created  time.Time `json:"created"`
	Answered time.Time `json:"answered"`
	End      *struct {
		Cause  string `json:"cause"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"end"`
}

// statusView is the status result as ctl prints it.
type statusView struct {
	Calls []callView `json:"calls"`
	Regs  []struct {
		AOR       string    `json:"aor"`
		Registrar string    `json:"registrar"`
		State     string    `json:"state"`
		Expires   time.Time `json:"expires"`
		Code      int       `json:"code"`
		Err       string    `json:"err"`
	} `json:"registrations"`
	Notices []struct {
		Level string `json:"level"`
		Text  string `json:"text"`
	} `json:"notices"`
	MWI         *api.MessageSummary `json:"mwi"`
	Transport   string              `json:"transport"`
	TLSInsecure bool                `json:"tls_insecure"`
}

func status(ctx context.Context, cl *ctl.Client) (statusView, json.RawMessage, error) {
	var st statusView
	raw, err := cl.Do(ctx, "status", nil)
	if err != nil {
		return st, nil, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("status: %w", err)
	}
	return st, raw, nil
}

// pickCall returns the one call whose state is in states (all live calls
// when states is empty), or an error naming the candidates.
func pickCall(ctx context.Context, cl *ctl.Client, what string, states ...string) (string, error) {
	st, _, err := status(ctx, cl)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, c := range st.Calls {
		if c.State == "ended" || len(states) > 0 && !slices.Contains(states, c.State) {
			continue
		}
		ids = append(ids, c.ID)
	}
	switch len(ids) {
	case 0:
		return "", usageError(fmt.Errorf("no call to %s", what))
	case 1:
		return ids[0], nil
	default:
		return "", usageError(fmt.Errorf("%d calls to %s (%s): name one", len(ids), what, strings.Join(ids, ", ")))
	}
}

// CtlDialCmd places a call.
type CtlDialCmd struct {
	To          string `arg:"" help:"SIP URI or number to call."`
	FromUser    string `help:"User part of From."`
	FromDisplay string `help:"Display name in From."`
}

// Run dials and prints the new call's id.
func (c *CtlDialCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "dial", map[string]string{"to": c.To, "from_user": c.FromUser, "from_display": c.FromDisplay})
	if err != nil {
		return err
	}
	var r struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	fmt.Fprintln(p.stdout(), r.CallID)
	return nil
}

// CtlAnswerCmd answers a ringing call.
type CtlAnswerCmd struct {
	ID string `arg:"" optional:"" help:"Call id (default: the only ringing call)."`
}

// Run answers the call.
func (c *CtlAnswerCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "answer", "answer", nil, "incoming")
}

// callCommand sends cmd for call id, or, when id is empty, for the only
// call in one of states (any state when none is given), and prints the id.
// verb names the action in the "which call?" error.
func (p *CtlCmd) callCommand(g *Globals, id, verb, cmd string, args map[string]any, states ...string) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	if id == "" {
		if id, err = pickCall(ctx, cl, verb, states...); err != nil {
			return err
		}
	}
	if args == nil {
		args = map[string]any{}
	}
	args["call_id"] = id
	if _, err := cl.Do(ctx, cmd, args); err != nil {
		return err
	}
	fmt.Fprintln(p.stdout(), id)
	return nil
}

// CtlRejectCmd declines a ringing call.
type CtlRejectCmd struct {
	ID     string `arg:"" optional:"" help:"Call id (default: the only ringing call)."`
	Code   int    `help:"SIP status to answer with." default:"486"`
	Reason string `help:"Reason phrase."`
}

// Run rejects the call.
func (c *CtlRejectCmd) Run(g *Globals, p *CtlCmd) error {
	args := map[string]any{"code": c.Code}
	if c.Reason != "" {
		args["reason"] = c.Reason
	}
	return p.callCommand(g, c.ID, "reject", "reject", args, "incoming")
}

// CtlHangupCmd ends a call or all of them.
type CtlHangupCmd struct {
	ID  string `arg:"" optional:"" help:"Call id (default: the only call)."`
	All bool   `help:"End every call."`
}

// Run hangs up.
func (c *CtlHangupCmd) Run(g *Globals, p *CtlCmd) error {
	if c.All && c.ID != "" {
		return usageError(errors.New("hangup: give an ID or --all, not both"))
	}
	if !c.All {
		return p.callCommand(g, c.ID, "hang up", "hangup", nil)
	}
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	_, err = cl.Do(ctx, "hangup_all", nil)
	return err
}

// CtlHoldCmd holds a call.
type CtlHoldCmd struct {
	ID      string `arg:"" optional:"" help:"Call id (default: the only active call)."`
	Dialect string `help:"Hold form: sendonly, inactive or zero-ip (default: the configured one)."`
}

// Run holds the call.
func (c *CtlHoldCmd) Run(g *Globals, p *CtlCmd) error {
	var args map[string]any
	if c.Dialect != "" {
		args = map[string]any{"dialect": c.Dialect}
	}
	return p.callCommand(g, c.ID, "hold", "hold", args, "active")
}

// CtlResumeCmd takes a call off hold.
type CtlResumeCmd struct {
	ID string `arg:"" optional:"" help:"Call id (default: the only active call)."`
}

// Run resumes the call.
func (c *CtlResumeCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "resume", "resume", nil, "active")
}

// CtlTransferCmd blind-transfers a call.
type CtlTransferCmd struct {
	ID     string `arg:"" help:"Call id."`
	Target string `arg:"" help:"SIP URI or number to transfer to."`
}

// Run transfers the call.
func (c *CtlTransferCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "transfer", "transfer", map[string]any{"target": c.Target})
}

// CtlConsultCmd starts a consultation.
type CtlConsultCmd struct {
	ID     string `arg:"" help:"Call id."`
	Target string `arg:"" help:"SIP URI or number to consult."`
}

// Run holds the call, calls the target and prints the consultation's id
// (the call `complete`, `toggle` and `hangup` name).
func (c *CtlConsultCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "consult", map[string]any{"call_id": c.ID, "target": c.Target})
	if err != nil {
		return err
	}
	var r struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.CallID == "" {
		return fmt.Errorf("consult: no call id in the answer %s", raw)
	}
	fmt.Fprintln(p.stdout(), r.CallID)
	return nil
}

// CtlToggleCmd swaps between the held and the active call.
type CtlToggleCmd struct {
	ID string `arg:"" help:"Call id to make the active one."`
}

// Run toggles.
func (c *CtlToggleCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "toggle", "toggle", nil)
}

// CtlConferenceCmd joins two calls.
type CtlConferenceCmd struct {
	ID    string `arg:"" help:"Call id."`
	Other string `arg:"" optional:"" help:"The other call (not needed for a call on another device: its consultation joins)."`
}

// Run joins the calls; without Other, the one other established call.
func (c *CtlConferenceCmd) Run(g *Globals, p *CtlCmd) error {
	other, err := p.otherCall(g, c.ID, c.Other, "conference")
	if err != nil {
		return err
	}
	return p.callCommand(g, c.ID, "conference", "conference", map[string]any{"other_id": other})
}

// CtlSplitCmd takes a call out of its conference.
type CtlSplitCmd struct {
	ID string `arg:"" help:"Call id (a leg of the conference)."`
}

// Run splits the conference at the call.
func (c *CtlSplitCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "split", "split", nil)
}

// CtlCompleteCmd completes an attended transfer.
type CtlCompleteCmd struct {
	ID    string `arg:"" help:"The held call (the one to transfer)."`
	Other string `arg:"" optional:"" help:"The consultation (default: the one other established call; a call on another device uses its own)."`
}

// Run connects the held call to the consultation and leaves both.
func (c *CtlCompleteCmd) Run(g *Globals, p *CtlCmd) error {
	other, err := p.otherCall(g, c.ID, c.Other, "complete")
	if err != nil {
		return err
	}
	return p.callCommand(g, c.ID, "complete", "complete_transfer", map[string]any{"other_id": other})
}

// otherCall returns other, or when it is "" the one established call
// besides id (verb names the command in the error when there is not
// exactly one).
func (p *CtlCmd) otherCall(g *Globals, id, other, verb string) (string, error) {
	if other != "" {
		return other, nil
	}
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return "", err
	}
	st, _, err := status(ctx, cl)
	done()
	if err != nil {
		return "", err
	}
	var ids []string
	for _, x := range st.Calls {
		if x.ID != id && x.State == "active" {
			ids = append(ids, x.ID)
		}
	}
	if len(ids) != 1 {
		return "", usageError(fmt.Errorf("%s: %d other established calls (%s): name one", verb, len(ids), strings.Join(ids, ", ")))
	}
	return ids[0], nil
}

// CtlDeviceCmd shows or switches the active device.
type CtlDeviceCmd struct {
	Name string `arg:"" optional:"" help:"Device to make active (desk, mobile, home, ...)."`
}

// Run prints the active devices after the switch, first the one calls go to.
func (c *CtlDeviceCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "device", map[string]string{"device": c.Name})
	if err != nil {
		return err
	}
	var r struct {
		Active []string `json:"active"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	fmt.Fprintln(p.stdout(), strings.Join(r.Active, " "))
	return nil
}

// CtlTargetCmd changes where one of the user's devices rings.
type CtlTargetCmd struct {
	Device string `arg:"" help:"Device (mobile, home, ...)."`
	Target string `arg:"" help:"SIP URI or number it rings from now on."`
}

// Run prints the devices after the change: name and target, one a line.
func (c *CtlTargetCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "target", map[string]string{"device": c.Device, "target": c.Target})
	if err != nil {
		return err
	}
	var r struct {
		Devices []struct {
			Name   string `json:"name"`
			Target string `json:"target"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for _, d := range r.Devices {
		fmt.Fprintf(p.stdout(), "%s\t%s\n", d.Name, d.Target)
	}
	return nil
}

// CtlMoveCmd moves a call to another device.
type CtlMoveCmd struct {
	ID     string `arg:"" help:"Call id (a call on another device)."`
	Device string `arg:"" help:"Device to carry it from now on."`
}

// Run moves the call.
func (c *CtlMoveCmd) Run(g *Globals, p *CtlCmd) error {
	return p.callCommand(g, c.ID, "move", "move", map[string]any{"device": c.Device})
}

// CtlDTMFCmd sends digits.
type CtlDTMFCmd struct {
	ID     string `arg:"" help:"Call id."`
	Digits string `arg:"" help:"Digits: 0-9 * # A-D."`
}

// Run sends the digits.
func (c *CtlDTMFCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	_, err = cl.Do(ctx, "dtmf", map[string]string{"call_id": c.ID, "digits": c.Digits})
	return err
}

// CtlStatusCmd shows the instance's state.
type CtlStatusCmd struct {
	JSON bool `name:"json" help:"Print the status result as JSON."`
}

// Run prints the status as tables, or as JSON with --json.
func (c *CtlStatusCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	st, raw, err := status(ctx, cl)
	if err != nil {
		return err
	}
	w := p.stdout()
	if c.JSON {
		_, err := fmt.Fprintf(w, "%s\n", raw)
		return err
	}
	writeStatus(w, st, time.Now())
	return nil
}

// mediaLabel is the MEDIA column of a call: its codec and, when its media
// is encrypted, "SRTP" ("PCMU SRTP", "PCMA", "-" before media).
func mediaLabel(codec, srtp string) string {
	switch {
	case codec == "" && srtp == "":
		return "-"
	case srtp == "":
		return codec
	case codec == "":
		return "SRTP"
	}
	return codec + " SRTP"
}

// writeStatus prints calls, registrations and notices as aligned tables.
func writeStatus(w io.Writer, st statusView, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(st.Calls) == 0 {
		fmt.Fprintln(tw, "no calls")
	} else {
		fmt.Fprintln(tw, "CALL\tDIRECTION\tSTATE\tDEVICE\tREMOTE\tDURATION\tMEDIA")
		for _, c := range st.Calls {
			remote := c.Remote.URI
			if c.Remote.DisplayName != "" {
				remote = fmt.Sprintf("%q <%s>", c.Remote.DisplayName, c.Remote.URI)
			}
			dur := "-"
			if !c.Answered.IsZero() {
				dur = now.Sub(c.Answered).Truncate(time.Second).String()
			}
			state := c.State
			if c.LocalHold && state == "active" {
				state = "held"
			}
			if c.End != nil && c.End.Code != 0 {
				state += fmt.Sprintf(" (%d %s)", c.End.Code, c.End.Reason)
			}
			device := c.Device
			if device == "" {
				device = "here"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Direction, state, device, remote, dur, mediaLabel(c.Codec, c.SRTP))
		}
	}
	if len(st.Regs) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "ACCOUNT\tREGISTRAR\tSTATE\tEXPIRES")
		for _, r := range st.Regs {
			exp := "-"
			if !r.Expires.IsZero() {
				exp = r.Expires.Sub(now).Truncate(time.Second).String()
			}
			state := r.State
			if r.Err != "" {
				state += ": " + r.Err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.AOR, r.Registrar, state, exp)
		}
	}
	tw.Flush()
	if m := st.MWI; m != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, mwiLine(*m))
	}
	switch {
	case st.TLSInsecure:
		fmt.Fprintln(w, "transport: tls, SERVER CERTIFICATES NOT VERIFIED (tls_insecure_skip_verify)")
	case st.Transport == "tls":
		fmt.Fprintln(w, "transport: tls (server certificates verified)")
	}
	for _, n := range st.Notices {
		fmt.Fprintf(w, "%s: %s\n", n.Level, n.Text)
	}
}

// CtlEventsCmd tails events.
type CtlEventsCmd struct {
	Count    int  `help:"Stop after this many events (0: until Ctrl-C)."`
	Snapshot bool `help:"Print the state at subscription as a first \"snapshot\" line."`
}

// Run subscribes and prints each event as one JSON line until Ctrl-C, the
// instance going away, or --count events.
func (c *CtlEventsCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, dctx, done, err := p.followSession(g)
	if err != nil {
		return err
	}
	defer done()
	snap, err := cl.Subscribe(dctx)
	if err != nil {
		return err
	}
	lw := ctl.NewLineWriter(p.stdout())
	if c.Snapshot {
		if err := lw.Emit("snapshot", snap); err != nil {
			return err
		}
	}
	for n := 0; c.Count == 0 || n < c.Count; n++ {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C
		case ev, ok := <-cl.Events():
			if !ok {
				return fmt.Errorf("events: %w", cl.Err())
			}
			if err := lw.WriteLine(ev.Raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// CtlDialogsCmd lists the kept SIP dialogs no call owns.
type CtlDialogsCmd struct {
	JSON bool `name:"json" help:"Print the dialogs result as JSON."`
}

// Run prints one line per dialog, oldest first.
func (c *CtlDialogsCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "dialogs", nil)
	if err != nil {
		return err
	}
	w := p.stdout()
	if c.JSON {
		_, err := fmt.Fprintf(w, "%s\n", raw)
		return err
	}
	var r struct {
		Dialogs []phone.Dialog `json:"dialogs"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("dialogs: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SIP CALL-ID\tMETHOD\tPEER\tMESSAGES\tLAST")
	for _, d := range r.Dialogs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", d.SIPCallID, d.Method, d.Peer, d.Messages, d.Last.Local().Format("15:04:05.000"))
	}
	return tw.Flush()
}

// CtlLadderCmd prints a call's SIP messages.
type CtlLadderCmd struct {
	ID   string `arg:"" help:"Call id, or a SIP Call-ID (a call's, or a dialog's from ctl dialogs)."`
	Raw  bool   `help:"Print each whole message."`
	JSON bool   `name:"json" help:"Print the ladder result as JSON."`
	Pcap string `name:"pcap" placeholder:"FILE" type:"path" xor:"out" help:"Write the messages to FILE as a pcap capture (wireshark, tshark, sngrep -I) instead of printing them."`
	Text string `name:"text" placeholder:"FILE" type:"path" xor:"out" help:"Write the messages to FILE as text, as sngrep's save as txt: per message a line with time, source -> destination, then the raw message."`
}

// Run prints one line per message (or the whole messages with --raw).
func (c *CtlLadderCmd) Run(g *Globals, p *CtlCmd) error {
	if c.Pcap != "" && c.Text != "" {
		return errors.New("ladder: --pcap or --text, not both")
	}
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "ladder", map[string]string{"call_id": c.ID})
	if err != nil {
		return err
	}
	w := p.stdout()
	if c.JSON {
		_, err := fmt.Fprintf(w, "%s\n", raw)
		return err
	}
	var r struct {
		Messages []phone.SIPMessage `json:"messages"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("ladder: %w", err)
	}
	if c.Pcap != "" {
		return writePcapFile(c.Pcap, r.Messages)
	}
	if c.Text != "" {
		return writeTextFile(c.Text, r.Messages)
	}
	for _, m := range r.Messages {
		arrow, peer := "<-", m.Remote
		if m.Sent {
			arrow = "->"
		}
		fmt.Fprintf(w, "%s %s %-21s %s\n", m.Time.Format("15:04:05.000"), arrow, peer, m.Summary)
		if c.Raw {
			fmt.Fprintf(w, "%s\n", strings.TrimRight(m.Raw, "\r\n"))
		}
	}
	return nil
}

// mwiLine is the message-waiting state in one line: "voicemail: 2 new, 8
// old (1 urgent), waiting; subscription active".
func mwiLine(m api.MessageSummary) string {
	line := fmt.Sprintf("voicemail: %d new, %d old", m.New, m.Old)
	if u := m.NewUrgent + m.OldUrgent; u > 0 {
		line += fmt.Sprintf(" (%d urgent)", u)
	}
	if m.Waiting {
		line += ", waiting"
	} else {
		line += ", none waiting"
	}
	if m.Subscription != "" {
		line += "; subscription " + m.Subscription
	}
	if m.Voicemail != "" {
		line += "; call " + m.Voicemail
	}
	return line
}
