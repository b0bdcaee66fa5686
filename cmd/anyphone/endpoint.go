package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/endpoint"
	"github.com/anyphone/anyphone/phone"
)

// EndpointCmd is the headless test endpoint.
type EndpointCmd struct {
	Listen       string        `help:"SIP listen address." default:"127.0.0.1:0"`
	Transport    string        `help:"udp or tcp." default:"udp" enum:"udp,tcp"`
	Name         string        `help:"User part of our Contact and From." default:"endpoint"`
	Account      string        `help:"Address of record, e.g. sip:alice@127.0.0.1."`
	Registrar    string        `help:"Registrar URI, e.g. sip:127.0.0.1:5060 (needs --account)."`
	Username     string        `help:"Digest user (default: the AOR user)."`
	PasswordEnv  string        `help:"Read the password from this environment variable."`
	PasswordFile string        `help:"Read the password from this file." type:"path"`
	Expiry       time.Duration `help:"Registration expiry to ask for." default:"600s"`

	Answer      string        `help:"auto, manual or reject." default:"auto" enum:"auto,manual,reject"`
	AnswerDelay time.Duration `help:"Wait before answering (180 is sent at once)." default:"0s"`
	RejectCode  int           `help:"Code for --answer reject." default:"486"`
	HangupAfter time.Duration `help:"Hang up each answered call after this long (0: never)." default:"0s"`
	Audio       string        `help:"What we send: null, tone:HZ, wav:PATH, echo." default:"null"`
	Record      string        `help:"Record what each call receives to this WAV path (%c: call id)."`
	MaxCalls    int           `help:"Concurrent calls; more get 486." default:"64"`
	Dial        []string      `help:"Place a call at start (repeatable)."`
	DTMF        string        `help:"Digits to send 500 ms after each call becomes active." name:"dtmf"`

	ExpectCalls int           `help:"Succeed only if at least N calls were answered and ended."`
	ExpectTone  float64       `help:"Every answered call must hear this tone (Hz)."`
	ExpectDTMF  string        `help:"The digits received over all calls must equal these." name:"expect-dtmf"`
	ExitAfter   time.Duration `help:"Stop after this long."`

	RTPTimeout       time.Duration `help:"Raise media_timeout after this long without RTP." name:"rtp-timeout"`
	RTPTimeoutHangup bool          `help:"Also hang up on media timeout." name:"rtp-timeout-hangup"`
	TraceFile        string        `help:"Write every SIP message to this file." type:"path"`
	NoTrace          bool          `help:"Keep no per-call SIP ladder (less work under load)."`

	HoldDialect    string `help:"How we hold: sendonly, inactive or zero-ip." default:"sendonly" name:"hold-dialect"`
	HoldMusic      string `help:"What the peer hears while we hold with sendonly: tone:HZ, wav:PATH (default silence)." name:"hold-music"`
	StrictHold     bool   `help:"Answer 488 to initial INVITEs held with c=0.0.0.0 or a=inactive (Skype for Business profile)." name:"strict-hold"`
	TransferPolicy string `help:"What to do with REFERs from peers: auto or reject." default:"auto" enum:"auto,reject" name:"transfer-policy"`
	Script         string `help:"Mid-call steps after each call becomes active, e.g. hold@2s,resume@4s,refer:sip:x@h@5s,dtmf:123@1s."`
	DialHold       string `help:"Place the --dial calls on hold in this dialect (sendonly, inactive, zero-ip)." name:"dial-hold"`

	Busy BusyFlags `embed:"" prefix:""` // busy policy and journal (busyflags.go)
}

// jsonOut writes JSON lines to stdout; lines never interleave.
type jsonOut struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *jsonOut) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(append(b, '\n'))
}

// eventLine is the control-protocol form of an event (docs/control-protocol.md).
func eventLine(ev cti.Event) map[string]any {
	m := map[string]any{"time": time.Now().Format(time.RFC3339Nano)}
	switch e := ev.(type) {
	case cti.CallChanged:
		m["event"], m["call"] = "call", e.Call
	case cti.DTMFReceived:
		m["event"], m["call_id"], m["digit"] = "dtmf", e.CallID, e.Digit
	case cti.MediaTimeout:
		m["event"], m["call_id"], m["seconds"] = "media_timeout", e.CallID, e.Seconds
	case cti.RegistrationChanged:
		m["event"], m["registration"] = "registration", e.Reg
	case cti.Notice:
		m["event"], m["level"], m["text"] = "notice", e.Level, e.Text
	case cti.Lagged:
		m["event"], m["dropped"] = "lagged", e.Dropped
	case cti.TransferProgress:
		m["event"], m["call_id"], m["target"], m["code"], m["reason"], m["final"], m["ok"] = "transfer", e.CallID, e.Target, e.Code, e.Reason, e.Final, e.OK
	case cti.ReferReceived:
		m["event"], m["call_id"], m["referred_by"], m["target"], m["replaces"], m["pending"], m["accepted"] = "refer", e.CallID, e.ReferredBy, e.Target, e.Replaces, e.Pending, e.Accepted
	case cti.InitialHoldResult:
		m["event"], m["call_id"], m["dialect"], m["tried"], m["ok"] = "initial_hold", e.CallID, e.Dialect, e.Tried, e.OK
	default:
		return nil
	}
	return m
}

