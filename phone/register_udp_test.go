package phone_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// regUDPClient is a sipgo client sending from, and listening on, one UDP
// socket on 127.0.0.1, so that the socket can be our Contact.
type regUDPClient struct {
	client *sipgo.Client
	addr   *net.UDPAddr
}

func newRegUDPClient(t *testing.T, opts ...sipgo.ClientOption) *regUDPClient {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("alice"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	// ServeUDP adds the socket to the pool asynchronously.
	for ua.TransportLayer().Pool("udp").Size() == 0 {
		time.Sleep(time.Millisecond)
	}
	opts = append([]sipgo.ClientOption{sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(conn.LocalAddr().String())}, opts...)
	client, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ua.Close()
		<-done
	})
	return &regUDPClient{client: client, addr: conn.LocalAddr().(*net.UDPAddr)}
}

// regUDPRun is one registration manager running against a registrar.
type regUDPRun struct {
	infos  chan phone.RegInfo
	cancel context.CancelFunc
	done   chan error
	info   func() phone.RegInfo
}

func startRegUDP(t *testing.T, r *phonetest.Registrar, c *regUDPClient, contactPort int, password phone.Secret) *regUDPRun {
	t.Helper()
	var registrar sip.Uri
	if err := sip.ParseUri(r.URI(), &registrar); err != nil {
		t.Fatal(err)
	}
	run := &regUDPRun{infos: make(chan phone.RegInfo, 100), done: make(chan error, 1)}
	reg := phone.NewRegistrationForTest(phone.RegDoerFuncForTest(func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
		return c.client.Do(ctx, req)
	}), phone.RegConfigForTest{
		AOR:       sip.Uri{Scheme: "sip", User: "alice", Host: "example.test"},
		Registrar: registrar,
		Contact:   sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: contactPort}},
		Password:  password,
		Expiry:    60 * time.Second,
		MinRetry:  100 * time.Millisecond,
		Timeout:   2 * time.Second,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnChange: func(i phone.RegInfo) {
			select {
			case run.infos <- i:
			default:
			}
		},
	})
	run.info = reg.Info
	ctx, cancel := context.WithCancel(t.Context())
	run.cancel = cancel
	go func() { run.done <- reg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-run.done
	})
	return run
}

// waitState waits for an OnChange value in state want.
func (run *regUDPRun) waitState(t *testing.T, want phone.RegState) phone.RegInfo {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case i := <-run.infos:
			if i.State == want {
				return i
			}
		case <-timeout:
			t.Fatalf("no %v state within 5 s; info %+v", want, run.info())
		}
	}
}

// stop cancels the registration and returns Run's result.
func (run *regUDPRun) stop(t *testing.T) error {
	t.Helper()
	run.cancel()
	select {
	case err := <-run.done:
		run.done <- err // for the cleanup
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
		return nil
	}
}

func regBindingContacts(bs []phonetest.Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return out
}

const regUDPAOR = "sip:alice@example.test"

