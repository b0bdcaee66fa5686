package phone

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/phone/internal/sipguard"
)

// Account is a registrar account. Without one the phone listens on its
// address and dials SIP URIs directly.
type Account struct {
	// AOR is the address of record, e.g. sip:alice@example.org.
	AOR string
	// DisplayName is sent in From.
	DisplayName string
	// Registrar is where REGISTER goes (sip:host:port). Empty: no registration.
	Registrar string
	// Proxy is an outbound proxy (host:port) for REGISTER and INVITE.
	// Empty: INVITEs to the AOR's domain go to the registrar.
	Proxy string
	// Username for digest auth; defaults to the AOR user.
	Username string
	// Password for digest auth. It is never logged.
	Password Secret
	// Expiry requested for the binding; 0 means 600 s.
	Expiry time.Duration
	// Keepalive is how often a registered phone sends OPTIONS to its
	// registrar (or Proxy) to notice one that went away (regkeepalive.go);
	// 0 means DefaultKeepalive, negative turns it off.
	Keepalive time.Duration
}

// MediaFunc gives a call its audio: what we send and where what we receive
// goes. It is called once per call when media starts; the returned values are
// closed with the call if they implement io.Closer. A nil MediaFunc means
// silence out, nothing in.
type MediaFunc func(CallInfo) (audio.Source, audio.Sink, error)

