package phone

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// SIP over TLS (RFC 3261 §26.2, RFC 5630).
//
// Two roles, decided by the configuration:
//
//   - Client-only TLS (no certificate configured, the usual softphone): we
//     dial the registrar or proxy over TLS and verify its certificate
//     against Config.TLS.RootCAs (nil: the system roots) and its host name
//     (ServerName, or the host we dial when it is empty: sipgo's
//     TransportTLS.init fills it per connection). We open no TLS listener:
//     one without a certificate could complete no handshake, so it would
//     only advertise a port nobody can reach. Requests to us (incoming
//     calls, in-dialog requests) arrive over the connection we opened to
//     the registrar, which keeps it open with REGISTER refreshes; the
//     registrar must send over it (kamailio: fix_nated_register or
//     RFC 5626 outbound), as every TLS softphone behind NAT requires.
//     A peer that dials us directly reaches us the same way: our TLS
//     transport sets diago's RewriteContact, so a dialog without a route
//     set sends its in-dialog requests (hold, BYE) to the source of the
//     dialog's INVITE or 2xx, i.e. over the connection it came on
//     (connection reuse, RFC 5923 in spirit), not to a Contact where
//     nobody listens.
//   - Server TLS (a certificate in Config.TLS.Certificates or
//     GetCertificate): we also listen for TLS on Config.Listen, with that
//     certificate, and present it as a client certificate when a peer
//     asks for one (mutual TLS).
//
// sipgo v1.7.2 takes one *tls.Config for both: WithUserAgenTLSConfig for the
// connections it dials, and diago.Transport.TLSConf for ListenAndServeTLS;
// we pass the same value to both.

// tlsClientOnly reports whether the phone uses TLS without a certificate of
// its own, so it dials TLS but does not listen for it.
func (c *Config) tlsClientOnly() bool {
	if !strings.EqualFold(c.Transport, "tls") {
		return false
	}
	return c.TLS == nil || (len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil)
}

// TLSClientOnly reports whether the phone dials TLS without listening for
// it (transport tls without a certificate of its own).
func (p *Phone) TLSClientOnly() bool { return p.cfg.tlsClientOnly() }

// Transport is the SIP transport the phone uses: udp, tcp or tls.
func (p *Phone) Transport() string { return p.cfg.Transport }

// TLSInsecure reports whether server certificates go unverified
// (InsecureSkipVerify): a configuration for a lab, never for production.
func (p *Phone) TLSInsecure() bool {
	return p.cfg.Transport == "tls" && p.cfg.TLS != nil && p.cfg.TLS.InsecureSkipVerify
}

// defaultTLS is the configuration of transport tls when none is given:
// system roots, host names checked, TLS 1.2 or newer.
func defaultTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// impliedTransport is the transport a phone without one uses: tls when the
// account registers at a sips: registrar (RFC 3261 §26.2.1), else udp.
func impliedTransport(a *Account) string {
	if a != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Registrar)), "sips:") {
		return "tls"
	}
	return "udp"
}

// ErrNeedsTLS is returned when a sips: URI is dialled by a phone whose
// transport is not tls.
var ErrNeedsTLS = errors.New("phone: a sips: URI needs transport tls")

// checkScheme refuses a sips: target on a phone without TLS: RFC 3261
// §26.2.2 requires TLS on every hop, and falling back to plain SIP would
// be a silent downgrade.
func (p *Phone) checkScheme(u sip.Uri) error {
	if u.IsEncrypted() && p.cfg.Transport != "tls" {
		return fmt.Errorf("%w (this phone uses %s; set [sip] transport = \"tls\")", ErrNeedsTLS, p.cfg.Transport)
	}
	return nil
}

// withTransport adds transport tls to a registrar URI that names no
// transport, so the REGISTER goes over TLS like everything else: sipgo picks
// the transport of a request from its URI, UDP by default, and keeps UDP
// even for a sips: URI. (TCP is left as it was; out of this change's scope.)
func withTransport(u sip.Uri, transport string) sip.Uri {
	if transport != "tls" {
		return u
	}
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			return u
		}
	}
	v := *u.Clone()
	if v.UriParams == nil {
		v.UriParams = sip.NewParams()
	}
	v.UriParams.Add("transport", transport)
	return v
}

// TLSVerifyError says that a TLS peer's certificate failed verification:
// an unknown authority (wrong or missing tls_ca), a host name the
// certificate does not name (tls_server_name), or an expired certificate.
type TLSVerifyError struct {
	// Host is the name the certificate was checked against, if known.
	Host string
	Err  error
}

func (e *TLSVerifyError) Error() string {
	hint := "check [sip] tls_ca"
	var he x509.HostnameError
	if errors.As(e.Err, &he) {
		hint = "check the registrar/proxy host or [sip] tls_server_name"
	}
	return fmt.Sprintf("tls: server certificate verification failed (%s): %v", hint, innermostX509(e.Err))
}

func (e *TLSVerifyError) Unwrap() error { return e.Err }

// innermostX509 returns the x509 error inside err (what the user can act
// on), or err.
func innermostX509(err error) error {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return ua
	case errors.As(err, &he):
		return he
	case errors.As(err, &ci):
		return ci
	}
	return err
}

// tlsVerifyError wraps err in a *TLSVerifyError when a certificate check
// caused it, and returns err unchanged otherwise.
func tlsVerifyError(err error) error {
	if err == nil {
		return nil
	}
	var tv *TLSVerifyError
	if errors.As(err, &tv) {
		return err
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) {
		return &TLSVerifyError{Err: err}
	}
	return err
}