// TestRegistrationOverUDP runs the registration manager against
// phonetest.Registrar over real UDP on 127.0.0.1: register with digest,
// refresh before a 2 s grant lapses, and unregister only our own binding
// while another device's binding for the same AOR stays.
func TestRegistrationOverUDP(t *testing.T) {
	r := phonetest.NewRegistrar(t, map[string]string{"alice": "wonderland"})
	r.SetGrant(2, phonetest.GrantInContact)

	otherCli := newRegUDPClient(t)
	other := startRegUDP(t, r, otherCli, otherCli.addr.Port, "wonderland")
	other.waitState(t, phone.RegRegistered)

	oursCli := newRegUDPClient(t)
	ours := startRegUDP(t, r, oursCli, oursCli.addr.Port, "wonderland")
	first := ours.waitState(t, phone.RegRegistered)
	if left := time.Until(first.Expires); left <= 0 || left > 2*time.Second {
		t.Errorf("Expires in %v, want the 2 s grant", left)
	}

	oursContact := "sip:alice@" + oursCli.addr.String()
	otherContact := "sip:alice@" + otherCli.addr.String()
	want := []string{oursContact, otherContact}
	slices.Sort(want)
	if got := regBindingContacts(r.Bindings(regUDPAOR)); !slices.Equal(got, want) {
		t.Fatalf("bindings = %v, want %v", got, want)
	}

	// Observe two refreshes of our binding; each must come before the
	// previous grant lapsed, so the binding never disappears.
	deadline := time.Now().Add(5 * time.Second)
	var mine []phonetest.Request
	for time.Now().Before(deadline) {
		mine = mine[:0]
		for _, q := range r.Requests() {
			if len(q.Contacts) > 0 && strings.Contains(q.Contacts[0], oursCli.addr.String()) && q.Code == 200 {
				mine = append(mine, q)
			}
		}
		if len(mine) >= 3 {
			break
		}
		if !slices.Contains(regBindingContacts(r.Bindings(regUDPAOR)), oursContact) {
			t.Fatalf("our binding lapsed before a refresh")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(mine) < 3 {
		t.Fatalf("saw %d accepted REGISTERs of ours in 5 s, want a registration and 2 refreshes", len(mine))
	}
	for i := 1; i < len(mine); i++ {
		if mine[i].CallID != mine[0].CallID {
			t.Errorf("refresh %d: Call-ID %s, want %s", i, mine[i].CallID, mine[0].CallID)
		}
		if mine[i].CSeq <= mine[i-1].CSeq {
			t.Errorf("refresh %d: CSeq %d after %d", i, mine[i].CSeq, mine[i-1].CSeq)
		}
		if gap := mine[i].Time.Sub(mine[i-1].Time); gap >= 2*time.Second {
			t.Errorf("refresh %d came %v after the previous, want before the 2 s grant", i, gap)
		}
	}

	if err := ours.stop(t); err != nil {
		t.Fatalf("Run = %v, want a clean unregister", err)
	}
	if got := regBindingContacts(r.Bindings(regUDPAOR)); !slices.Equal(got, []string{otherContact}) {
		t.Fatalf("bindings after unregister = %v, want only the other device %s", got, otherContact)
	}
	reqs := r.Requests()
	last := reqs[len(reqs)-1]
	if len(last.Contacts) != 1 || !strings.Contains(last.Contacts[0], oursCli.addr.String()) || !strings.Contains(last.Contacts[0], "expires=0") {
		t.Errorf("unregister contacts = %v, want only ours with expires=0", last.Contacts)
	}
	if other.info().State != phone.RegRegistered {
		t.Errorf("other device state = %v, want registered", other.info().State)
	}
}

// TestRegistrationOverUDPFailures covers a wrong password and the NAT
// contact rewrite against the real registrar.
func TestRegistrationOverUDPFailures(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		r := phonetest.NewRegistrar(t, map[string]string{"alice": "wonderland"})
		c := newRegUDPClient(t)
		run := startRegUDP(t, r, c, c.addr.Port, "not-it")
		i := run.waitState(t, phone.RegFailed)
		if i.Code != 401 || !strings.Contains(i.Err, "credentials") {
			t.Errorf("info = %+v, want 401 credentials rejected", i)
		}
		if n := len(r.Requests()); n != 2 {
			t.Errorf("registrar saw %d REGISTERs, want 2 (no retry storm)", n)
		}
		if err := run.stop(t); err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	t.Run("rport rewrites a wrong contact port", func(t *testing.T) {
		r := phonetest.NewRegistrar(t, map[string]string{"alice": "wonderland"})
		c := newRegUDPClient(t, sipgo.WithClientNAT())
		run := startRegUDP(t, r, c, 9, "wonderland") // port 9: not where we listen
		run.waitState(t, phone.RegRegistered)
		want := []string{"sip:alice@" + c.addr.String()}
		if got := regBindingContacts(r.Bindings(regUDPAOR)); !slices.Equal(got, want) {
			t.Fatalf("bindings = %v, want %v (rewritten from rport, stale one removed)", got, want)
		}
		if err := run.stop(t); err != nil {
			t.Errorf("Run = %v", err)
		}
		if got := r.Bindings(regUDPAOR); len(got) != 0 {
			t.Errorf("bindings after unregister = %v", got)
		}
	})
}
