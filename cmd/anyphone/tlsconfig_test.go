package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate as PEM and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSConfigWithoutCertificate: transport tls needs no client
// certificate; the CA and server name reach the phone's TLS config; a sips:
// registrar implies tls.
func TestTLSConfigWithoutCertificate(t *testing.T) {
	clearConfigEnv(t)
	ca := writeCA(t)
	for _, tc := range []struct {
		name, text string
		insecure   bool
	}{
		{"tls", "[sip]\ntransport = \"tls\"\ntls_ca = \"" + ca + "\"\ntls_server_name = \"pbx.example.org\"\n", false},
		{"sips registrar", "[sip]\ntls_ca = \"" + ca + "\"\ntls_server_name = \"pbx.example.org\"\n[account]\naor = \"sips:a@example.org\"\nregistrar = \"sips:127.0.0.1:5061\"\n", false},
		{"insecure", "[sip]\ntransport = \"tls\"\ntls_insecure_skip_verify = true\ntls_server_name = \"pbx.example.org\"\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(writeConfig(t, tc.text), true)
			if err != nil {
				t.Fatalf("%s: LoadConfig: %v", tc.name, err)
			}
			pc, err := c.PhoneConfig()
			if err != nil {
				t.Fatalf("%s: PhoneConfig: %v", tc.name, err)
			}
			if pc.Transport != "tls" || pc.TLS == nil {
				t.Fatalf("%s: transport %q, TLS %v; want tls with a config", tc.name, pc.Transport, pc.TLS)
			}
			if len(pc.TLS.Certificates) != 0 || pc.TLS.ServerName != "pbx.example.org" || pc.TLS.InsecureSkipVerify != tc.insecure {
				t.Errorf("%s: TLS config %+v", tc.name, pc.TLS)
			}
			if !tc.insecure && pc.TLS.RootCAs == nil {
				t.Errorf("%s: tls_ca did not reach RootCAs", tc.name)
			}
			if err := pc.Validate(); err != nil {
				t.Errorf("%s: phone rejects the config: %v", tc.name, err)
			}
		})
	}
}

// TestTLSConfigCAWithoutPEM: a tls_ca that holds no certificate is named.
func TestTLSConfigCAWithoutPEM(t *testing.T) {
	clearConfigEnv(t)
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(writeConfig(t, "[sip]\ntransport = \"tls\"\ntls_ca = \""+bad+"\"\n"), true)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "sip.tls_ca" || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("tls_ca without PEM: %v", err)
	}
}
