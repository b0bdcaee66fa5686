package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
	"github.com/anyphone/anyphone/cti/endpoint"
	"github.com/anyphone/anyphone/phone"
)

// EndpointCmd is the headless test endpoint.
type EndpointCmd struct {
	Listen       string        `help:"SIP listen address." default:"127.0.0.1:0"`
	Transport    string        `help:"udp, tcp or tls." default:"udp" enum:"udp,tcp,tls"`
	TLSCA        string        `help:"PEM CAs to verify TLS servers with (default: the system roots)." name:"tls-ca" type:"path"`
	TLSCert      string        `help:"PEM certificate for TLS (optional: with it the endpoint also listens for TLS)." name:"tls-cert" type:"path"`
	TLSKey       string        `help:"PEM key of --tls-cert." name:"tls-key" type:"path"`
	TLSServer    string        `help:"Host name the server certificate must carry (default: the host dialled)." name:"tls-server-name"`
	TLSInsecure  bool          `help:"Accept any TLS server certificate (a lab only)." name:"tls-insecure-skip-verify"`
	MWI          bool          `help:"Subscribe to message-summary (RFC 3842) at --mwi-voicemail or the account." name:"mwi"`
	MWIVoicemail string        `help:"Voicemail URI: where --mwi subscribes (and what the voicemail key calls)." name:"mwi-voicemail"`
	Name         string        `help:"User part of our Contact and From." default:"endpoint"`
	Account      string        `help:"Address of record, e.g. sip:alice@127.0.0.1."`
	Registrar    string        `help:"Registrar URI, e.g. sip:127.0.0.1:5060 (needs --account)."`
	Username     string        `help:"Digest user (default: the AOR user)."`
	PasswordEnv  string        `help:"Read the password from this environment variable."`
	PasswordFile string        `help:"Read the password from this file." type:"path"`
	Expiry       time.Duration `help:"Registration expiry to ask for." default:"600s"`
	Keepalive    time.Duration `help:"While registered, send OPTIONS to the registrar this often to notice one that went away (0: off)." default:"30s"`

	Answer      string        `help:"auto, manual or reject." default:"auto" enum:"auto,manual,reject"`
	AnswerDelay time.Duration `help:"Wait before answering (180 is sent at once)." default:"0s"`
	RejectCode  int           `help:"Code for --answer reject." default:"486"`
	KeepOthers  bool          `help:"Answering a call leaves the other active calls unheld (default: hold them first, as the desk phone does; for load tests whose calls are independent)." name:"answer-keeps-others"`
	HangupAfter time.Duration `help:"Hang up each answered call after this long (0: never)." default:"0s"`
	Audio       string        `help:"What we send: null, tone:HZ, wav:PATH, echo." default:"null"`
	Record      string        `help:"Record what each call receives to this WAV path (%c: call id)."`
	Codecs      []string      `help:"Audio codecs in order of preference: PCMU, PCMA, G722, opus (comma-separated)." default:"PCMU,PCMA"`
	AudioRate   string        `help:"Sample rate of --audio, --record and --expect-tone: codec (the negotiated codec's: 8000, 16000 for G.722, 48000 for Opus), 8000, 16000 or 48000." default:"codec" enum:"codec,8000,16000,48000" name:"audio-rate"`
	MaxCalls    int           `help:"Concurrent calls; more get 486." default:"64"`
	MaxInFlight int           `help:"Requests awaiting an answer from one peer (host:port); beyond it a request is not sent and fails at once (request_outcome not_sent)." default:"32" name:"max-in-flight"`
	Overload    time.Duration `help:"Load shedding (UDP): while datagrams wait longer than this in the socket queue, or (at 200 INVITEs/s or more) an INVITE takes over a sixth of it to reach the handler, new INVITEs get 503 with Retry-After (0: off). Below T1 (500 ms), when UACs start retransmitting." default:"300ms" name:"overload-delay"`
	Dial        []string      `help:"Place a call at start (repeatable)."`
	Watch       []string      `help:"Watch a colleague's phone state (SUBSCRIBE dialog): a user name or SIP URI (repeatable); presence events follow."`
	PresenceSrv string        `help:"PUBLISH our phone state (dialog-info) to this presence server: sip:host:port." name:"presence-server"`
	DTMF        string        `help:"Digits to send 500 ms after each call becomes active." name:"dtmf"`

	ExpectCalls int           `help:"Succeed only if at least N calls were answered and ended."`
	ExpectTone  float64       `help:"Every answered call must hear this tone (Hz)."`
	ExpectDTMF  string        `help:"The digits received over all calls must equal these." name:"expect-dtmf"`
	ExitAfter   time.Duration `help:"Stop after this long."`
	StdinEOF    string        `help:"What the end of stdin does: exit, ignore, or auto (exit, except when stdin is /dev/null as for a process started in the background with & or nohup)." default:"auto" enum:"auto,exit,ignore" name:"stdin-eof"`

	RTPTimeout       time.Duration `help:"Raise media_timeout after this long without RTP." name:"rtp-timeout"`
	RTPTimeoutHangup bool          `help:"Also hang up on media timeout." name:"rtp-timeout-hangup"`
	TraceFile        string        `help:"Write every SIP message to this file." type:"path"`
	NoTrace          bool          `help:"Keep no per-call SIP ladder (less work under load)."`
	Control          string        `help:"Also serve the control protocol over WebSocket on this address (loopback; elsewhere ANYPHONE_CTL_TOKEN is required)."`

	HoldDialect    string `help:"How we hold: sendonly, inactive or zero-ip." default:"sendonly" name:"hold-dialect"`
	HoldMusic      string `help:"What the peer hears while we hold with sendonly: tone:HZ, wav:PATH (default silence)." name:"hold-music"`
	SRTP           string `help:"SDES-SRTP for call media: off, optional or mandatory." default:"off" enum:"off,optional,mandatory" name:"srtp"`
	StrictHold     bool   `help:"Answer 488 to initial INVITEs held with c=0.0.0.0 or a=inactive (Skype for Business profile)." name:"strict-hold"`
	MaxRedirects   int    `help:"How many 3xx a call we place follows (0: none; the call ends with the 3xx)." default:"5" name:"max-redirects"`
	TransferPolicy string `help:"What to do with REFERs from peers: auto or reject." default:"auto" enum:"auto,reject" name:"transfer-policy"`
	Script         string `help:"Mid-call steps after each call becomes active, e.g. hold@2s,resume@4s,refer:sip:x@h@5s,dtmf:123@1s."`
	DialHold       string `help:"Place the --dial calls on hold in this dialect (sendonly, inactive, zero-ip)." name:"dial-hold"`

	Busy BusyFlags `embed:"" prefix:""` // busy policy and journal (busyflags.go)
}

