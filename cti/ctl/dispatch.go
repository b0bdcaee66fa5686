package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// Controller is what the dispatcher drives: exactly the cti.Service methods
// the commands use, so tests can pass a fake.
type Controller interface {
	Dial(ctx context.Context, to string, o api.DialOptions) (api.CallID, error)
	Answer(ctx context.Context, id api.CallID) error
	Reject(ctx context.Context, id api.CallID, code int, reason string) error
	Hangup(ctx context.Context, id api.CallID) error
	HangupAll(ctx context.Context) error
	SendDTMF(ctx context.Context, id api.CallID, digits string) error
	Mute(ctx context.Context, id api.CallID, on bool) error
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	Snapshot() api.Snapshot
	Subscribe() *api.Subscription
	Call(id api.CallID) (api.CallInfo, bool)
	Ladder(id api.CallID) []api.SIPMessage

	Hold(ctx context.Context, id api.CallID) error
	HoldWith(ctx context.Context, id api.CallID, d api.HoldDialect) error
	Resume(ctx context.Context, id api.CallID) error
	Transfer(ctx context.Context, id api.CallID, target string) error
	Consult(ctx context.Context, id api.CallID, target string) (api.CallID, error)
	Toggle(ctx context.Context, id api.CallID) error
	CompleteTransfer(ctx context.Context, heldID, consultID api.CallID) error
	Conference(ctx context.Context, a, b api.CallID) error
	Split(ctx context.Context, id api.CallID) error
	AcceptRefer(ctx context.Context, id api.CallID) error
	RejectRefer(ctx context.Context, id api.CallID) error
}

// Router is implemented by Controllers that route a dial through the
// user's active AnyDevice device (*cti.Service does); dial then reports
// where the call went: {"call_id":"","device":"mobile","session_id":"s1"}
// for a callback.
type Router interface {
	DialRouted(ctx context.Context, to string, o api.DialOptions) (api.DialResult, error)
}

// DialogLister is implemented by Controllers that list the SIP dialogs no
// call owns (*cti.Service does); dialogs is empty for the others.
type DialogLister interface {
	Dialogs() []api.Dialog
}

// commandSpec is one entry of the command table: a summary for `commands`
// and a run function that decodes the args and calls the Controller.
type commandSpec struct {
	summary string
	run     func(ctx context.Context, s *session, args json.RawMessage) (any, error)
}

// checker is implemented by args structs that validate themselves after
// decoding; the error becomes bad_request.
type checker interface{ check() error }

// command builds a table entry whose args decode strictly into A (unknown
// fields refused) and are checked before f runs.
func command[A any](summary string, f func(ctx context.Context, s *session, a A) (any, error)) commandSpec {
	return commandSpec{summary: summary, run: func(ctx context.Context, s *session, raw json.RawMessage) (any, error) {
		var a A
		if t := strings.TrimSpace(string(raw)); t != "" && t != "null" {
			if err := strictUnmarshal(raw, &a); err != nil {
				return nil, badRequest("args: %v", err)
			}
		}
		if c, ok := any(&a).(checker); ok {
			if err := c.check(); err != nil {
				return nil, badRequest("args: %v", err)
			}
		}
		return f(ctx, s, a)
	}}
}

// session is one connection's state as the commands see it.
type session struct {
	d *Dispatcher
	c Controller
	// subscribe starts streaming events to this connection and returns
	// the snapshot to start from; nil for connections without a stream.
	subscribe func() api.Snapshot
	// unsubscribe stops the stream; nil without a stream.
	unsubscribe func()
}

// Args of the commands. Field names are the wire names.
type (
	noArgs   struct{}
	callArgs struct {
		CallID api.CallID `json:"call_id"`
	}
	optCallArgs struct {
		CallID api.CallID `json:"call_id,omitempty"`
	}
	dialArgs struct {
		To string `json:"to"`
		api.DialOptions
	}
	rejectArgs struct {
		CallID api.CallID `json:"call_id"`
		Code   int        `json:"code,omitempty"`
		Reason string     `json:"reason,omitempty"`
	}
	holdArgs struct {
		CallID api.CallID `json:"call_id"`
		// Dialect is sendonly, inactive or zero-ip; "" the configured one.
		Dialect string `json:"dialect,omitempty"`
	}
	targetArgs struct {
		CallID api.CallID `json:"call_id"`
		Target string     `json:"target"`
	}
	twoCallArgs struct {
		CallID  api.CallID `json:"call_id"`
		OtherID api.CallID `json:"other_id"`
	}
	dtmfArgs struct {
		CallID api.CallID `json:"call_id"`
		Digits string     `json:"digits"`
	}
)

