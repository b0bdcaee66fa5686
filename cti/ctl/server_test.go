package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone/vocab"
)

func listen(t *testing.T, token vocab.Secret, f *fakeController) *Server {
	t.Helper()
	s, err := ServerConfig{Addr: "127.0.0.1:0", Token: token, Logger: quiet()}.Listen(t.Context(), f)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func dial(t *testing.T, addr string, token vocab.Secret) *Client {
	t.Helper()
	c, err := Dial(t.Context(), addr, token)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListenRefusesNonLoopbackWithoutToken(t *testing.T) {
	tests := []struct {
		addr string
	}{{"0.0.0.0:0"}, {":0"}, {"[::]:0"}, {"example.invalid:0"}, {"10.1.2.3:0"}}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			s, err := Listen(t.Context(), tt.addr, "", newFake())
			if !errors.Is(err, ErrNeedToken) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Listen(%q) error = %v, want ErrNeedToken", tt.addr, err)
			}
		})
	}
	if _, err := Listen(t.Context(), "nonsense", "", newFake()); err == nil {
		t.Error("Listen(nonsense) = nil error")
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"::1", true}, {"[::1]", true}, {"localhost", true}, {"LocalHost", true},
		{"", false}, {"0.0.0.0", false}, {"::", false}, {"192.168.1.1", false}, {"localhost.evil.example", false}, {"::ffff:127.0.0.1", true},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestServerToken(t *testing.T) {
	const token = vocab.Secret("s3cret-token")
	s := listen(t, token, newFake())
	url := "http://" + s.Addr() + Path

	tests := []struct {
		name   string
		header string
		query  string
		want   int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong bearer", "Bearer nope", "", http.StatusUnauthorized},
		{"prefix of the token", "Bearer s3cret", "", http.StatusUnauthorized},
		{"not bearer", "Basic czNjcmV0LXRva2Vu", "", http.StatusUnauthorized},
		{"wrong query", "", "?token=nope", http.StatusUnauthorized},
		// A plain GET with the right token passes auth and fails the upgrade.
		{"right bearer", "Bearer s3cret-token", "", http.StatusUpgradeRequired},
		{"right query", "", "?token=s3cret-token", http.StatusUpgradeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", url+tt.query, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		})
	}

	if _, err := Dial(t.Context(), s.Addr(), "wrong"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Dial with a wrong token = %v, want ErrUnauthorized", err)
	}
	if _, err := Dial(t.Context(), s.Addr(), ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Dial without a token = %v, want ErrUnauthorized", err)
	}
	c := dial(t, s.Addr(), token)
	if _, err := c.Do(t.Context(), "ping", nil); err != nil {
		t.Errorf("ping with the right token: %v", err)
	}
	qc := dial(t, ClientURL(s.Addr())+"?token=s3cret-token", "")
	if _, err := qc.Do(t.Context(), "ping", nil); err != nil {
		t.Errorf("ping with the token in the query: %v", err)
	}
}

func TestServerWithoutTokenChecksHost(t *testing.T) {
	s := listen(t, "", newFake())
	tests := []struct {
		name string
		host string
		want int
	}{
		{"rebound DNS name", "evil.example:80", http.StatusForbidden},
		{"loopback literal", s.Addr(), http.StatusUpgradeRequired},
		{"localhost", "localhost", http.StatusUpgradeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.Addr()+Path, nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		})
	}
	resp, err := http.Get("http://" + s.Addr() + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("other path: status %d, want 404", resp.StatusCode)
	}
}

func TestServerRefusesCrossOriginPages(t *testing.T) {
	s := listen(t, "", newFake())
	_, resp, err := websocket.Dial(t.Context(), ClientURL(s.Addr()), &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://evil.example"}},
	})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin dial: err %v, resp %v; want 403", err, resp)
	}
}