// audioRate is --audio-rate as phone.Config.AudioRate.
func (e *EndpointCmd) audioRate() int {
	if r, err := strconv.Atoi(e.AudioRate); err == nil {
		return r
	}
	return phone.AudioRateCodec
}

func (e *EndpointCmd) phoneConfig() (phone.Config, error) {
	pc := phone.Config{
		Name:               e.Name,
		Listen:             e.Listen,
		Transport:          e.Transport,
		MaxCalls:           e.MaxCalls,
		MaxInFlightPerPeer: e.MaxInFlight,
		OverloadDelay:      e.Overload,
		RTPTimeout:         e.RTPTimeout,
		RTPTimeoutHangup:   e.RTPTimeoutHangup,
		TraceFile:          e.TraceFile,
		NoTrace:            e.NoTrace,
		HoldMusic:          e.HoldMusic,
		StrictHold:         e.StrictHold,
		FollowRedirects:    e.MaxRedirects,
		MWI:                e.MWI,
		Voicemail:          e.MWIVoicemail,
		Codecs:             e.Codecs,
		AudioRate:          e.audioRate(),
	}
	var err error
	if e.Transport == "tls" {
		if (e.TLSCert == "") != (e.TLSKey == "") {
			return pc, errors.New("tls-key: --tls-cert and --tls-key go together")
		}
		if pc.TLS, err = loadTLS(SIPConfig{TLSCA: e.TLSCA, TLSCert: e.TLSCert, TLSKey: e.TLSKey,
			TLSServerName: e.TLSServer, TLSInsecureSkipVerify: e.TLSInsecure}); err != nil {
			return pc, err
		}
	}
	if pc.HoldDialect, err = phone.ParseHoldDialect(e.HoldDialect); err != nil {
		return pc, err
	}
	if pc.TransferPolicy, err = phone.ParseTransferPolicy(e.TransferPolicy); err != nil {
		return pc, err
	}
	if pc.SRTP, err = phone.ParseSRTPMode(e.SRTP); err != nil {
		return pc, err
	}
	if e.Account == "" {
		if e.Registrar != "" {
			return pc, errors.New("registrar: needs --account")
		}
		return pc, nil
	}
	a := &phone.Account{AOR: e.Account, Registrar: e.Registrar, Username: e.Username, Expiry: e.Expiry, Keepalive: e.Keepalive}
	if e.Keepalive == 0 {
		a.Keepalive = -1 // off; phone's 0 is its default
	}
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
		DTMF: e.DTMF, ExpectTone: e.ExpectTone, AudioRate: e.audioRate(),
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
		var se *audio.SpecError
		if errors.As(err, &se) {
			return usageError(audioSpecError("--audio", err))
		}
		return usageError(err)
	}
	pc, err := e.phoneConfig()
	if err != nil {
		return usageError(err)
	}
	ep := endpoint.New(b, log)
	defer ep.Close()
	pc.Media = ep.Media
	opts := cti.Options{Phone: pc, Logger: log, SubscriberBuffer: 4096, AnswerKeepsOthers: e.KeepOthers, PresenceServer: e.PresenceSrv}
	closeJournal, err := e.Busy.apply(&opts)
	if err != nil {
		return usageError(err)
	}
	defer closeJournal.Close() // after svc.Shutdown below has drained the journal writer
	svc, err := cti.New(opts)
	if err != nil {
		return usageError(err)
	}
	// One writer for everything on stdout: responses, events and the
	// endpoint's own ready/tone/summary lines never interleave.
	out := ctl.NewLineWriter(os.Stdout)
	ep.OnTone = func(id cti.CallID, hz float64, detected bool) {
		_ = out.Emit("tone", map[string]any{"call_id": id, "hz": hz, "detected": detected})
	}
	ep.Attach(svc)
	sub := svc.Subscribe()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The phone lives on its own context: a signal ends the loop below, and
	// Shutdown then hangs up and unregisters over a transport still open.
	if err := svc.Start(context.Background()); err != nil {
		return err
	}
	for _, w := range e.Watch {
		if _, err := svc.Watch(ctx, w); err != nil {
			_ = svc.Shutdown(context.Background())
			return usageError(err)
		}
	}
	ready := map[string]any{"addr": svc.Addr(), "uri": svc.URI(), "transport": e.Transport}
	if e.Control != "" {
		srv, err := ctl.Listen(ctx, e.Control, phone.Secret(os.Getenv("ANYPHONE_CTL_TOKEN")), svc)
		if err != nil {
			_ = svc.Shutdown(context.Background())
			return usageError(fmt.Errorf("control: %w", err))
		}
		defer srv.Close()
		ready["control"] = srv.Addr()
	}
	_ = out.Emit("ready", ready)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// The event writer: owned by Run, ends when the subscription closes.
		defer wg.Done()
		for ev := range sub.C {
			if b, err := ctl.MarshalEvent(ev, time.Now()); err == nil {
				_ = out.WriteLine(b)
			}
		}
	}()

	stdinDone := make(chan struct{})
	// stdinEOF closes at the end of stdin even while a command is still
	// running (a hold whose re-INVITE goes unanswered runs until Timer B):
	// the run must end now, and Shutdown then ends that command (issue 17).
	stdinEOF := make(chan struct{})
	stdin := &eofReader{r: os.Stdin, eof: stdinEOF}
	go func() {
		// stdin: control-protocol commands as JSON lines; EOF ends the run
		// unless an expectation or --exit-after keeps it going. Not joined:
		// a read may block on a terminal; the process exits after Run.
		defer close(stdinDone)
		if err := ctl.ServeStdio(ctx, svc, stdin, out, ctl.StdioOptions{Logger: log}); err != nil && ctx.Err() == nil {
			log.Warn("stdin commands", "err", err)
		}
	}()

	for _, to := range e.Dial {
		var err error
		if dialHold != nil {
			_, err = svc.DialHeld(ctx, to, *dialHold, cti.DialOptions{})
		} else {
			_, err = svc.Dial(ctx, to, cti.DialOptions{})
		}
		if err != nil {
			_ = out.Emit("notice", map[string]any{"level": "error", "text": err.Error()})
		}
	}

	var deadline <-chan time.Time
	if e.ExitAfter > 0 {
		t := time.NewTimer(e.ExitAfter)
		defer t.Stop()
		deadline = t.C
	}
	waitStdin, waitServe := (<-chan struct{})(stdinEOF), (<-chan struct{})(stdinDone)
	if e.ExitAfter > 0 || e.ExpectCalls > 0 || len(e.Dial) > 0 || !stdinEOFEnds(e.StdinEOF, os.Stdin) {
		waitStdin, waitServe = nil, nil // the run ends on its own terms, or on a signal
	}
	dialedDone := func(st endpoint.Stats) bool {
		return len(e.Dial) > 0 && e.ExpectCalls == 0 && st.Answered+st.Failed >= len(e.Dial) && st.Ended+st.Failed >= len(e.Dial)
	}