func (e *EndpointCmd) phoneConfig() (phone.Config, error) {
	pc := phone.Config{
		Name:             e.Name,
		Listen:           e.Listen,
		Transport:        e.Transport,
		MaxCalls:         e.MaxCalls,
		RTPTimeout:       e.RTPTimeout,
		RTPTimeoutHangup: e.RTPTimeoutHangup,
		TraceFile:        e.TraceFile,
		NoTrace:          e.NoTrace,
		HoldMusic:        e.HoldMusic,
		StrictHold:       e.StrictHold,
	}
	var err error
	if pc.HoldDialect, err = phone.ParseHoldDialect(e.HoldDialect); err != nil {
		return pc, err
	}
	if pc.TransferPolicy, err = phone.ParseTransferPolicy(e.TransferPolicy); err != nil {
		return pc, err
	}
	if e.Account == "" {
		if e.Registrar != "" {
			return pc, errors.New("registrar: needs --account")
		}
		return pc, nil
	}
	a := &phone.Account{AOR: e.Account, Registrar: e.Registrar, Username: e.Username, Expiry: e.Expiry}
	switch {
	case e.PasswordEnv != "":
		v, ok := os.LookupEnv(e.PasswordEnv)
		if !ok {
			return pc, fmt.Errorf("password-env: %s is not set", e.PasswordEnv)
		}
		a.Password = phone.Secret(v)
	case e.PasswordFile != "":
		b, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return pc, fmt.Errorf("password-file: %w", err)
		}
		a.Password = phone.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	pc.Account = a
	return pc, nil
}

// Run runs the endpoint until stdin closes, a signal, --exit-after, or
// (with --expect-calls) until N answered calls have ended.
func (e *EndpointCmd) Run(g *Globals) error {
	log, closeLog, err := g.newLogger(os.Stderr)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	mode, err := endpoint.ParseAnswerMode(e.Answer)
	if err != nil {
		return usageError(err)
	}
	b := endpoint.Behavior{
		Answer: mode, AnswerDelay: e.AnswerDelay, RejectCode: e.RejectCode,
		HangupAfter: e.HangupAfter, Audio: e.Audio, Record: e.Record,
		DTMF: e.DTMF, ExpectTone: e.ExpectTone,
	}
	if b.Script, err = endpoint.ParseScript(e.Script); err != nil {
		return usageError(err)
	}
	var dialHold *cti.HoldDialect
	if e.DialHold != "" {
		d, err := cti.ParseHoldDialect(e.DialHold)
		if err != nil {
			return usageError(fmt.Errorf("dial-hold: %w", err))
		}
		dialHold = &d
	}
	if err := b.Validate(); err != nil {
		return usageError(err)
	}
	pc, err := e.phoneConfig()
	if err != nil {
		return usageError(err)
	}
	ep := endpoint.New(b, log)
	defer ep.Close()
	pc.Media = ep.Media
	opts := cti.Options{Phone: pc, Logger: log, SubscriberBuffer: 4096}
	closeJournal, err := e.Busy.apply(&opts)
	if err != nil {
		return usageError(err)
	}
	defer closeJournal.Close() // after svc.Shutdown below has drained the journal writer
	svc, err := cti.New(opts)
	if err != nil {
		return usageError(err)
	}
	out := &jsonOut{w: os.Stdout}
	ep.OnTone = func(id cti.CallID, hz float64, detected bool) {
		out.write(map[string]any{"event": "tone", "time": time.Now().Format(time.RFC3339Nano), "call_id": id, "hz": hz, "detected": detected})
	}
	ep.Attach(svc)
	sub := svc.Subscribe()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := svc.Start(ctx); err != nil {
		return err
	}
	out.write(map[string]any{"event": "ready", "addr": svc.Addr(), "uri": svc.URI(), "transport": e.Transport})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// The event writer: owned by Run, ends when the subscription closes.
		defer wg.Done()
		for ev := range sub.C {
			if m := eventLine(ev); m != nil {
				out.write(m)
			}
		}
	}()

	stdinDone := make(chan struct{})
	go func() {
		// stdin reader: commands as JSON lines; EOF ends the run unless an
		// expectation or --exit-after keeps it going. Not joined: it may
		// block on a terminal; the process exits after Run.
		defer close(stdinDone)
		serveCommands(ctx, svc, os.Stdin, out)
	}()

	for _, to := range e.Dial {
		var err error
		if dialHold != nil {
			_, err = svc.DialHeld(ctx, to, *dialHold, cti.DialOptions{})
		} else {
			_, err = svc.Dial(ctx, to, cti.DialOptions{})
		}
		if err != nil {
			out.write(map[string]any{"event": "notice", "level": "error", "text": err.Error()})
		}
	}

	var deadline <-chan time.Time
	if e.ExitAfter > 0 {
		t := time.NewTimer(e.ExitAfter)
		defer t.Stop()
		deadline = t.C
	}
	waitStdin := stdinDone
	if e.ExitAfter > 0 || e.ExpectCalls > 0 || len(e.Dial) > 0 {
		waitStdin = nil // the run ends on its own terms
	}
	dialedDone := func(st endpoint.Stats) bool {
		return len(e.Dial) > 0 && e.ExpectCalls == 0 && st.Answered+st.Failed >= len(e.Dial) && st.Ended+st.Failed >= len(e.Dial)
	}
