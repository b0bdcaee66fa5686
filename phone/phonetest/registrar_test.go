package phonetest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// testUA is a sipgo client that sends from, and listens on, one UDP socket
// on 127.0.0.1, so that its address can be a Contact.
type testUA struct {
	client *sipgo.Client
	addr   string // host:port of the socket
	cseq   uint32
	callID string
}

func newTestUA(t *testing.T) *testUA {
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
	// ServeUDP puts the socket in the pool asynchronously; a request sent
	// before that would try to bind the same address again.
	for ua.TransportLayer().Pool("udp").Size() == 0 {
		time.Sleep(time.Millisecond)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ua.Close()
		<-done
	})
	return &testUA{client: client, addr: conn.LocalAddr().String(), callID: fmt.Sprintf("call-%p", client)}
}

// register sends one REGISTER for user@example.test, answering one digest
// challenge with pass when it is not empty.
func (u *testUA) register(t *testing.T, r *Registrar, user, pass string, expires string, contacts ...string) *sip.Response {
	t.Helper()
	var ruri sip.Uri
	if err := sip.ParseUri(r.URI(), &ruri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	aor := sip.Uri{Scheme: "sip", User: user, Host: "example.test"}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", "t-"+u.callID)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	callID := sip.CallIDHeader(u.callID)
	req.AppendHeader(&callID)
	u.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: u.cseq, MethodName: sip.REGISTER})
	for _, c := range contacts {
		req.AppendHeader(sip.NewHeader("Contact", c))
	}
	if expires != "" {
		req.AppendHeader(sip.NewHeader("Expires", expires))
	}
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == sip.StatusUnauthorized && pass != "" {
		res, err = u.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: pass})
		if err != nil {
			t.Fatalf("REGISTER with auth: %v", err)
		}
		u.cseq = req.CSeq().SeqNo
	}
	return res
}

func (u *testUA) contact() string { return "<sip:alice@" + u.addr + ">" }

func bindingContacts(bs []Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return out
}

