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

// TestControllerTLSConfig: the controller file takes the same TLS keys as
// [sip]; a sips: registrar implies tls; a bad CA file is named.
func TestControllerTLSConfig(t *testing.T) {
	ca := writeCA(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	body := "tls_ca = \"" + ca + "\"\ntls_server_name = \"pbx.example.org\"\n" +
		"[account]\naor = \"sip:+4989100@pbx.example.org\"\nregistrar = \"sips:127.0.0.1:5061\"\n" +
		"[[users]]\nid = \"x\"\ntoken = \"t\"\nnumbers = [\"+4989100\"]\n"
	if err := os.WriteFile(good, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := loadControllerConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Phone.Transport != "tls" || cfg.Phone.TLS == nil || cfg.Phone.TLS.RootCAs == nil || cfg.Phone.TLS.ServerName != "pbx.example.org" || len(cfg.Phone.TLS.Certificates) != 0 {
		t.Errorf("controller TLS: transport %q, %+v", cfg.Phone.Transport, cfg.Phone.TLS)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("transport = \"tls\"\ntls_ca = \"/nonexistent/ca.pem\"\n[[users]]\nid = \"x\"\ntoken = \"t\"\nnumbers = [\"+4989100\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if _, _, err := loadControllerConfig(bad); !errors.As(err, &fe) || fe.Field != "tls_ca" {
		t.Errorf("controller tls_ca unreadable: %v", err)
	}
}