func (a *callArgs) check() error   { return needCallID(a.CallID) }
func (a *rejectArgs) check() error { return errors.Join(needCallID(a.CallID), checkCode(a.Code)) }
func (a *holdArgs) check() error {
	_, err := api.ParseHoldDialect(a.Dialect)
	if err != nil {
		err = fmt.Errorf("dialect: %q is not sendonly, inactive or zero-ip", a.Dialect)
	}
	return errors.Join(needCallID(a.CallID), err)
}
func (a *targetArgs) check() error {
	var err error
	if strings.TrimSpace(a.Target) == "" {
		err = errors.New("target: missing")
	}
	return errors.Join(needCallID(a.CallID), err)
}
func (a *twoCallArgs) check() error {
	var err error
	if strings.TrimSpace(string(a.OtherID)) == "" {
		err = errors.New("other_id: missing")
	}
	return errors.Join(needCallID(a.CallID), err)
}
func (a *dtmfArgs) check() error { return errors.Join(needCallID(a.CallID), checkDigits(a.Digits)) }
func (a *dialArgs) check() error {
	if strings.TrimSpace(a.To) == "" {
		return errors.New("to: missing destination")
	}
	return nil
}

func needCallID(id api.CallID) error {
	if strings.TrimSpace(string(id)) == "" {
		return errors.New("call_id: missing")
	}
	return nil
}

// checkCode accepts 0 (the default, 486) or a SIP failure code.
func checkCode(code int) error {
	if code != 0 && (code < 400 || code > 699) {
		return fmt.Errorf("code: %d is not a SIP failure code (400-699)", code)
	}
	return nil
}

// checkDigits accepts the RFC 4733 DTMF events 0-9 * # A-D.
func checkDigits(d string) error {
	if d == "" {
		return errors.New("digits: missing")
	}
	for _, r := range d {
		if !strings.ContainsRune("0123456789*#ABCDabcd", r) {
			return fmt.Errorf("digits: %q is not a DTMF digit (0-9 * # A-D)", r)
		}
	}
	return nil
}

// Results of the commands.
type (
	dialResult struct {
		CallID api.CallID `json:"call_id"`
	}
	callsResult struct {
		Calls []api.CallInfo `json:"calls"`
	}
	dialogsResult struct {
		Dialogs []api.Dialog `json:"dialogs"`
	}
	ladderResult struct {
		CallID   api.CallID       `json:"call_id"`
		Messages []api.SIPMessage `json:"messages"`
	}
	pingResult struct {
		Pong bool `json:"pong"`
	}
	commandInfo struct {
		Name    string `json:"name"`
		Summary string `json:"summary"`
	}
	commandsResult struct {
		Commands []commandInfo `json:"commands"`
	}
	// wireSnapshot is api.Snapshot with JSON names for the notices.
	wireSnapshot struct {
		Calls       []api.CallInfo      `json:"calls"`
		Regs        []api.RegInfo       `json:"registrations"`
		Notices     []wireNotice        `json:"notices"`
		MWI         *api.MessageSummary `json:"mwi,omitempty"`
		Transport   string              `json:"transport,omitempty"`
		TLSInsecure bool                `json:"tls_insecure,omitempty"`
	}
)

func toWire(s api.Snapshot) wireSnapshot {
	w := wireSnapshot{Calls: s.Calls, Regs: s.Regs, Notices: make([]wireNotice, 0, len(s.Notices)),
		MWI: s.MWI, Transport: s.Transport, TLSInsecure: s.TLSInsecure}
	if w.Calls == nil {
		w.Calls = []api.CallInfo{}
	}
	if w.Regs == nil {
		w.Regs = []api.RegInfo{}
	}
	for _, n := range s.Notices {
		w.Notices = append(w.Notices, wireNotice(n))
	}
	return w
}

// done is the result of commands that return nothing.
func done(err error) (any, error) { return nil, err }

