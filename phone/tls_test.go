package phone_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func TestTLSCallVerifiesCertificate(t *testing.T) {
	cert, pool := selfSigned(t)
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", Transport: "tls",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}})

	t.Run("trusted", func(t *testing.T) {
		a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", Transport: "tls",
			TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}})
		id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := answerOn(t, b)
		a.Events.WaitState(t, id, phone.CallActive)
		a.Media.WaitTone(t, id, 1000, 5*time.Second)
		b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
		if err := a.Hangup(id); err != nil {
			t.Fatal(err)
		}
		b.Events.WaitState(t, in.ID, phone.CallEnded)
		// The ladder says the messages went over TLS (sipgo traces "TCP").
		for i, m := range a.Ladder(id) {
			if m.Protocol != "tls" {
				t.Errorf("ladder message %d (%s) over %q, want tls", i, m.Summary, m.Protocol)
			}
		}
	})
	t.Run("untrusted certificate is refused", func(t *testing.T) {
		other, _ := selfSigned(t)
		_, otherPool := selfSigned(t) // trusts neither bob's certificate
		a := phonetest.NewPhone(t, 440, &phone.Config{Name: "mallory", Transport: "tls",
			TLS: &tls.Config{Certificates: []tls.Certificate{other}, RootCAs: otherPool}})
		id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
		if err != nil {
			return // refused at once is fine too
		}
		end := a.Events.WaitState(t, id, phone.CallEnded)
		if end.End == nil || end.End.Cause != phone.EndFailed || !strings.Contains(end.End.Text, "certificate") || !end.Answered.IsZero() {
			t.Errorf("call over an unverified TLS connection: %+v", end)
		}
	})
}

// TestTLSClientOnly: a phone with transport tls and no certificate of its
// own (the usual softphone) dials a TLS server, verifies its certificate
// against RootCAs and its host name, and opens no TLS listener.
func TestTLSClientOnly(t *testing.T) {
	cert, pool := selfSigned(t)
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", Transport: "tls",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})

	t.Run("verified", func(t *testing.T) {
		a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", Transport: "tls", TLS: &tls.Config{RootCAs: pool}})
		if !a.TLSClientOnly() {
			t.Fatal("a phone without a certificate should be TLS client only")
		}
		if c, err := net.DialTimeout("tcp", a.Addr(), time.Second); err == nil {
			c.Close()
			t.Errorf("client-only TLS phone accepts TCP connections on %s", a.Addr())
		}
		id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := answerOn(t, b)
		a.Events.WaitState(t, id, phone.CallActive)
		a.Media.WaitTone(t, id, 1000, 5*time.Second)
		b.Media.WaitTone(t, in.ID, 440, 5*time.Second)
		if err := a.Hangup(id); err != nil {
			t.Fatal(err)
		}
		b.Events.WaitState(t, in.ID, phone.CallEnded)
	})
	for _, tc := range []struct {
		name string
		conf func() *tls.Config
		want string
	}{
		{"unknown authority", func() *tls.Config { _, other := selfSigned(t); return &tls.Config{RootCAs: other} }, "tls_ca"},
		{"system roots", func() *tls.Config { return nil }, "tls_ca"},
		{"wrong host name", func() *tls.Config { return &tls.Config{RootCAs: pool, ServerName: "wrong.example"} }, "tls_server_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "mallory", Transport: "tls", TLS: tc.conf()})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			end := a.Events.WaitState(t, id, phone.CallEnded)
			if end.End == nil || end.End.Cause != phone.EndFailed || !end.Answered.IsZero() ||
				!strings.Contains(end.End.Text, "certificate verification failed") || !strings.Contains(end.End.Text, tc.want) {
				t.Errorf("%s: call over an unverified TLS connection: %+v", tc.name, end.End)
			}
		})
	}
}

// TestSIPSNeedsTLS: dialling a sips: URI from a UDP phone is refused at
// once instead of going out in clear.
func TestSIPSNeedsTLS(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	_, err := a.Dial(t.Context(), "sips:bob@127.0.0.1:5061", phone.DialOptions{})
	if !errors.Is(err, phone.ErrNeedsTLS) {
		t.Fatalf("dial sips: over udp: %v, want ErrNeedsTLS", err)
	}
}

// TestTLSClientOnlyCalleeRequests: the callee's in-dialog requests (hold,
// BYE) reach a client-only TLS caller over the caller's connection; its
// Contact has no listener.
func TestTLSClientOnlyCalleeRequests(t *testing.T) {
	cert, pool := selfSigned(t)
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", Transport: "tls", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", Transport: "tls", TLS: &tls.Config{RootCAs: pool}})
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := answerOn(t, b)
	a.Events.WaitState(t, id, phone.CallActive)
	// RFC 3261 §14.1: the callee re-INVITEs only after the ACK.
	b.Events.WaitState(t, in.ID, phone.CallActive)
	if err := b.Hold(in.ID); err != nil {
		t.Fatalf("callee hold over the caller's TLS connection: %v", err)
	}
	a.Events.WaitCall(t, 5*time.Second, "remote hold", func(ci phone.CallInfo) bool { return ci.ID == id && ci.RemoteHold })
	if err := b.Hangup(in.ID); err != nil {
		t.Fatal(err)
	}
	if end := a.Events.WaitState(t, id, phone.CallEnded); end.End == nil || end.End.Cause != phone.EndRemoteHangup {
		t.Errorf("caller's end: %+v, want remote-hangup", end.End)
	}
}