func TestClientCommandsAndEvents(t *testing.T) {
	f := newFake()
	s := listen(t, "", f)
	c := dial(t, s.Addr(), "")
	ctx := t.Context()

	res, err := c.Do(ctx, "dial", map[string]any{"to": "sip:bob@127.0.0.1:5070"})
	if err != nil || !jsonEqual(t, string(res), `{"call_id":"c9"}`) {
		t.Fatalf("dial = %s, %v", res, err)
	}
	if res, err := c.Do(ctx, "answer", map[string]string{"call_id": "c1"}); err != nil || res != nil {
		t.Errorf("answer = %s, %v; want no result", res, err)
	}

	f.setErr("Hangup", cti.ErrNoSuchCall)
	_, err = c.Do(ctx, "hangup", map[string]string{"call_id": "zz"})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNoSuchCall || !errors.Is(err, &Error{Code: CodeNoSuchCall}) {
		t.Errorf("hangup of an unknown call = %v, want no_such_call", err)
	}
	if _, err := c.Do(ctx, "fly", nil); !errors.Is(err, &Error{Code: CodeUnknownCommand}) {
		t.Errorf("unknown command = %v", err)
	}

	// No events before subscribe.
	f.notify("before")
	snap, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var st struct {
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(snap, &st); err != nil || len(st.Calls) != 2 {
		t.Errorf("subscribe snapshot %s (%v)", snap, err)
	}
	f.notify("after")
	select {
	case ev := <-c.Events():
		var n struct {
			Text string `json:"text"`
		}
		if ev.Name != EventNotice || ev.Decode(&n) != nil || n.Text != "after" || ev.Time.IsZero() {
			t.Errorf("event %+v %s", ev, ev.Raw)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after subscribe")
	}
	got := f.recorded()
	want := []string{"Dial sip:bob@127.0.0.1:5070   0", "Answer c1", "Hangup zz"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("controller calls %q, want %q", got, want)
	}
}

func TestServerClosesOnHugeMessage(t *testing.T) {
	s := listen(t, "", newFake())
	conn, _, err := websocket.Dial(t.Context(), ClientURL(s.Addr()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// Just over the limit, so the write completes before the server reacts.
	big := `{"cmd":"ping","args":{"x":"` + strings.Repeat("a", MaxLine) + `"}}`
	if err := conn.Write(t.Context(), websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, _, err = conn.Read(ctx)
	if st := websocket.CloseStatus(err); st != websocket.StatusMessageTooBig {
		t.Errorf("read after a huge message: %v (status %v), want close 1009", err, st)
	}
	// The server lives on.
	c := dial(t, s.Addr(), "")
	if _, err := c.Do(t.Context(), "ping", nil); err != nil {
		t.Errorf("ping after a huge message: %v", err)
	}
}

func TestServerBadJSONKeepsConnection(t *testing.T) {
	s := listen(t, "", newFake())
	conn, _, err := websocket.Dial(t.Context(), ClientURL(s.Addr()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, msg := range []string{`{nope`, `{"id":"1","cmd":"ping"}`} {
		if err := conn.Write(t.Context(), websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	for range 2 {
		_, b, err := conn.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var r Response
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Error != nil {
			codes = append(codes, r.Error.Code)
		} else {
			codes = append(codes, "ok")
		}
	}
	if strings.Join(codes, ",") != CodeBadRequest+",ok" {
		t.Errorf("responses %q", codes)
	}
}

func TestServerCloseEndsClients(t *testing.T) {
	s, err := ServerConfig{Logger: quiet()}.Listen(t.Context(), newFake())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr(), "")
	if _, err := c.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client not told the server went away")
	}
	if _, err := c.Do(t.Context(), "ping", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after the server closed = %v, want ErrClosed", err)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("Events still open after the connection ended")
	}
}

func TestServerStopsWithListenContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := ServerConfig{Logger: quiet()}.Listen(ctx, newFake())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := Dial(t.Context(), s.Addr(), ""); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("server still accepts connections after Listen's ctx ended")
}

// TestServerRateLimitsFailedAuth: after ten failed authentications from
// one address within a minute, even the right token is refused (429)
// without being looked at.
func TestServerRateLimitsFailedAuth(t *testing.T) {
	const token = vocab.Secret("s3cret-token")
	s := listen(t, token, newFake())
	url := "http://" + s.Addr() + Path
	get := func(bearer string) int {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 10 {
		if code := get(fmt.Sprintf("guess-%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, code)
		}
	}
	if code := get(string(token)); code != http.StatusTooManyRequests {
		t.Fatalf("the right token after ten failures: status %d, want 429", code)
	}
}

// listenUsers starts a many-user server: alice and bob, each with a fake
// of their own; limited records the rate-limited connections.
func listenUsers(t *testing.T) (s *Server, alice, bob *fakeController, limited chan string) {
	t.Helper()
	alice, bob = newFake(), newFake()
	tokens := map[string]string{"alice": "alice-token", "bob": "bob-token"}
	fakes := map[string]*fakeController{"alice": alice, "bob": bob}
	limited = make(chan string, 16)
	cfg := ServerConfig{
		Addr:   "127.0.0.1:0",
		Logger: quiet(),
		Users: func(user, token string) (Controller, error) {
			if want, ok := tokens[user]; !ok || !vocab.TokenMatches(want, token) {
				return nil, errors.New("unknown user or wrong token")
			}
			return fakes[user], nil
		},
		RateLimited: func(user, source string) { limited <- user + "@" + source },
	}
	s, err := cfg.Listen(t.Context(), nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, alice, bob, limited
}

// TestServerUsers: a many-user server (the shared AnyDevice controller)
// lets a connection in only with its user's name and that user's token
// (header or query), and drives that user's Controller alone: alice's
// commands reach alice's, never bob's, and each sees her own events only.
// A token of another user, no user or no token is 401 (ErrUnauthorized
// for Dial).
func TestServerUsers(t *testing.T) {
	s, alice, bob, _ := listenUsers(t)
	for _, tc := range []struct{ name, user, token string }{
		{"no user, no token", "", ""},
		{"no token", "alice", ""},
		{"wrong token", "alice", "guess"},
		{"bob's token", "alice", "bob-token"},
		{"unknown user", "mallory", "alice-token"},
		{"a token without a user", "", "alice-token"},
	} {
		if c, err := DialUser(t.Context(), s.Addr(), tc.user, vocab.Secret(tc.token)); !errors.Is(err, ErrUnauthorized) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: DialUser = %v, want ErrUnauthorized", tc.name, err)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.Addr()+Path, nil)
	req.Header.Set(UserHeader, "alice")
	req.Header.Set("Authorization", "Bearer guess")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token over plain HTTP: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}

	a, err := DialUser(t.Context(), s.Addr(), "alice", "alice-token")
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	defer a.Close()
	b, err := Dial(t.Context(), ClientURL(s.Addr())+"?user=bob&token=bob-token", "")
	if err != nil {
		t.Fatalf("bob in the query: %v", err)
	}
	defer b.Close()
	if _, err := a.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Do(t.Context(), "dial", map[string]any{"to": "+4930555"}); err != nil {
		t.Fatalf("alice dials: %v", err)
	}
	if _, err := b.Do(t.Context(), "hangup", map[string]string{"call_id": "c1"}); err != nil {
		t.Fatalf("bob hangs up: %v", err)
	}
	if got := alice.recorded(); len(got) != 1 || !strings.HasPrefix(got[0], "Dial +4930555") {
		t.Errorf("alice's controller got %q, want her dial alone", got)
	}
	if got := bob.recorded(); len(got) != 1 || got[0] != "Hangup c1" {
		t.Errorf("bob's controller got %q, want his hangup alone", got)
	}
	// Each connection gets its own user's events: bob's notice reaches
	// bob; alice's, sent before, reaches alice alone, so bob's first event
	// is his own.
	alice.notify("for alice")
	bob.notify("for bob")
	for who, c := range map[string]*Client{"alice": a, "bob": b} {
		select {
		case ev := <-c.Events():
			var n struct {
				Text string `json:"text"`
			}
			if ev.Name != EventNotice || ev.Decode(&n) != nil || n.Text != "for "+who {
				t.Errorf("%s's first event: %s, want the notice for %s", who, ev.Raw, who)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no event", who)
		}
	}
}

// TestServerUsersRateLimitsFailedAuth: on a many-user server ten failed
// authentications from one address within a minute, and even alice's
// right token is refused (429) without being looked at; RateLimited is
// told (the user named, the address), and a success before the limit
// forgives the failures.
func TestServerUsersRateLimitsFailedAuth(t *testing.T) {
	s, _, _, limited := listenUsers(t)
	for i := range 9 {
		if _, err := DialUser(t.Context(), s.Addr(), "alice", vocab.Secret(fmt.Sprintf("guess-%d", i))); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("guess %d: %v, want ErrUnauthorized", i, err)
		}
	}
	c, err := DialUser(t.Context(), s.Addr(), "alice", "alice-token")
	if err != nil {
		t.Fatalf("the right token after nine failures: %v", err)
	}
	c.Close()
	for i := range 10 {
		if _, err := DialUser(t.Context(), s.Addr(), "bob", vocab.Secret(fmt.Sprintf("guess-%d", i))); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("guess %d after the success: %v, want ErrUnauthorized", i, err)
		}
	}
	select {
	case who := <-limited:
		t.Fatalf("rate-limited (%s) before the tenth failure", who)
	default:
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.Addr()+Path, nil)
	req.Header.Set(UserHeader, "alice")
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("alice's right token after ten failures: status %d, want 429", resp.StatusCode)
	}
	select {
	case who := <-limited:
		if who != "alice@127.0.0.1" {
			t.Errorf("RateLimited(%s), want alice@127.0.0.1", who)
		}
	default:
		t.Errorf("RateLimited was not told")
	}
}
