package transport

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// ALPN is the application protocol an SMP client offers (SMP-TLS-2). A relay
// that negotiates no ALPN offers only version 6.
const ALPN = "smp/1"

// Credentials are a relay's certificates: an offline identity CA, whose
// fingerprint is the relay identity in its address, and the online TLS
// certificate it signs. Only the online key is needed to run the relay.
type Credentials struct {
	CA      *x509.Certificate
	CAKey   crypto.Signer // nil when loaded without the CA key
	Cert    *x509.Certificate
	CertKey crypto.Signer
}

// caValidity is how long generated certificates are valid; the identity CA
// must outlive every address ever printed for the relay.
const caValidity = 100 * 365 * 24 * time.Hour

// GenerateCredentials makes an Ed25519 identity CA and an Ed25519 online
// certificate for host (a DNS name or IP literal) signed by it.
func GenerateCredentials(host string, rand io.Reader) (*Credentials, error) {
	caPub, caKey, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(rand),
		Subject:               pkix.Name{CommonName: "SMP server CA", Organization: []string{"smpkit"}},
		NotBefore:             now,
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand, caTmpl, caTmpl, caPub, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	creds := &Credentials{CA: ca, CAKey: caKey}
	if err := creds.Rotate(host, rand); err != nil {
		return nil, err
	}
	return creds, nil
}

func serial(rand io.Reader) *big.Int {
	n, err := randInt(rand)
	if err != nil {
		return big.NewInt(1)
	}
	return n
}

func randInt(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// Rotate replaces the online certificate with a new key signed by the CA.
// The relay identity (the CA fingerprint) does not change.
func (c *Credentials) Rotate(host string, rand io.Reader) error {
	if c.CAKey == nil {
		return errors.New("rotate online certificate: the CA private key is not loaded")
	}
	pub, key, err := ed25519.GenerateKey(rand)
	if err != nil {
		return fmt.Errorf("generate online key: %w", err)
	}
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: serial(rand),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now,
		NotAfter:     now.Add(caValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand, tmpl, c.CA, pub, c.CAKey)
	if err != nil {
		return fmt.Errorf("create online certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	c.Cert, c.CertKey = cert, key
	return nil
}

// Identity is the relay identity: SHA-256 of the DER of the CA certificate
// (the second certificate of the chain the relay sends, SMP-TLS-3).
func (c *Credentials) Identity() []byte {
	h := sha256.Sum256(c.CA.Raw)
	return h[:]
}

// Chain is the DER chain the relay sends: online certificate, then CA.
func (c *Credentials) Chain() [][]byte { return [][]byte{c.Cert.Raw, c.CA.Raw} }

// TLSCertificate is the chain and online key in crypto/tls form.
func (c *Credentials) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: c.Chain(), PrivateKey: c.CertKey, Leaf: c.Cert}
}

// File names inside a relay's configuration directory.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// Save writes the certificates and keys as PEM into dir. Keys are 0600. The
// CA key is written only if present; an operator should move it offline.
func (c *Credentials) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	write := func(name, typ string, der []byte, mode os.FileMode) error {
		b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		return os.WriteFile(filepath.Join(dir, name), b, mode)
	}
	if err := write(CACertFile, "CERTIFICATE", c.CA.Raw, 0o644); err != nil {
		return err
	}
	if err := write(ServerCertFile, "CERTIFICATE", c.Cert.Raw, 0o644); err != nil {
		return err
	}
	keys := []struct {
		name string
		key  crypto.Signer
	}{{ServerKeyFile, c.CertKey}, {CAKeyFile, c.CAKey}}
	for _, k := range keys {
		if k.key == nil {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return fmt.Errorf("encode %s: %w", k.name, err)
		}
		if err := write(k.name, "PRIVATE KEY", der, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// LoadCredentials reads credentials written by Save. The CA key is optional.
func LoadCredentials(dir string) (*Credentials, error) {
	readPEM := func(name, typ string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != typ {
			return nil, fmt.Errorf("%s: no PEM %s block", name, typ)
		}
		return blk.Bytes, nil
	}
	cert := func(name string) (*x509.Certificate, error) {
		der, err := readPEM(name, "CERTIFICATE")
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	key := func(name string) (crypto.Signer, error) {
		der, err := readPEM(name, "PRIVATE KEY")
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: not a signing key", name)
		}
		return s, nil
	}
	var c Credentials
	var err error
	if c.CA, err = cert(CACertFile); err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	if c.Cert, err = cert(ServerCertFile); err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	if c.CertKey, err = key(ServerKeyFile); err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, CAKeyFile)); statErr == nil {
		if c.CAKey, err = key(CAKeyFile); err != nil {
			return nil, fmt.Errorf("load credentials: %w", err)
		}
	}
	if err := c.Cert.CheckSignatureFrom(c.CA); err != nil {
		return nil, fmt.Errorf("load credentials: %s is not signed by %s: %w", ServerCertFile, CACertFile, err)
	}
	return &c, nil
}

// ServerTLSConfig is the relay's TLS configuration: TLS 1.2 and 1.3, ALPN
// smp/1 (a client offering no ALPN still connects and gets version 6 only),
// a client certificate requested but not required (services send one), no
// session resumption.
func ServerTLSConfig(c *Credentials) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.TLSCertificate()},
		MinVersion:   tls.VersionTLS12,
		// Clients may offer h2 or http/1.1 to look like HTTPS; SMP is spoken
		// all the same and any negotiated protocol offers the full range.
		NextProtos:             []string{ALPN, "h2", "http/1.1"},
		ClientAuth:             tls.RequestClientCert,
		SessionTicketsDisabled: true,
		CipherSuites:           []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		CurvePreferences:       []tls.CurveID{tls.X25519},
	}
}