// Config configures a Phone. The zero value listens on 127.0.0.1 on a free
// UDP port with no account.
type Config struct {
	// Name is the user part of our Contact and the default From user.
	Name string
	// Listen is host:port; port 0 picks a free port. Default 127.0.0.1:0.
	Listen string
	// Transport is udp (default), tcp or tls.
	Transport string
	// Transport "" means udp, or tls when the account's registrar is a
	// sips: URI.
	//
	// TLS configures the tls transport (tls.go): RootCAs verify servers
	// (nil: the system roots), ServerName overrides the host name checked
	// (empty: the host dialled). Certificates, if any, make the phone also
	// listen for TLS and serve as its client certificate; without one it
	// dials TLS only. Nil for transport tls: system roots, TLS 1.2+.
	TLS *tls.Config
	// Account, if set, is used for From, auth and registration.
	Account *Account
	// MaxCalls limits concurrent calls; further INVITEs get 486. 0: 64.
	MaxCalls int
	// OverloadDelay turns on load shedding over UDP: while datagrams wait
	// longer than this in our socket's receive queue, or (at 200 INVITEs a
	// second or more) an INVITE took over a sixth of it from the kernel to
	// our request handler, a new INVITE gets 503 Service Unavailable with
	// Retry-After at once, without a transaction, and everything else (the
	// calls in progress) keeps the CPU (overload.go). 0 turns it off.
	OverloadDelay time.Duration
	// RTPTimeout raises MediaTimeout when an active, unheld call has had no
	// RTP for this long. 0 disables the watchdog.
	RTPTimeout time.Duration
	// RTPTimeoutHangup also hangs the call up when the watchdog fires.
	RTPTimeoutHangup bool
	// RingTimeout ends an unanswered outgoing call. 0: 120 s.
	RingTimeout time.Duration
	// Media supplies per-call audio.
	Media MediaFunc
	// Codecs are the audio codecs we offer and prefer when answering, in
	// order of preference, by SDP encoding name (case-insensitive): PCMU,
	// PCMA, G722, opus. telephone-event is always added. Empty: PCMU,
	// PCMA.
	Codecs []string
	// AudioRate is the sample rate of Media's sources and sinks: 0 means
	// 8000 for every codec (the media path resamples a wideband codec to
	// it), AudioRateCodec the negotiated codec's own PCM rate (8000,
	// 16000 for G.722, 48000 for Opus), which CallInfo.AudioRate tells the
	// MediaFunc.
	AudioRate int
	// Packets, if set, gives calls a packet-level media path next to
	// Media's PCM (relay.go): the AnyDevice relay forwards payloads between
	// legs of the same codec without decoding or pacing them.
	Packets PacketFunc
	// Screen decides about each incoming call before it rings (busy
	// policy, DND, voicemail redirect, no-answer timeout). Nil: ring.
	Screen ScreenFunc
	// Events receives every event. It must not block. May be nil.
	Events func(Event)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Trace keeps a per-call record of SIP messages (for the ladder view).
	// Default true; set NoTrace to disable it under load.
	NoTrace bool
	// TraceFile, if set, receives every SIP message this phone sends or
	// receives, in sngrep-like text.
	TraceFile string
	// HoldDialect is how we hold by default.
	HoldDialect HoldDialect
	// SRTP offers and accepts SDES-SRTP (RFC 4568): off (default),
	// optional (RTP/AVP with a=crypto, clear if the peer declines) or
	// mandatory (RTP/SAVP; 488 to offers without it) (srtp.go).
	SRTP SRTPMode
	// AllowSources, if not empty, is the address ACL for incoming SIP:
	// requests from other sources get 403 and a SourceRejected event
	// (acl.go).
	AllowSources []netip.Prefix
	// InviteSources, if not empty, is the address ACL for new calls: an
	// INVITE outside a dialog from another source gets 403 and a
	// SourceRejected event; requests in a dialog are not affected (a B2BUA
	// takes new calls from its trunk or registrar only).
	InviteSources []netip.Prefix
	// HoldMusic is what the peer hears while we hold with a=sendonly: an
	// audio.Open spec such as "tone:425" or "wav:/path/moh.wav". Empty
	// sends silence.
	HoldMusic string
	// StrictHold imitates a peer that refuses held initial offers (Skype
	// for Business Mediation Server): an initial INVITE with c=0.0.0.0 or
	// a=inactive gets 488 "Call hold not allowed for initial INVITE offer".
	StrictHold bool
	// FollowRedirects is how many 3xx responses a call we place follows
	// (follow.go; DefaultRedirectLimit for a desk phone). 0 never follows:
	// a B2BUA must not (toll fraud), the call ends with the 3xx.
	FollowRedirects int
	// TransferPolicy decides about REFERs from peers (default: accept).
	TransferPolicy TransferPolicy
	// Authorize, if set, is the gate every new call passes before its
	// INVITE is built: Dial, a peer's REFER (refused with 403 on the REFER
	// itself), an incoming INVITE with Replaces (authorize.go). Nil lets
	// every call go.
	Authorize AuthorizeFunc
	// MWI subscribes to message-summary (RFC 3842) at Voicemail, or at the
	// account's AOR through the registrar (mwi.go). NOTIFYs of that
	// package are accepted without it too (unsolicited MWI).
	MWI bool
	// Voicemail is the voicemail server's URI: where MWI subscribes and
	// what a front end's voicemail key calls.
	Voicemail string
	// TransferTimeout bounds a transfer we start (REFER until the final
	// NOTIFY) and a REFER waiting for the user under TransferAsk. 0: 30 s.
	TransferTimeout time.Duration
	// MaxInFlightPerPeer bounds our non-INVITE requests awaiting an answer
	// from one peer (host:port); beyond it a request fails at once with
	// ErrTooManyInFlight (inflight.go). 0: 32.
	MaxInFlightPerPeer int
}

