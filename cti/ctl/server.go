package ctl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Path is the HTTP path of the WebSocket endpoint: ws://HOST:PORT/ctl.
const Path = "/ctl"

// writeTimeout bounds one message write; a client that stops reading for
// longer is disconnected.
const writeTimeout = 10 * time.Second

// ServerConfig configures a network control Server.
type ServerConfig struct {
	// Addr is host:port to listen on; port 0 picks a free port. Empty
	// means 127.0.0.1:0.
	Addr string
	// Token, when set, must be presented by every connection as
	// "Authorization: Bearer TOKEN" or "?token=TOKEN". It is required when
	// Addr is not a loopback address.
	Token vocab.Secret
	// Logger; nil means slog.Default(). The token is never logged.
	Logger *slog.Logger
	// Users, when set, makes the server serve many users, each with a
	// token of its own (the shared AnyDevice controller): a connection
	// names its user ("X-Anyphone-User: alice" or "?user=alice") and
	// presents that user's token; Users checks it (in constant time) and
	// returns what that connection drives. Token is then not used.
	Users func(user, token string) (Controller, error)
	// RateLimited, when set, is told of each connection of a many-user
	// server refused because its address failed to authenticate too
	// often (the user it names, its address); its token is not looked at.
	RateLimited func(user, source string)
}

// Server serves the control protocol as WebSocket text messages (one JSON
// object per message) at Path. Each connection is a session: its commands
// run in order, and it receives events after it sends subscribe.
type Server struct {
	d       *Dispatcher
	log     *slog.Logger
	token   vocab.Secret
	guard   vocab.AuthGuard // failed authentications per source
	users   func(user, token string) (Controller, error)
	limited func(user, source string)
	ln      net.Listener
	srv     *http.Server

	// ctx ends every connection; it is the server's lifetime, cancelled by
	// Close or by Listen's ctx.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // Serve and the connections

	mu        sync.Mutex
	closed    bool // guarded by mu; no connection joins wg once set
	closeOnce sync.Once
	closeErr  error
}

// Listen starts a control Server on addr (see ServerConfig) until ctx ends
// or Close. It refuses a non-loopback addr without a token (ErrNeedToken).
func Listen(ctx context.Context, addr string, token vocab.Secret, c Controller) (*Server, error) {
	return ServerConfig{Addr: addr, Token: token}.Listen(ctx, c)
}

// Listen starts a control Server with this configuration; see the
// package-level Listen.
func (cfg ServerConfig) Listen(ctx context.Context, c Controller) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("ctl: listen %q: %w", addr, err)
	}
	if cfg.Token == "" && cfg.Users == nil && !IsLoopbackHost(host) {
		return nil, fmt.Errorf("listen %s: %w (set a control token)", addr, ErrNeedToken)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ctl: listen: %w", err)
	}
	s := cfg.newServer(ctx, c, log)
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// Serve is owned by the Server: joined in Close.
	s.wg.Go(func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("ctl server stopped", "err", err)
		}
	})
	// The watcher ends the server with Listen's ctx; joined in Close.
	s.wg.Go(func() {
		select {
		case <-ctx.Done():
			s.stop()
		case <-s.ctx.Done():
		}
	})
	log.Info("ctl listening", "addr", s.Addr(), "token", cfg.Token != "")
	return s, nil
}

// Handler builds a Server to mount in an HTTP server of the caller's (it
// listens on nothing itself): it serves Path and answers 404 to other
// paths. Close ends its connections.
func (cfg ServerConfig) Handler(ctx context.Context, c Controller) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return cfg.newServer(ctx, c, log)
}

// newServer builds a Server without a listener.
func (cfg ServerConfig) newServer(ctx context.Context, c Controller, log *slog.Logger) *Server {
	s := &Server{log: log, token: cfg.Token, users: cfg.Users, limited: cfg.RateLimited}
	if c != nil {
		s.d = NewDispatcher(c, log)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return s
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the WebSocket URL to connect to.
func (s *Server) URL() string { return "ws://" + s.Addr() + Path }

// stop closes the listener and ends every connection without waiting.
func (s *Server) stop() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		if s.srv != nil {
			s.closeErr = s.srv.Close()
		}
	})
}

// Close stops listening, ends every connection and waits for them.
func (s *Server) Close() error {
	s.stop()
	s.wg.Wait()
	return s.closeErr
}

