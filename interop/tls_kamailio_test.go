package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA made by the test and a server certificate it signed for
// 127.0.0.1 and localhost, as PEM files.
type testPKI struct {
	CA, Cert, Key string // PEM file paths
}

// newTestPKI writes a fresh CA and a server certificate for 127.0.0.1 and
// localhost to dir.
func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "anyphone interop test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
	for path, b := range map[string]*pem.Block{
		p.CA:   {Type: "CERTIFICATE", Bytes: caDER},
		p.Cert: {Type: "CERTIFICATE", Bytes: der},
		p.Key:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// startKamailioTLS runs testdata/kamailio-tls.cfg with pki's server
// certificate on a free port and waits until kamcmd answers.
func startKamailioTLS(t *testing.T, pki testPKI) *kamailio {
	t.Helper()
	bin := lookPeer(t, "kamailio")
	lookPeer(t, "kamcmd")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"); err != nil {
		t.Fatalf("kamailio's tls module is missing (make test installs kamailio-tls-modules): %v", err)
	}
	dir := t.TempDir()
	k := &kamailio{Port: freePort(t, 1), ctl: filepath.Join(dir, "kamailio.ctl")}
	tlsCfg := filepath.Join(dir, "tls.cfg")
	if err := os.WriteFile(tlsCfg, fmt.Appendf(nil, `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = %s
private_key = %s

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`, pki.Cert, pki.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("testdata/kamailio-tls.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("{{PORT}}", strconv.Itoa(k.Port), "{{CTL}}", k.ctl, "{{TLSCFG}}", tlsCfg).Replace(string(tmpl))
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k.proc = startProc(t, bin, dir, nil, "-f", cfgPath, "-DD", "-E", "-w", dir, "-Y", dir)
	if !waitFor(10*time.Second, func() bool { _, err := k.cmd("core.version"); return err == nil }) {
		t.Fatalf("kamailio (tls) ctl socket %s never answered (exited: %v)\n%s", k.ctl, k.Exited(), k.Output())
	}
	return k
}

// regFailure matches a registration event that failed or is retrying.
func regFailure(ev Event) bool {
	return ev.Event == "registration" && ev.Registration != nil &&
		(ev.Registration.State == "failed" || ev.Registration.State == "retrying") && ev.Registration.Err != ""
}

// TestKamailioTLS: kamailio serves SIP over TLS with a certificate from a
// CA the test made. Two endpoints without client certificates register over
// TLS, verifying kamailio's certificate against that CA and its host name,
// and one calls the other through kamailio (tones both ways). An endpoint
// trusting another CA, and one expecting another host name, are refused
// with an error that names certificate verification.
func TestKamailioTLS(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	k := startKamailioTLS(t, pki)
	aor := func(user string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", user, k.Port) }
	registrar := fmt.Sprintf("sip:127.0.0.1:%d", k.Port)
	tlsArgs := []string{"--transport", "tls", "--tls-ca", pki.CA}

	bob := startEndpoint(t, append(tlsArgs, "--name", "bob", "--account", aor("bob"), "--registrar", registrar,
		"--audio", "tone:1000", "--expect-tone", "440")...)
	if _, err := bob.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("bob never registered over TLS: %v\n%s", err, k.Output())
	}
	// alice registers at a sips: registrar, by host name (localhost).
	alice := startEndpoint(t, "--tls-ca", pki.CA, "--transport", "tls", "--name", "alice", "--account", aor("alice"),
		"--registrar", fmt.Sprintf("sips:localhost:%d", k.Port), "--audio", "tone:440", "--expect-tone", "1000",
		"--script", "hold@1s,resume@2s", "--hangup-after", "4s")
	if _, err := alice.WaitEvent(isRegistered, 5*time.Second); err != nil {
		t.Fatalf("alice never registered at sips:localhost over TLS: %v\n%s", err, k.Output())
	}
	if err := alice.Send(map[string]any{"id": "1", "cmd": "dial", "args": map[string]any{"to": aor("bob")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitEvent(isCall("active"), 10*time.Second); err != nil {
		t.Fatalf("the TLS call through kamailio never became active at bob: %v\n%s", err, k.Output())
	}
	// alice (the caller) holds and resumes: her re-INVITEs must follow
	// kamailio's Record-Route over TLS (bob's Contact has no listener).
	if _, err := bob.WaitEvent(func(ev Event) bool { return isCall("active")(ev) && strings.Contains(ev.Raw, `"remote_hold":true`) }, 5*time.Second); err != nil {
		t.Errorf("alice's hold never reached bob through kamailio: %v\n%s", err, k.Output())
	}
	if _, err := alice.WaitEvent(isCall("ended"), 10*time.Second); err != nil {
		t.Fatalf("alice's call did not end after 4 s: %v", err)
	}
	if n := strings.Count(k.Output(), "REQ INVITE sips:bob@"); n < 2 {
		t.Errorf("kamailio relayed %d in-dialog re-INVITEs to bob, want hold and resume (2)", n)
	}
	if _, err := alice.WaitEvent(toneEvent(1000), 3*time.Second); err != nil {
		t.Errorf("alice did not hear bob's 1000 Hz over the TLS call: %v", err)
	}
	if _, err := bob.WaitEvent(toneEvent(440), 3*time.Second); err != nil {
		t.Errorf("bob did not hear alice's 440 Hz over the TLS call: %v", err)
	}
	if _, err := bob.WaitEvent(isCall("ended"), 5*time.Second); err != nil {
		t.Errorf("alice's BYE did not reach bob over TLS: %v", err)
	}
	if out := k.Output(); !strings.Contains(out, "REQ INVITE "+aor("bob")) || !strings.Contains(out, "proto=tls") {
		t.Errorf("kamailio's log shows no INVITE for bob over TLS:\n%s", out)
	}

	// The registrar relays an unsolicited MWI NOTIFY (sipp over UDP) to
	// alice over her TLS connection: shown, and a broken one gets 400.
	s := startSipp(t, "testdata/mwi/notify_uac.xml", fmt.Sprintf("127.0.0.1:%d", k.Port), "-s", "alice", "-m", "1")
	if code, err := s.Wait(15 * time.Second); err != nil || code != 0 {
		t.Errorf("MWI NOTIFY through kamailio to alice over TLS: sipp exit %d, %v\n%s", code, err, s.Output())
	}
	if _, err := alice.WaitEvent(isMWI(true, 2, 8), 3*time.Second); err != nil {
		t.Errorf("alice did not show the MWI NOTIFY relayed over TLS: %v", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string // all in the registration error
	}{
		{"wrong CA", []string{"--tls-ca", newTestPKI(t, t.TempDir()).CA}, []string{"certificate verification failed", "tls_ca", "unknown authority"}},
		{"system roots", nil, []string{"certificate verification failed", "unknown authority"}},
		{"wrong host name", []string{"--tls-ca", pki.CA, "--tls-server-name", "pbx.example.org"}, []string{"certificate verification failed", "tls_server_name", "pbx.example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--transport", "tls", "--name", "mallory", "--account", aor("mallory"), "--registrar", registrar}, tc.args...)
			m := startEndpoint(t, args...)
			ev, err := m.WaitEvent(regFailure, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: no failed registration: %v", tc.name, err)
			}
			t.Logf("%s: %s", tc.name, ev.Registration.Err)
			for _, w := range tc.want {
				if !strings.Contains(ev.Registration.Err, w) {
					t.Errorf("%s: registration error %q lacks %q", tc.name, ev.Registration.Err, w)
				}
			}
			if b := k.Bindings(t, "mallory"); len(b) != 0 {
				t.Errorf("%s: kamailio holds a binding for mallory: %v", tc.name, b)
			}
		})
	}
}