// Validate reports the first bad field by name.
func (c *Config) Validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("listen: %q: %w", c.Listen, err)
		}
	}
	switch strings.ToLower(c.Transport) {
	case "", "udp", "tcp", "tls":
	default:
		return fmt.Errorf("transport: %q is not udp, tcp or tls", c.Transport)
	}
	if c.Account != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.Account.Registrar)), "sips:") &&
		c.Transport != "" && !strings.EqualFold(c.Transport, "tls") {
		return fmt.Errorf("account.registrar: a sips: registrar needs transport tls, not %s", c.Transport)
	}
	if err := c.validateMWI(); err != nil { // mwi.go
		return err
	}
	if c.OverloadDelay < 0 {
		return fmt.Errorf("overload_delay: %s is negative", c.OverloadDelay)
	}
	if c.MaxCalls < 0 {
		return fmt.Errorf("max_calls: %d is negative", c.MaxCalls)
	}
	if c.MaxInFlightPerPeer < 0 {
		return fmt.Errorf("max_in_flight_per_peer: %d is negative", c.MaxInFlightPerPeer)
	}
	if c.RTPTimeout < 0 {
		return fmt.Errorf("rtp_timeout: %s is negative", c.RTPTimeout)
	}
	if _, err := sdpCodecs(c.Codecs); err != nil {
		return err
	}
	switch c.AudioRate {
	case 0, AudioRateCodec, 8000, 16000, 48000:
	default:
		return fmt.Errorf("audio_rate: %d is not 8000, 16000 or 48000", c.AudioRate)
	}
	if a := c.Account; a != nil {
		if _, err := parseURI(a.AOR); err != nil || !strings.Contains(a.AOR, "@") {
			return fmt.Errorf("account.aor: %q is not a SIP address of record", a.AOR)
		}
		if a.Registrar != "" {
			if _, err := parseURI(a.Registrar); err != nil {
				return fmt.Errorf("account.registrar: %q: %w", a.Registrar, err)
			}
		}
		if a.Proxy != "" {
			if _, _, err := net.SplitHostPort(a.Proxy); err != nil {
				return fmt.Errorf("account.proxy: %q: %w", a.Proxy, err)
			}
		}
	}
	return nil
}

// sipGlobals sets sipgo's process-wide knobs once.
var sipGlobals sync.Once

// Phone is a SIP user agent: it listens, registers, places and receives
// calls and moves their audio. All methods are safe for concurrent use.
type Phone struct {
	cfg Config
	// events routes SUBSCRIBE and subscription NOTIFYs by package (events.go);
	// presence serves the dialog package (presence.go).
	events   eventRouter
	presence presenceServer
	watching watchSet // watch.go
	log      *slog.Logger
	ua       *sipgo.UserAgent
	dg       *diago.Diago
	cli      *sipgo.Client
	host     string
	port     int
	// codecs are the audio codecs we offer, Config.Codecs with
	// telephone-event (codec.go): diago's MediaConfig and the SRTP media
	// sessions (srtp.go).
	codecs []media.Codec
	// srtpPending holds incoming SDES offers until answered (srtp.go).
	srtpPending sync.Map

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	byes   inflight  // BYEs in flight after the hang-up (bye.go)
	reqs   inflight  // tracked requests and their probes (inflight.go)
	peers  peerLimit // requests awaiting an answer per peer (inflight.go)

	mu      sync.Mutex
	calls   map[CallID]*call
	bySIP   map[string]*call      // SIP Call-ID → call
	cancels map[string]cancelNote // SIP Call-ID → what a received CANCEL said (call.go cancelEnd)
	closed  bool
	seq     atomic.Uint64

	mwi mwiState // message waiting (mwi.go)

	reg     *registration
	regStop context.CancelFunc
	regDone chan struct{}

	trace    *traceFile
	ladders  *ladderStore                     // SIP ladders by Call-ID, kept after calls end (ladders.go); nil when nothing is traced
	guard    *sipguard.Conn                   // the UDP guard (internal/sipguard), nil over TCP/TLS; under mu
	refusals refusalLimiter                   // refused.go: at most one report per rule per second
	shedding atomic.Pointer[sipguard.Shedder] // the UDP guard's shedder, for the request handler (internal/sipguard)

	// xferPolicy is SetTransferPolicy's value + 1; 0 means Config's.
	xferPolicy atomic.Int32
}