// Identity check errors, matched with errors.Is.
var (
	ErrChainLength = errors.New("transport: relay certificate chain must have 2 to 4 certificates")
	ErrIdentity    = errors.New("transport: relay identity does not match the address")
	ErrChain       = errors.New("transport: relay certificate chain does not verify")
)

// IdentityCert returns the certificate whose fingerprint is the relay
// identity: the second of the chain (SMP-TLS-3).
func IdentityCert(chain [][]byte) ([]byte, error) {
	if len(chain) < 2 || len(chain) > 4 {
		return nil, fmt.Errorf("%w: got %d", ErrChainLength, len(chain))
	}
	return chain[1], nil
}

// VerifyChain checks a relay's chain against the identity from its address:
// 2 to 4 certificates, SHA-256 of the second equal to keyHash, and each
// certificate signed by the next up to the last (the CA, signed by itself or
// trusted as given). Host names are not checked: the identity is the trust.
func VerifyChain(chain [][]byte, keyHash []byte) error {
	idDER, err := IdentityCert(chain)
	if err != nil {
		return err
	}
	fp := sha256.Sum256(idDER)
	if !bytes.Equal(fp[:], keyHash) {
		return fmt.Errorf("%w: second certificate has fingerprint %x", ErrIdentity, fp)
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return fmt.Errorf("%w: certificate %d: %v", ErrChain, i, err)
		}
	}
	// The CA of a 2-chain is the identity itself; of a 3- or 4-chain, the last.
	roots := x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	inter := x509.NewCertPool()
	for _, c := range certs[1 : len(certs)-1] {
		inter.AddCert(c)
	}
	_, err = certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrChain, err)
	}
	return nil
}

// ClientTLSConfig is an SMP client's TLS configuration for a relay with the
// given identity: no SNI, ALPN smp/1 (unless noALPN), and the relay chain
// checked by VerifyChain instead of web PKI. cert, if not nil, is a service
// certificate sent when the relay asks for one.
func ClientTLSConfig(keyHash []byte, noALPN bool, cert *tls.Certificate) *tls.Config {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				chain[i] = c.Raw
			}
			return VerifyChain(chain, keyHash)
		},
		CipherSuites:       []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		ClientSessionCache: nil,
	}
	if !noALPN {
		cfg.NextProtos = []string{ALPN}
	}
	if cert != nil {
		c := *cert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}