// ServeHTTP authorizes the request, upgrades it to a WebSocket and serves
// it as one session until either side closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	d := s.d
	if s.users != nil {
		var code int
		var why string
		if d, code, why = s.authorizeUser(r); code != 0 {
			s.log.Info("ctl connection refused", "peer", r.RemoteAddr, "code", code, "reason", why)
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="anyphone"`)
			}
			http.Error(w, why, code)
			return
		}
	} else if code, why := s.authorize(r); code != 0 {
		s.log.Info("ctl connection refused", "peer", r.RemoteAddr, "code", code, "reason", why)
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="anyphone"`)
		}
		http.Error(w, why, code)
		return
	}
	// Accept's default origin check refuses browser pages of other origins.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("ctl upgrade failed", "peer", r.RemoteAddr, "err", err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	s.wg.Add(1) // a connection is joined by Close like the Serve goroutine
	s.mu.Unlock()
	defer s.wg.Done()
	conn.SetReadLimit(MaxLine)
	s.log.Debug("ctl connection", "peer", r.RemoteAddr)
	err = d.serveConn(s.ctx, transport{
		read: func(ctx context.Context) ([]byte, error) {
			for {
				typ, b, err := conn.Read(ctx)
				if err != nil {
					return nil, err
				}
				if typ != websocket.MessageText {
					return nil, badRequest("send commands as text messages")
				}
				return b, nil
			}
		},
		write: func(ctx context.Context, msg []byte) error {
			ctx, cancel := context.WithTimeout(ctx, writeTimeout)
			defer cancel()
			return conn.Write(ctx, websocket.MessageText, msg)
		},
	}, connOptions{})
	switch st := websocket.CloseStatus(err); {
	case st == websocket.StatusNormalClosure || st == websocket.StatusGoingAway:
		s.log.Debug("ctl connection closed", "peer", r.RemoteAddr)
	case s.ctx.Err() != nil:
		conn.Close(websocket.StatusGoingAway, "server shutting down")
	default:
		s.log.Debug("ctl connection ended", "peer", r.RemoteAddr, "err", err)
	}
	conn.CloseNow()
}

// UserHeader names the user of a connection to a many-user server.
const UserHeader = "X-Anyphone-User"

// authorizeUser checks a connection to a many-user server: the user it
// names and that user's token; failures count against its address.
func (s *Server) authorizeUser(r *http.Request) (*Dispatcher, int, string) {
	src := vocab.SourceOf(r.RemoteAddr)
	user := r.Header.Get(UserHeader)
	if user == "" {
		user = r.URL.Query().Get("user")
	}
	if !s.guard.Allow(src, time.Now()) {
		s.log.Warn("ctl authentication rate-limited", "peer", r.RemoteAddr, "user", user)
		if s.limited != nil {
			s.limited(user, src)
		}
		return nil, http.StatusTooManyRequests, "too many failed authentications: try again later"
	}
	c, err := s.users(user, bearerToken(r))
	if err != nil || c == nil || user == "" {
		s.guard.Fail(src, time.Now())
		s.log.Warn("ctl authentication failed", "peer", r.RemoteAddr, "user", user)
		return nil, http.StatusUnauthorized, "unknown user or wrong token"
	}
	s.guard.Succeed(src)
	return NewDispatcher(c, s.log.With("user", user)), 0, ""
}

// bearerToken is the token a request presents: "Authorization: Bearer T"
// or "?token=T".
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

// authorize returns 0 for an allowed request, or the HTTP status and reason
// to refuse it with.
func (s *Server) authorize(r *http.Request) (int, string) {
	if s.token != "" {
		src := vocab.SourceOf(r.RemoteAddr)
		if !s.guard.Allow(src, time.Now()) {
			s.log.Warn("ctl authentication rate-limited", "peer", r.RemoteAddr)
			return http.StatusTooManyRequests, "too many failed authentications: try again later"
		}
		got := bearerToken(r)
		// Constant time, lengths included; the token is never logged.
		if !vocab.TokenMatches(s.token.Reveal(), got) {
			s.guard.Fail(src, time.Now())
			s.log.Warn("ctl authentication failed", "peer", r.RemoteAddr, "token_given", got != "")
			return http.StatusUnauthorized, "missing or wrong token"
		}
		s.guard.Succeed(src)
		return 0, ""
	}
	// Without a token only this machine may connect, and only by a
	// loopback name, so a web page whose DNS name was rebound to 127.0.0.1
	// cannot reach us.
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !IsLoopbackHost(peer) {
		return http.StatusForbidden, "only loopback peers may connect without a token"
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !IsLoopbackHost(host) {
		return http.StatusForbidden, "Host must be a loopback address without a token"
	}
	return 0, ""
}

// IsLoopbackHost reports whether host (no port) is "localhost" or a
// loopback IP literal (127.0.0.0/8, ::1). An empty host (all interfaces)
// is not.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