// New checks cfg and builds a Phone. Call Start to listen.
func New(cfg Config) (*Phone, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Transport == "" {
		cfg.Transport = impliedTransport(cfg.Account)
	}
	cfg.Transport = strings.ToLower(cfg.Transport)
	if cfg.Transport == "tls" && cfg.TLS == nil {
		cfg.TLS = defaultTLS()
	}
	if cfg.Name == "" {
		cfg.Name = "anyphone"
		if cfg.Account != nil {
			if u, err := parseURI(cfg.Account.AOR); err == nil && u.User != "" {
				cfg.Name = u.User
			}
		}
	}
	if cfg.MaxCalls == 0 {
		cfg.MaxCalls = 64
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 120 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	codecs, _ := sdpCodecs(cfg.Codecs) // checked by Validate
	return &Phone{
		cfg:     cfg,
		log:     log,
		codecs:  codecs,
		calls:   make(map[CallID]*call),
		bySIP:   make(map[string]*call),
		cancels: make(map[string]cancelNote),
	}, nil
}

// Start binds the transport and serves SIP until ctx ends or Close.
// Addr is valid once it returns.
func (p *Phone) Start(ctx context.Context) error {
	host, portStr, _ := net.SplitHostPort(p.cfg.Listen)
	port, _ := strconv.Atoi(portStr)
	if port == 0 {
		var err error
		if port, err = freePort(host); err != nil {
			return fmt.Errorf("listen %s: %w", p.cfg.Listen, err)
		}
	}
	p.host, p.port = host, port
	p.ctx, p.cancel = context.WithCancel(ctx)
	sipGlobals.Do(func() {
		// sipgo refuses to send a UDP message over 1300 bytes (MTU 1500
		// minus 200), so a response to a long valid request (RFC 4475
		// longreq) was never sent. RFC 3261 §18.2.2 sends responses over
		// the transport the request came on: allow a full UDP datagram.
		sip.UDPMTUSize = 65535
	})

	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(p.cfg.Name),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgenTLSConfig(p.cfg.TLS),
	)
	if err != nil {
		return fmt.Errorf("user agent: %w", err)
	}
	p.ua = ua

	// Our own client so every outgoing request passes through fixRequest
	// (LIBRARIES §2.16b): the same options diago's createClient would use.
	cliOpts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(p.log)}
	if p.cfg.Transport == "udp" {
		cliOpts = append(cliOpts, sipgo.WithClientConnectionAddr(net.JoinHostPort(host, strconv.Itoa(port))))
	}
	cli, err := sipgo.NewClient(ua, cliOpts...)
	if err != nil {
		return fmt.Errorf("sip client: %w", err)
	}
	cli.TxRequester = &requestHook{ua: ua, fix: p.fixRequest, reinvite: p.sendReInvite, track: p.trackRequest}
	p.cli = cli

	if p.cfg.TraceFile != "" {
		tf, err := openTraceFile(p.cfg.TraceFile)
		if err != nil {
			return err
		}
		p.trace = tf
	}
	if !p.cfg.NoTrace || p.trace != nil {
		p.ladders = newLadderStore()
	}
	registerTracer(p)

	tr := diago.Transport{
		Transport: p.cfg.Transport,
		BindHost:  host,
		BindPort:  port,
		TLSConf:   p.cfg.TLS,
		// Over TLS, in-dialog requests without a route set go over the
		// connection the dialog came on (tls.go: a client-only peer has
		// no listener at its Contact).
		RewriteContact: p.cfg.Transport == "tls",
	}
	// Our own server so that UPDATE, which diago does not register, gets
	// an answer instead of sipgo's 405 (reinvite.go).
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(p.log))
	if err != nil {
		return fmt.Errorf("sip server: %w", err)
	}
	srv.OnUpdate(p.middleware(p.handleUpdate))
	srv.OnNoRoute(p.middleware(p.handleNoRoute))                                                             // validate.go
	srv.OnSubscribe(p.middleware(p.handleNoRoute))                                                           // events.go routes it in the middleware
	p.handleEvent("dialog", eventHandler{Subscribe: p.serveDialogSubscribe, Notify: p.serveDialogNotify})    // presence.go, watch.go
	p.handleEvent(presenceEvent, eventHandler{Subscribe: p.servePIDFSubscribe, Notify: p.serveDialogNotify}) // presence.go, pidf.go
	p.handleEvent(mwiEvent, eventHandler{Notify: p.serveMWINotify})                                          // mwi.go
	p.dg = diago.NewDiago(ua,
		diago.WithServer(srv),
		diago.WithTransport(tr),
		diago.WithClient(cli),
		diago.WithLogger(p.log),
		diago.WithServerRequestMiddleware(p.middleware),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: slices.Clone(p.codecs)}),
	)
	if p.cfg.tlsClientOnly() {
		// TLS without a certificate: no listener (tls.go).
		p.dg.HandleFunc(p.serveIncoming)
	} else if err := p.serve(srv); err != nil { // validate.go: UDP through the guard
		p.cancel()
		unregisterTracer(p)
		return fmt.Errorf("listen %s/%s: %w", p.cfg.Transport, p.Addr(), err)
	}
	if p.cfg.tlsClientOnly() {
		p.log.Info("tls client only: no certificate, so no tls listener", "contact", p.Addr())
	} else {
		p.waitListening()
		p.log.Info("listening", "addr", p.Addr(), "transport", p.cfg.Transport)
	}
	if p.TLSInsecure() {
		p.log.Warn("TLS SERVER CERTIFICATES ARE NOT VERIFIED (tls_insecure_skip_verify): anyone on the path can read and change this phone's signalling")
	}
	if a := p.cfg.Account; a != nil && a.Registrar != "" {
		if err := p.Register(p.ctx); err != nil {
			return err
		}
	}
	if p.cfg.MWI {
		if err := p.startMWI(); err != nil { // mwi.go
			return err
		}
	}
	return nil
}