// commandTable is every command. Adding a command is one entry here (and,
// if it needs a new Service method, one method on Controller).
func commandTable() map[string]commandSpec {
	t := map[string]commandSpec{
		"dial": command("place a call: to, from_user?, from_display?, headers?; with another AnyDevice device active, a callback through it (device, session_id)",
			func(ctx context.Context, s *session, a dialArgs) (any, error) {
				if r, ok := s.c.(Router); ok {
					return r.DialRouted(ctx, a.To, a.DialOptions)
				}
				id, err := s.c.Dial(ctx, a.To, a.DialOptions)
				if err != nil {
					return nil, err
				}
				return dialResult{id}, nil
			}),
		"answer": command("answer a ringing incoming call: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Answer(ctx, a.CallID))
			}),
		"reject": command("decline a ringing incoming call: call_id, code? (486), reason?",
			func(ctx context.Context, s *session, a rejectArgs) (any, error) {
				return done(s.c.Reject(ctx, a.CallID, a.Code, a.Reason))
			}),
		"hangup": command("end a call in any state: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Hangup(ctx, a.CallID))
			}),
		"hangup_all": command("end every call",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				return done(s.c.HangupAll(ctx))
			}),
		"dtmf": command("send DTMF digits on a call: call_id, digits",
			func(ctx context.Context, s *session, a dtmfArgs) (any, error) {
				return done(s.c.SendDTMF(ctx, a.CallID, a.Digits))
			}),
		"mute": command("stop sending our audio on a call: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Mute(ctx, a.CallID, true))
			}),
		"unmute": command("send our audio again on a call: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Mute(ctx, a.CallID, false))
			}),
		"status": command("calls, registrations and recent notices",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				return toWire(s.c.Snapshot()), nil
			}),
		"calls": command("the current calls, or one: call_id?",
			func(ctx context.Context, s *session, a optCallArgs) (any, error) {
				if a.CallID != "" {
					ci, ok := s.c.Call(a.CallID)
					if !ok {
						return nil, fmt.Errorf("call %s: %w", a.CallID, api.ErrNoSuchCall)
					}
					return callsResult{[]api.CallInfo{ci}}, nil
				}
				calls := s.c.Snapshot().Calls
				if calls == nil {
					calls = []api.CallInfo{}
				}
				return callsResult{calls}, nil
			}),
		"ladder": command("the SIP messages of a call: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				msgs := s.c.Ladder(a.CallID)
				if len(msgs) == 0 {
					if _, ok := s.c.Call(a.CallID); !ok {
						return nil, fmt.Errorf("call %s: %w", a.CallID, api.ErrNoSuchCall)
					}
					msgs = []api.SIPMessage{}
				}
				return ladderResult{a.CallID, msgs}, nil
			}),
		"dialogs": command("the SIP dialogs no call owns (REGISTER, OPTIONS, SUBSCRIBE) whose ladders are kept; ladder reads one by its sip_call_id",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				var ds []api.Dialog
				if l, ok := s.c.(DialogLister); ok {
					ds = l.Dialogs()
				}
				if ds == nil {
					ds = []api.Dialog{}
				}
				return dialogsResult{ds}, nil
			}),
		"hold": command("put a call on hold: call_id, dialect? (sendonly, inactive, zero-ip)",
			func(ctx context.Context, s *session, a holdArgs) (any, error) {
				if a.Dialect == "" {
					return done(s.c.Hold(ctx, a.CallID))
				}
				d, _ := api.ParseHoldDialect(a.Dialect) // checked
				return done(s.c.HoldWith(ctx, a.CallID, d))
			}),
		"resume": command("take a call off hold: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Resume(ctx, a.CallID))
			}),
		"transfer": command("blind-transfer a call (REFER): call_id, target",
			func(ctx context.Context, s *session, a targetArgs) (any, error) {
				return done(s.c.Transfer(ctx, a.CallID, a.Target))
			}),
		"consult": command("hold a call and call target for a consultation: call_id, target",
			func(ctx context.Context, s *session, a targetArgs) (any, error) {
				id, err := s.c.Consult(ctx, a.CallID, a.Target)
				if err != nil {
					return nil, err
				}
				return dialResult{id}, nil
			}),
		"toggle": command("swap between a held call and the active one: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Toggle(ctx, a.CallID))
			}),
		"complete_transfer": command("connect a held call to the consulted one (attended transfer): call_id (held), other_id (consultation)",
			func(ctx context.Context, s *session, a twoCallArgs) (any, error) {
				return done(s.c.CompleteTransfer(ctx, a.CallID, a.OtherID))
			}),
		"conference": command("join two calls in a local conference: call_id, other_id",
			func(ctx context.Context, s *session, a twoCallArgs) (any, error) {
				return done(s.c.Conference(ctx, a.CallID, a.OtherID))
			}),
		"split": command("take a call out of the conference: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.Split(ctx, a.CallID))
			}),
		"accept_refer": command("accept a peer's pending transfer request: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.AcceptRefer(ctx, a.CallID))
			}),
		"reject_refer": command("refuse a peer's pending transfer request: call_id",
			func(ctx context.Context, s *session, a callArgs) (any, error) {
				return done(s.c.RejectRefer(ctx, a.CallID))
			}),
		"register": command("start registering the account",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				return done(s.c.Register(ctx))
			}),
		"unregister": command("remove our registration binding",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				return done(s.c.Unregister(ctx))
			}),
		"subscribe": command("stream events on this connection; returns the snapshot to start from",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				if s.subscribe == nil {
					return nil, badRequest("subscribe needs a stream connection")
				}
				return toWire(s.subscribe()), nil
			}),
		"unsubscribe": command("stop streaming events on this connection",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				if s.unsubscribe == nil {
					return nil, badRequest("unsubscribe needs a stream connection")
				}
				s.unsubscribe()
				return nil, nil
			}),
		"ping": command("check the connection",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				return pingResult{Pong: true}, nil
			}),
		"commands": command("list the commands",
			func(ctx context.Context, s *session, _ noArgs) (any, error) {
				r := commandsResult{}
				for _, name := range s.d.Commands() {
					r.Commands = append(r.Commands, commandInfo{name, s.d.cmds[name].summary})
				}
				return r, nil
			}),
	}
	maps.Copy(t, policyCommands())   // policy.go
	maps.Copy(t, journalCommands())  // journal.go
	maps.Copy(t, deviceCommands())   // devices.go
	maps.Copy(t, presenceCommands()) // presence.go
	return t
}