loop:
	for {
		changed := ep.Changed()
		st := ep.Stats()
		if e.ExpectCalls > 0 && st.Ended >= e.ExpectCalls {
			break
		}
		if dialedDone(st) {
			break
		}
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-waitStdin:
			break loop
		case <-changed:
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = svc.Shutdown(sctx)
	wg.Wait()

	st := ep.Stats()
	ok, why := true, ""
	switch {
	case e.ExpectCalls > 0 && st.Ended < e.ExpectCalls:
		ok, why = false, fmt.Sprintf("expected %d calls answered and ended, got %d", e.ExpectCalls, st.Ended)
	case e.ExpectTone > 0 && (st.ToneMiss > 0 || st.Answered == 0):
		ok, why = false, fmt.Sprintf("%d of %d answered calls did not hear %g Hz", st.ToneMiss, st.Answered, e.ExpectTone)
	case e.ExpectDTMF != "" && st.DTMF != e.ExpectDTMF:
		ok, why = false, fmt.Sprintf("expected DTMF %q, got %q", e.ExpectDTMF, st.DTMF)
	}
	out.write(map[string]any{"event": "summary", "time": time.Now().Format(time.RFC3339Nano),
		"calls": st.Calls, "answered": st.Answered, "ended": st.Ended, "failed": st.Failed,
		"dtmf": st.DTMF, "ok": ok, "why": why})
	if !ok {
		return &exitError{code: 1}
	}
	return nil
}

// serveCommands reads JSON-line commands from r until EOF.
// TODO(ctl): replace with cti/ctl.ServeStdio once the shared dispatcher lands.
func serveCommands(ctx context.Context, svc *cti.Service, r io.Reader, out *jsonOut) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		var cmd struct {
			ID   string          `json:"id"`
			Cmd  string          `json:"cmd"`
			Args json.RawMessage `json:"args"`
		}
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			out.write(map[string]any{"ok": false, "error": map[string]string{"code": "bad_request", "message": err.Error()}})
			continue
		}
		var a struct {
			To     string     `json:"to"`
			CallID cti.CallID `json:"call_id"`
			Code   int        `json:"code"`
			Digits string     `json:"digits"`
		}
		_ = json.Unmarshal(cmd.Args, &a)
		var res any
		var err error
		switch cmd.Cmd {
		case "dial":
			var id cti.CallID
			id, err = svc.Dial(ctx, a.To, cti.DialOptions{})
			res = map[string]any{"call_id": id}
		case "answer":
			err = svc.Answer(ctx, a.CallID)
		case "reject":
			err = svc.Reject(ctx, a.CallID, a.Code, "")
		case "hangup":
			err = svc.Hangup(ctx, a.CallID)
		case "dtmf":
			err = svc.SendDTMF(ctx, a.CallID, a.Digits)
		case "status":
			res = svc.Snapshot()
		default:
			err = fmt.Errorf("unknown command %q", cmd.Cmd)
		}
		if err != nil {
			out.write(map[string]any{"id": cmd.ID, "ok": false, "error": map[string]string{"code": "error", "message": err.Error()}})
			continue
		}
		out.write(map[string]any{"id": cmd.ID, "ok": true, "result": res})
	}
}