// Addr is the host:port we listen on.
func (p *Phone) Addr() string { return net.JoinHostPort(p.host, strconv.Itoa(p.port)) }

// URI is a SIP URI that reaches this phone directly.
func (p *Phone) URI() string {
	u := fmt.Sprintf("sip:%s@%s", p.cfg.Name, p.Addr())
	if p.cfg.Transport != "udp" {
		u += ";transport=" + p.cfg.Transport
	}
	return u
}

// Calls returns every call that has not ended, oldest first.
func (p *Phone) Calls() []CallInfo {
	p.mu.Lock()
	cs := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	out := make([]CallInfo, 0, len(cs))
	for _, c := range cs {
		if ci := c.snapshot(); ci.State != CallEnded {
			out = append(out, ci)
		}
	}
	sortCalls(out)
	return out
}

// CallStatuses appends the status of every call that has not ended to dst,
// in no particular order, and returns it. Unlike Calls it copies no
// CallInfo and does not sort: a busy policy reads it for every incoming
// call.
func (p *Phone) CallStatuses(dst []CallStatus) []CallStatus {
	var buf [32]*call
	p.mu.Lock()
	cs := buf[:0]
	for _, c := range p.calls {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		st := CallStatus{ID: c.info.ID, State: c.info.State, LocalHold: c.info.LocalHold}
		c.mu.Unlock()
		if st.State != CallEnded {
			dst = append(dst, st)
		}
	}
	return dst
}

// Call returns one call's current value.
func (p *Phone) Call(id CallID) (CallInfo, bool) {
	c := p.lookup(id)
	if c == nil {
		return CallInfo{}, false
	}
	return c.snapshot(), true
}

// Ladder returns the SIP messages recorded for a call, in send/receive
// order; an ended call's are kept (ladders.go). id may also be the SIP
// Call-ID of a dialog (Dialogs).
func (p *Phone) Ladder(id CallID) []SIPMessage {
	if p.ladders == nil || p.cfg.NoTrace {
		return nil
	}
	return p.ladders.ladder(id)
}

// Dialogs lists the SIP dialogs no call owns (REGISTER, OPTIONS, SUBSCRIBE)
// whose messages are kept, oldest first; Ladder reads one by its SIP
// Call-ID.
func (p *Phone) Dialogs() []Dialog {
	if p.ladders == nil || p.cfg.NoTrace {
		return []Dialog{}
	}
	return p.ladders.dialogs()
}

func (p *Phone) lookup(id CallID) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *Phone) emit(ev Event) {
	if cc, ok := ev.(CallChanged); ok {
		p.presenceCallChanged(cc.Call) // presence.go
	}
	if p.cfg.Events != nil {
		p.cfg.Events(ev)
	}
}

func (p *Phone) newCallID() CallID {
	return CallID(fmt.Sprintf("c%d", p.seq.Add(1)))
}

// addCall registers c; it fails when the phone is closed or full.
func (p *Phone) addCall(c *call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if len(p.calls) >= p.cfg.MaxCalls {
		return ErrTooManyCalls
	}
	p.calls[c.id] = c
	if c.sipCallID != "" {
		p.bySIP[c.sipCallID] = c
		if p.ladders != nil {
			p.ladders.link(c.id, c.sipCallID)
		}
	}
	return nil
}