// Dispatcher decodes commands, runs them against a Controller and encodes
// the responses. It is safe for concurrent use; the transports (ServeStdio,
// Server) run one per process and one session per connection.
type Dispatcher struct {
	c    Controller
	cmds map[string]commandSpec
	log  *slog.Logger
}

// NewDispatcher returns a Dispatcher over c. log nil means slog.Default().
func NewDispatcher(c Controller, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{c: c, cmds: commandTable(), log: log}
}

// Commands returns the command names, sorted.
func (d *Dispatcher) Commands() []string {
	names := make([]string, 0, len(d.cmds))
	for n := range d.cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Handle runs one command line outside any stream (subscribe is refused)
// and returns its response. It never panics on bad input.
func (d *Dispatcher) Handle(ctx context.Context, line []byte) Response {
	return d.handle(ctx, &session{d: d, c: d.c}, line)
}

// handle runs one command line in session s.
func (d *Dispatcher) handle(ctx context.Context, s *session, line []byte) Response {
	req, err := DecodeCommand(line)
	if err != nil {
		return errorResponse(req.ID, err)
	}
	spec, ok := d.cmds[req.Cmd]
	if !ok {
		return errorResponse(req.ID, &Error{Code: CodeUnknownCommand, Message: fmt.Sprintf("unknown command %q (try \"commands\")", req.Cmd)})
	}
	// Args are not logged: dial headers may carry credentials.
	d.log.Debug("ctl command", "cmd", req.Cmd)
	res, err := spec.run(ctx, s, req.Args)
	if err != nil {
		e := toError(err)
		d.log.Debug("ctl command failed", "cmd", req.Cmd, "code", e.Code, "err", err)
		return errorResponse(req.ID, e)
	}
	resp := Response{ID: req.ID, OK: true}
	if res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			return errorResponse(req.ID, fmt.Errorf("encode result: %w", err))
		}
		resp.Result = b
	}
	return resp
}

func errorResponse(id json.RawMessage, err error) Response {
	return Response{ID: id, OK: false, Error: toError(err)}
}

// toError maps an error to its wire form with a stable code.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var rej *api.RejectedError
	var ruled interface{ RefusedRule() string }
	switch {
	case errors.As(err, &ruled):
		return &Error{Code: CodeRefused, Message: err.Error(), Rule: ruled.RefusedRule()}
	case errors.As(err, &rej):
		return &Error{Code: CodeRejected, Message: err.Error(), SIPCode: rej.Code}
	case errors.Is(err, api.ErrNoSuchCall):
		return &Error{Code: CodeNoSuchCall, Message: err.Error()}
	case errors.Is(err, api.ErrBadState), errors.Is(err, api.ErrTransferPending):
		return &Error{Code: CodeBadState, Message: err.Error()}
	case errors.Is(err, busy.ErrInvalidPolicy), errors.Is(err, journal.ErrBadFormat):
		return &Error{Code: CodeBadRequest, Message: err.Error()}
	case errors.Is(err, api.ErrNoJournal):
		return &Error{Code: CodeUnsupported, Message: err.Error()}
	default:
		return &Error{Code: CodeInternal, Message: err.Error()}
	}
}
