package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"

	"github.com/anyphone/anyphone/phone"
)

// sipsURI reports whether u is a sips: URI (RFC 3261 §19.1: TLS on every
// hop).
func sipsURI(u string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(u)), "sips:")
}

// validateTLS checks the TLS keys of [sip]: a sips: registrar needs
// transport tls (or none, which then means tls); the CA, certificate and
// key files must be readable PEM. Errors name the key.
func (c *Config) validateTLS() error {
	s := c.SIP
	tr := strings.ToLower(s.Transport)
	if sipsURI(c.Account.Registrar) && tr != "" && tr != "tls" {
		return fieldErr("account.registrar", "%s is a sips: URI, which needs [sip] transport = \"tls\" (not %s)", c.Account.Registrar, tr)
	}
	if err := c.validateMWI(); err != nil {
		return err
	}
	if strings.ContainsAny(s.TLSServerName, " \t/:@") {
		return fieldErr("sip.tls_server_name", "%q is not a host name", s.TLSServerName)
	}
	if tr != "tls" && !(tr == "" && sipsURI(c.Account.Registrar)) {
		return nil // the files are read only for transport tls
	}
	if s.TLSCA != "" {
		if _, err := readCAFile("sip.tls_ca", s.TLSCA); err != nil {
			return err
		}
	}
	if s.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(expandHome(s.TLSCert), expandHome(s.TLSKey)); err != nil {
			return &FieldError{Field: "sip.tls_cert", Err: err}
		}
	}
	return nil
}

// readCAFile reads a PEM bundle of CA certificates; errors name key.
func readCAFile(key, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(expandHome(path))
	if err != nil {
		return nil, &FieldError{Field: key, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fieldErr(key, "%s holds no PEM certificate", path)
	}
	return pool, nil
}

// loadTLS builds the TLS configuration of transport tls: servers verified
// against tls_ca or the system roots and their host name (the host dialled,
// or tls_server_name), a client certificate only when tls_cert and tls_key
// are set, TLS 1.2 or newer.
func loadTLS(s SIPConfig) (*tls.Config, error) { return loadTLSKeys("sip.", s) }

// loadTLSKeys is loadTLS with errors naming prefix+key ("sip.tls_ca", or
// the controller file's "tls_ca").
func loadTLSKeys(prefix string, s SIPConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.TLSServerName}
	if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(expandHome(s.TLSCert), expandHome(s.TLSKey))
		if err != nil {
			return nil, &FieldError{Field: prefix + "tls_cert", Err: err}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if s.TLSCA != "" {
		pool, err := readCAFile(prefix+"tls_ca", s.TLSCA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	// A lab setting: the phone logs a warning and the TUI shows it.
	tc.InsecureSkipVerify = s.TLSInsecureSkipVerify
	return tc, nil
}

// validateMWI checks [sip] mwi and voicemail: the voicemail is a SIP URI;
// mwi needs it or an account to subscribe at.
func (c *Config) validateMWI() error {
	s := c.SIP
	if v := strings.TrimSpace(s.Voicemail); v != "" {
		if !strings.HasPrefix(v, "sip:") && !strings.HasPrefix(v, "sips:") || !strings.Contains(v, "@") {
			return fieldErr("sip.voicemail", "%q is not a SIP URI (sip:user@host)", s.Voicemail)
		}
		if pc := (phone.Config{Voicemail: v}); pc.Validate() != nil {
			return fieldErr("sip.voicemail", "%q is not a SIP URI", s.Voicemail)
		}
	}
	if s.MWI && strings.TrimSpace(s.Voicemail) == "" && c.Account.AOR == "" {
		return fieldErr("sip.mwi", "needs sip.voicemail or an [account] aor to subscribe at")
	}
	return nil
}