func TestRegistrar(t *testing.T) {
	users := map[string]string{"alice": "wonderland", "bob": "builder"}
	tests := []struct {
		name string
		run  func(t *testing.T, r *Registrar, a, b *testUA)
	}{
		{"challenge then bind", func(t *testing.T, r *Registrar, a, _ *testUA) {
			res := a.register(t, r, "alice", "", "60", a.contact())
			if res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
				t.Fatalf("unauthenticated REGISTER got %d, want a 401 challenge", res.StatusCode)
			}
			res = a.register(t, r, "alice", "wonderland", "60", a.contact())
			if res.StatusCode != 200 {
				t.Fatalf("got %d, want 200", res.StatusCode)
			}
			bs := r.Bindings("sip:alice@example.test")
			if len(bs) != 1 || bs[0].Contact != "sip:alice@"+a.addr {
				t.Fatalf("bindings = %v", bs)
			}
			if left := time.Until(bs[0].Expires); left < 55*time.Second || left > 60*time.Second {
				t.Errorf("binding lasts %v, want 60 s", left)
			}
			if c := res.Contact(); c == nil || c.Params.GetOr("expires", "") != "60" {
				t.Errorf("200 OK contact = %v, want ;expires=60", res.GetHeaders("Contact"))
			}
			if got := r.Bindings("alice@example.test"); len(got) != 1 {
				t.Errorf("Bindings(user@host) = %v", got)
			}
		}},
		{"wrong password", func(t *testing.T, r *Registrar, a, _ *testUA) {
			if res := a.register(t, r, "alice", "nope", "60", a.contact()); res.StatusCode != 401 {
				t.Fatalf("got %d, want 401", res.StatusCode)
			}
			if bs := r.Bindings("sip:alice@example.test"); len(bs) != 0 {
				t.Fatalf("bindings = %v, want none", bs)
			}
		}},
		{"credentials of another user", func(t *testing.T, r *Registrar, a, _ *testUA) {
			// bob's valid credentials used for alice's AOR.
			res := a.registerAs(t, r, "alice", "bob", "builder", a.contact())
			if res.StatusCode != 403 {
				t.Fatalf("got %d, want 403", res.StatusCode)
			}
		}},
		{"expires=0 removes one contact", func(t *testing.T, r *Registrar, a, b *testUA) {
			a.register(t, r, "alice", "wonderland", "60", a.contact())
			b.register(t, r, "alice", "wonderland", "60", b.contact())
			if bs := r.Bindings("sip:alice@example.test"); len(bs) != 2 {
				t.Fatalf("bindings = %v, want 2", bs)
			}
			res := a.register(t, r, "alice", "wonderland", "", a.contact()+";expires=0")
			if res.StatusCode != 200 {
				t.Fatalf("got %d", res.StatusCode)
			}
			bs := r.Bindings("sip:alice@example.test")
			if len(bs) != 1 || bs[0].Contact != "sip:alice@"+b.addr {
				t.Fatalf("bindings = %v, want only %s", bs, b.addr)
			}
			if cs := res.GetHeaders("Contact"); len(cs) != 1 || !strings.Contains(cs[0].Value(), b.addr) {
				t.Errorf("200 OK lists %v, want the remaining binding", cs)
			}
		}},
		{"wildcard removes all", func(t *testing.T, r *Registrar, a, b *testUA) {
			a.register(t, r, "alice", "wonderland", "60", a.contact())
			b.register(t, r, "alice", "wonderland", "60", b.contact())
			if res := a.register(t, r, "alice", "wonderland", "60", "*"); res.StatusCode != 400 {
				t.Errorf("* with Expires 60 got %d, want 400", res.StatusCode)
			}
			if res := a.register(t, r, "alice", "wonderland", "0", "*"); res.StatusCode != 200 {
				t.Fatalf("* got %d, want 200", res.StatusCode)
			}
			if bs := r.Bindings("sip:alice@example.test"); len(bs) != 0 {
				t.Fatalf("bindings = %v, want none", bs)
			}
		}},
		{"min expires", func(t *testing.T, r *Registrar, a, _ *testUA) {
			r.SetMinExpires(120)
			res := a.register(t, r, "alice", "wonderland", "60", a.contact())
			if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "120" {
				t.Fatalf("got %d %v, want 423 Min-Expires: 120", res.StatusCode, res.GetHeader("Min-Expires"))
			}
			if res := a.register(t, r, "alice", "wonderland", "120", a.contact()); res.StatusCode != 200 {
				t.Fatalf("got %d, want 200", res.StatusCode)
			}
		}},
		{"grant in header", func(t *testing.T, r *Registrar, a, _ *testUA) {
			r.SetGrant(7, GrantInHeader)
			res := a.register(t, r, "alice", "wonderland", "600", a.contact())
			if h := res.GetHeader("Expires"); res.StatusCode != 200 || h == nil || h.Value() != "7" {
				t.Fatalf("got %d Expires %v, want 200 Expires: 7", res.StatusCode, h)
			}
			if c := res.Contact(); c == nil || c.Params.Has("expires") {
				t.Errorf("contact = %v, want no expires parameter", c)
			}
		}},
		{"grant in contact", func(t *testing.T, r *Registrar, a, _ *testUA) {
			r.SetGrant(7, GrantInContact)
			res := a.register(t, r, "alice", "wonderland", "600", a.contact())
			if c := res.Contact(); res.StatusCode != 200 || c == nil || c.Params.GetOr("expires", "") != "7" || res.GetHeader("Expires") != nil {
				t.Fatalf("got %d %v, want contact ;expires=7 and no Expires header", res.StatusCode, res.GetHeaders("Contact"))
			}
		}},
		{"stale cseq", func(t *testing.T, r *Registrar, a, _ *testUA) {
			a.register(t, r, "alice", "wonderland", "60", a.contact())
			a.cseq = 0 // the next request goes out with CSeq 1, its authenticated retry with 2
			if res := a.register(t, r, "alice", "wonderland", "60", a.contact()); res.StatusCode != 500 {
				t.Fatalf("got %d, want 500 for a lower CSeq on the same Call-ID", res.StatusCode)
			}
		}},
		{"failure and requests log", func(t *testing.T, r *Registrar, a, _ *testUA) {
			r.SetFailure(503, "Service Unavailable")
			if res := a.register(t, r, "alice", "wonderland", "60", a.contact()); res.StatusCode != 503 {
				t.Fatalf("got %d, want 503", res.StatusCode)
			}
			r.SetFailure(0, "")
			a.register(t, r, "alice", "wonderland", "60", a.contact())
			reqs := r.Requests()
			if len(reqs) != 3 || reqs[0].Code != 503 || reqs[1].Code != 401 || reqs[2].Code != 200 {
				t.Fatalf("requests = %+v, want 503, 401, 200", reqs)
			}
			if reqs[2].AOR != "sip:alice@example.test" || reqs[2].CallID != a.callID || reqs[2].Expires != "60" {
				t.Errorf("request = %+v", reqs[2])
			}
		}},
		{"binding lapses", func(t *testing.T, r *Registrar, a, _ *testUA) {
			r.SetGrant(1, GrantInContact)
			a.register(t, r, "alice", "wonderland", "60", a.contact())
			if bs := r.Bindings("sip:alice@example.test"); len(bs) != 1 {
				t.Fatalf("bindings = %v", bs)
			}
			time.Sleep(1100 * time.Millisecond) // not a wait: the 1 s grant must lapse by then
			if bs := r.Bindings("sip:alice@example.test"); len(bs) != 0 {
				t.Fatalf("bindings = %v after the grant, want none", bs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistrar(t, users)
			tt.run(t, r, newTestUA(t), newTestUA(t))
		})
	}
}

// registerAs answers the registrar's challenge for aorUser's AOR with
// another user's credentials.
func (u *testUA) registerAs(t *testing.T, r *Registrar, aorUser, authUser, pass string, contact string) *sip.Response {
	t.Helper()
	var ruri sip.Uri
	if err := sip.ParseUri(r.URI(), &ruri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	aor := sip.Uri{Scheme: "sip", User: aorUser, Host: "example.test"}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", "t-as")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	callID := sip.CallIDHeader(u.callID + "-as")
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Contact", contact))
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err = u.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: authUser, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRegistrarSilent(t *testing.T) {
	r := NewRegistrar(t, nil)
	r.SetSilent(true)
	a := newTestUA(t)
	var ruri sip.Uri
	if err := sip.ParseUri(r.URI(), &ruri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.AppendHeader(sip.NewHeader("Contact", a.contact()))
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	if res, err := a.client.Do(ctx, req); err == nil {
		t.Fatalf("silent registrar answered %d", res.StatusCode)
	}
	r.SetSilent(false)
	req = sip.NewRequest(sip.REGISTER, ruri)
	req.AppendHeader(sip.NewHeader("Contact", a.contact()))
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	res, err := a.client.Do(ctx2, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("got %v, %v; want 200 without authentication", res, err)
	}
}