loop:
	for {
		changed := ep.Changed()
		st := ep.Stats()
		if e.ExpectCalls > 0 && st.Ended+st.Failed >= e.ExpectCalls {
			break // enough calls are over, well or not: the summary says which
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
		case <-waitServe:
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
	_ = out.Emit("summary", map[string]any{"calls": st.Calls, "answered": st.Answered, "ended": st.Ended,
		"failed": st.Failed, "dtmf": st.DTMF, "shed": svc.Shed(), "ok": ok, "why": why})
	if !ok {
		return &exitError{code: 1}
	}
	return nil
}

// stdinEOFEnds says whether the end of stdin ends the run: --stdin-eof
// exit or ignore, or by default (auto) yes, except when stdin is /dev/null
// (a character device that is no terminal): `anyphone endpoint … &` in a
// shell script gets /dev/null and must keep serving.
func stdinEOFEnds(mode string, in *os.File) bool {
	switch mode {
	case "exit":
		return true
	case "ignore":
		return false
	}
	fi, err := in.Stat()
	if err != nil {
		return true
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return true // a pipe or a file: its end is the end of the commands
	}
	_, err = unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS)
	return err == nil // a terminal: Ctrl-D ends the run; /dev/null does not
}

// eofReader closes eof once r has returned an error (the end of stdin).
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}