func (p *Phone) removeCall(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.calls, c.id)
	if p.bySIP[c.sipCallID] == c {
		delete(p.bySIP, c.sipCallID)
	}
	delete(p.cancels, c.sipCallID)
	p.srtpPending.Delete(c.sipCallID)
}

// Shutdown hangs up every call, unregisters and stops listening. It waits
// for the calls to end until ctx is done.
func (p *Phone) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cs := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		_ = c.hangup()
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	grace := time.NewTimer(byeGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-grace.C:
		// Requests a silent peer leaves unanswered (a CANCEL, a NOTIFY)
		// hold the goroutines that wait for them: give them up so the
		// exit is not theirs to decide (issue 17).
		p.reqs.stop(ctx, 0)
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	// The BYEs of the calls just hung up get a short grace: a silent
	// peer must not hold the exit (issue 17).
	p.byes.stop(ctx, byeGrace)
	p.stopMWI(ctx) // mwi.go: unsubscribe while the transport is open
	p.stopRegistration(ctx)
	return p.Close()
}

// Close stops at once: calls are dropped without BYE.
func (p *Phone) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
	p.byes.stop(context.Background(), 0)
	p.reqs.stop(context.Background(), 0)
	p.closePresence()
	unregisterTracer(p)
	if p.regStop != nil {
		p.regStop()
	}
	if p.ua != nil {
		_ = p.ua.Close()
	}
	if p.trace != nil {
		_ = p.trace.Close()
	}
	return nil
}

// parseURI accepts sip:/sips: URIs and the short forms user@host[:port] and
// host:port.
func parseURI(s string) (sip.Uri, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if s == "" {
		return sip.Uri{}, errors.New("empty address")
	}
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return sip.Uri{}, err
	}
	if u.Host == "" {
		return sip.Uri{}, fmt.Errorf("%q has no host", s)
	}
	if !validHost(u.Host) {
		return sip.Uri{}, fmt.Errorf("%q: %q is not a host name or IP address", s, u.Host)
	}
	if u.User == "" && strings.Contains(strings.SplitN(s, ";", 2)[0], "@") {
		return sip.Uri{}, fmt.Errorf("%q has an empty user before @", s)
	}
	return u, nil
}

// validHost reports whether h is an IP address or a host name of
// letters, digits and hyphens in dot-separated labels (RFC 3261 §25.1),
// and underscores, which RFC 1123 forbids but container networks use
// ("sip_proxy").
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// resolveTarget turns what the user typed into a request URI: a full URI, a
// user@host, or a bare number/name that goes to the account's domain.
func (p *Phone) resolveTarget(target string) (sip.Uri, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return sip.Uri{}, errors.New("empty target")
	}
	if !strings.ContainsAny(t, "@:") {
		a := p.cfg.Account
		if a == nil {
			return sip.Uri{}, fmt.Errorf("%q: no account to dial a bare number through; use user@host", t)
		}
		aor, err := parseURI(a.AOR)
		if err != nil {
			return sip.Uri{}, err
		}
		return sip.Uri{Scheme: "sip", User: t, Host: aor.Host, Port: aor.Port}, nil
	}
	return parseURI(t)
}

func freePort(host string) (int, error) {
	// Find a port free for both UDP and TCP on host.
	for range 20 {
		l, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		t.Close()
		return port, nil
	}
	return 0, errors.New("no free port")
}

// waitListening returns once sipgo serves our socket. diago's
// ServeBackground returns when the socket is bound, a moment before the
// transport layer knows it; a Dial in that moment made sipgo bind the same
// port again ("address already in use").
func (p *Phone) waitListening() {
	tl := p.ua.TransportLayer()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if p.cfg.Transport == "udp" {
			if _, err := tl.GetConnection("udp", p.Addr()); err == nil {
				return
			}
		} else if slices.Contains(tl.ListenPorts(p.cfg.Transport), p.port) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	p.log.Warn("transport not ready after 2s", "addr", p.Addr())
}
