package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// HandshakeError is a failed SMP handshake (spec/smp.md §5.7). Kind is the
// transport error as spelled on the wire: VERSION, SESSION, BLOCK,
// "HANDSHAKE PARSE", "HANDSHAKE IDENTITY", "HANDSHAKE BAD_AUTH",
// "HANDSHAKE BAD_SERVICE". Callers branch with errors.Is against the Err*
// values below.
type HandshakeError struct {
	Kind string
	Err  error
}

func (e *HandshakeError) Error() string {
	if e.Err == nil {
		return "smp handshake: " + e.Kind
	}
	return fmt.Sprintf("smp handshake: %s: %v", e.Kind, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// Is matches another *HandshakeError of the same kind.
func (e *HandshakeError) Is(target error) bool {
	t, ok := target.(*HandshakeError)
	return ok && t.Err == nil && t.Kind == e.Kind
}

// Handshake error kinds, for errors.Is.
var (
	ErrVersion    = &HandshakeError{Kind: "VERSION"}
	ErrSession    = &HandshakeError{Kind: "SESSION"}
	ErrParse      = &HandshakeError{Kind: "HANDSHAKE PARSE"}
	ErrBadAuth    = &HandshakeError{Kind: "HANDSHAKE BAD_AUTH"}
	ErrIdentityHS = &HandshakeError{Kind: "HANDSHAKE IDENTITY"}
	ErrBadService = &HandshakeError{Kind: "HANDSHAKE BAD_SERVICE"}
)

func hsErr(kind *HandshakeError, format string, args ...any) error {
	return &HandshakeError{Kind: kind.Kind, Err: fmt.Errorf(format, args...)}
}

// Default handshake time limits (SMP-HS-10).
const (
	DefaultTLSTimeout       = 60 * time.Second
	DefaultHandshakeTimeout = 120 * time.Second
)

// ServerConfig is the relay side of the SMP handshake.
type ServerConfig struct {
	Credentials *Credentials
	// Versions is the range offered when ALPN was negotiated (default: all
	// versions this package speaks). Without ALPN the relay offers 6..6.
	Versions smp.VersionRange
	// Service registers a service client (v ≥ 16) whose chain verified and
	// returns its id. nil rejects every service with HANDSHAKE BAD_SERVICE.
	Service func(role smp.ServiceRole, chain [][]byte, fingerprint []byte) ([]byte, error)
	// Rand is the randomness for the per-session key (default crypto/rand).
	Rand io.Reader
	// TestHello, if set, may change the encoded server hello before it is
	// padded and sent: a hook point for the conformance suite's mutant
	// relays (test code only; nil in every real configuration).
	TestHello func(hello []byte) []byte
	// TestSession, if set, may change the agreed session parameters before
	// block encryption starts, and TestClientHello the client hello before
	// it is parsed: the same kind of hook points.
	TestSession     func(*Session)
	TestClientHello func(hello []byte) []byte
	// TestServiceReply, if set, may change the encoded service reply
	// (SMP-HS-4) before it is sent; nil from it sends none. The same kind
	// of hook point, nil in every real configuration.
	TestServiceReply func(reply []byte) []byte
}

// ServerHandshake runs the SMP handshake on a TLS connection whose TLS
// handshake is complete. ctx bounds the whole exchange. On failure the
// connection is left open for the caller to close; nothing is sent to the
// client except, for services, the error reply SMP-HS-4 requires.
func ServerHandshake(ctx context.Context, c *TLSConn, cfg ServerConfig) (*Session, error) {
	if c.SessionID() == nil {
		return nil, errors.New("smp handshake: TLS handshake not done")
	}
	defer watch(ctx, c)()
	offered := cfg.Versions
	if offered == (smp.VersionRange{}) {
		offered = smp.SupportedRange
	}
	if c.ConnectionState().NegotiatedProtocol == "" {
		offered = smp.LegacyRange
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	priv, err := smpcrypto.GenerateKey(smpcrypto.X25519, rnd)
	if err != nil {
		return nil, err
	}
	signer, err := leafSigner(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	signed, err := smpcrypto.SignKey(signer, priv.Public())
	if err != nil {
		return nil, fmt.Errorf("smp handshake: sign session key: %w", err)
	}
	s := &Session{conn: c, SessionID: c.SessionID(), Offered: offered, serverPriv: priv}
	hello := smp.ServerHello{
		Versions:  offered,
		SessionID: s.SessionID,
		Key:       &smp.CertKey{Chain: cfg.Credentials.Chain(), SignedKey: signed},
	}
	hb, err := smp.EncodeServerHello(hello)
	if err == nil && cfg.TestHello != nil {
		hb = cfg.TestHello(hb)
	}
	if err := s.writeHello(hb, err); err != nil {
		return nil, err
	}
	b, err := s.ReadBlock()
	if err != nil {
		return nil, readErr(err)
	}
	if cfg.TestClientHello != nil {
		b = cfg.TestClientHello(b)
	}
	ch, err := smp.ParseClientHello(b)
	if err != nil {
		return nil, hsErr(ErrParse, "%v", err)
	}
	if !bytes.Equal(ch.KeyHash, cfg.Credentials.Identity()) {
		return nil, hsErr(ErrIdentityHS, "client wants relay %x", ch.KeyHash)
	}
	if !offered.Contains(ch.Version) {
		return nil, hsErr(ErrVersion, "client proposed v%d, offered %v", ch.Version, offered)
	}
	s.Version = ch.Version
	s.ProxyClient = ch.ProxyServer
	if ch.DHKey != nil {
		s.ClientKey = *ch.DHKey
		if s.Secret, err = priv.DH(*ch.DHKey); err != nil {
			return nil, hsErr(ErrParse, "client key: %v", err)
		}
	}
	if ch.Service != nil {
		if err := s.acceptService(ch.Service, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.TestSession != nil {
		cfg.TestSession(s)
	}
	s.startEncryption(false)
	return s, nil
}

// acceptService checks a service announced in the client hello against the
// client's TLS chain and sends the service reply (SMP-HS-4, §11.2).
func (s *Session) acceptService(hs *smp.HelloService, cfg ServerConfig) error {
	send := func(reply []byte) error {
		if cfg.TestServiceReply != nil {
			if reply = cfg.TestServiceReply(reply); reply == nil {
				return nil
			}
		}
		return s.WriteBlock(reply)
	}
	fail := func(kind *HandshakeError, format string, args ...any) error {
		if b, err := smp.EncodeServiceReply(smp.ServiceReply{Err: kind.Kind}); err == nil {
			send(b)
		}
		return hsErr(kind, format, args...)
	}
	peer := s.conn.ConnectionState().PeerCertificates
	if len(peer) != len(hs.Key.Chain) {
		return fail(ErrBadAuth, "service chain differs from the TLS chain")
	}
	for i, c := range peer {
		if !bytes.Equal(c.Raw, hs.Key.Chain[i]) {
			return fail(ErrBadAuth, "service chain differs from the TLS chain")
		}
	}
	if len(peer) == 0 || len(peer) > 4 {
		return fail(ErrBadAuth, "service chain of %d certificates", len(peer))
	}
	// A chain of one is self-signed: the leaf is its own identity. Longer
	// chains name the identity in their second certificate.
	id := peer[0]
	if len(peer) > 1 {
		id = peer[1]
	}
	leafKey, ok := peer[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return fail(ErrBadAuth, "service leaf key is %T", peer[0].PublicKey)
	}
	sk, err := smpcrypto.ParseSignedKey(hs.Key.SignedKey)
	if err != nil {
		return fail(ErrBadAuth, "service key: %v", err)
	}
	pub, _ := smpcrypto.NewPublicKey(smpcrypto.Ed25519, leafKey)
	if err := sk.Verify(pub); err != nil || sk.Key.Alg != smpcrypto.Ed25519 {
		return fail(ErrBadAuth, "service key signature")
	}
	fp := sha256.Sum256(id.Raw)
	if cfg.Service == nil {
		return fail(ErrBadService, "relay does not accept services")
	}
	chain := make([][]byte, len(peer))
	for i, c := range peer {
		chain[i] = c.Raw
	}
	sid, err := cfg.Service(hs.Role, chain, fp[:])
	if err != nil {
		return fail(ErrBadService, "%v", err)
	}
	reply, err := smp.EncodeServiceReply(smp.ServiceReply{ServiceID: sid})
	if err != nil {
		return err
	}
	if err := send(reply); err != nil {
		return err
	}
	// hs aliases the read buffer, which the next block reuses.
	svc := &smp.HelloService{Role: hs.Role, Key: smp.CertKey{Chain: chain, SignedKey: bytes.Clone(hs.Key.SignedKey)}}
	s.Service = svc
	s.ServiceID = sid
	return nil
}

// ClientConfig is the client side of the SMP handshake.
type ClientConfig struct {
	// KeyHash is the relay identity from its address.
	KeyHash []byte
	// Versions is the range the client speaks (default: all).
	Versions smp.VersionRange
	// ProxyServer marks the client as a relay acting as a sending proxy.
	ProxyServer bool
	// NoDHKey leaves the X25519 key out of the client hello (v ≥ 7); without
	// it there is no block encryption and no X25519 authenticator.
	NoDHKey bool
	// Service makes the client a service (v ≥ 16, §11.2). Its chain must be
	// the one the client presented in TLS.
	Service *ServiceCredentials
	// Rand is the randomness for the per-session key (default crypto/rand).
	Rand io.Reader
	// TestHello, if set, may change the encoded server hello before it is
	// padded and sent: a hook point for the conformance suite's mutant
	// relays (test code only; nil in every real configuration).
	TestHello func(hello []byte) []byte
	// TestSession, if set, may change the agreed session parameters before
	// block encryption starts, and TestClientHello the client hello before
	// it is parsed: the same kind of hook points.
	TestSession     func(*Session)
	TestClientHello func(hello []byte) []byte
	// TestServiceReply, if set, may change the encoded service reply
	// (SMP-HS-4) before it is sent; nil from it sends none. The same kind
	// of hook point, nil in every real configuration.
	TestServiceReply func(reply []byte) []byte
}

// ClientHandshake runs the SMP handshake as a client on a TLS connection
// whose TLS handshake is complete. On failure nothing has been sent.
func ClientHandshake(ctx context.Context, c *TLSConn, cfg ClientConfig) (*Session, error) {
	if c.SessionID() == nil {
		return nil, errors.New("smp handshake: TLS handshake not done")
	}
	defer watch(ctx, c)()
	want := cfg.Versions
	if want == (smp.VersionRange{}) {
		want = smp.SupportedRange
	}
	s := &Session{conn: c, SessionID: c.SessionID()}
	b, err := s.ReadBlock()
	if err != nil {
		return nil, readErr(err)
	}
	sh, err := smp.ParseServerHello(b)
	if err != nil {
		return nil, hsErr(ErrParse, "%v", err)
	}
	s.Offered = sh.Versions
	if !bytes.Equal(sh.SessionID, s.SessionID) {
		return nil, hsErr(ErrSession, "server hello has session id %x, TLS gives %x", sh.SessionID, s.SessionID)
	}
	// A proxy talking to a relay without the proxy flag in its hello (max
	// below 14) stays at version 10 or lower, where blocks are not
	// encrypted and message sizes match older clients (SMP-PROXY-11).
	if cfg.ProxyServer && sh.Versions.Max < smp.VersionProxyServerHello {
		want.Max = max(want.Min, smp.VersionDeletedEvent)
	}
	agreed, ok := sh.Versions.Intersect(want)
	if !ok {
		return nil, hsErr(ErrVersion, "relay offers %v, client speaks %v", sh.Versions, want)
	}
	if sh.Key != nil {
		if err := s.checkServerKey(sh.Key, cfg.KeyHash); err != nil {
			return nil, err
		}
	}
	ch := smp.ClientHello{Version: agreed.Max, KeyHash: cfg.KeyHash}
	var priv smpcrypto.PrivateKey
	if ch.Version >= smp.VersionAuthCmds && !cfg.NoDHKey {
		rnd := cfg.Rand
		if rnd == nil {
			rnd = rand.Reader
		}
		if priv, err = smpcrypto.GenerateKey(smpcrypto.X25519, rnd); err != nil {
			return nil, err
		}
		pub := priv.Public()
		ch.DHKey = &pub
		s.ClientKey = pub
	}
	if ch.Version >= smp.VersionProxyServerHello {
		ch.ProxyServer = cfg.ProxyServer
	}
	var svcKey smpcrypto.PrivateKey
	if cfg.Service != nil && ch.Version >= smp.VersionServiceCerts {
		// SMP-SVC-1: a fresh Ed25519 session key signed by the TLS leaf.
		rnd := cfg.Rand
		if rnd == nil {
			rnd = rand.Reader
		}
		if svcKey, err = smpcrypto.GenerateKey(smpcrypto.Ed25519, rnd); err != nil {
			return nil, err
		}
		signed, err := smpcrypto.SignKey(cfg.Service.Leaf, svcKey.Public())
		if err != nil {
			return nil, err
		}
		ch.Service = &smp.HelloService{Role: cfg.Service.Role, Key: smp.CertKey{Chain: cfg.Service.Chain, SignedKey: signed}}
	}
	s.ProxyClient = ch.ProxyServer
	s.Version = ch.Version
	if err := s.writeHello(smp.EncodeClientHello(ch)); err != nil {
		return nil, err
	}
	if ch.DHKey != nil && !s.ServerKey.IsZero() {
		if s.Secret, err = priv.DH(s.ServerKey); err != nil {
			return nil, hsErr(ErrBadAuth, "relay key: %v", err)
		}
	}
	if ch.Service != nil {
		// SMP-HS-4: the relay answers a service with a third block.
		b, err := s.ReadBlock()
		if err != nil {
			return nil, readErr(err)
		}
		r, err := smp.ParseServiceReply(b)
		if err != nil {
			return nil, hsErr(ErrParse, "service reply: %v", err)
		}
		if r.Err != "" {
			return nil, &HandshakeError{Kind: r.Err, Err: errors.New("relay refused the service")}
		}
		s.Service, s.ServiceID, s.ServiceKey = ch.Service, bytes.Clone(r.ServiceID), svcKey
		s.ServiceFingerprint = cfg.Service.Fingerprint()
	}
	s.startEncryption(true)
	return s, nil
}

// ServiceCredentials identify a service client (§11.2): its role, its TLS
// chain (leaf first, 1 to 4 certificates) and the leaf's Ed25519 key.
type ServiceCredentials struct {
	Role  smp.ServiceRole
	Chain [][]byte
	Leaf  smpcrypto.PrivateKey
}

// Fingerprint is the SHA-256 of the service identity certificate: the
// only certificate of a 1-chain, else the second (SMP-SVC-2).
func (c *ServiceCredentials) Fingerprint() []byte {
	id := c.Chain[0]
	if len(c.Chain) > 1 {
		id = c.Chain[1]
	}
	fp := sha256.Sum256(id)
	return fp[:]
}

// checkServerKey verifies the relay's chain and signed session key from its
// hello (SMP-HS-8): 2 to 4 certificates, the identity matching the address,
// and the key signed by the TLS leaf.
func (s *Session) checkServerKey(ck *smp.CertKey, keyHash []byte) error {
	if n := len(ck.Chain); n < 2 || n > 4 {
		return hsErr(ErrBadAuth, "hello chain has %d certificates", n)
	}
	if fp := sha256.Sum256(ck.Chain[1]); !bytes.Equal(fp[:], keyHash) {
		return hsErr(ErrBadAuth, "hello chain identity %x, address has %x", fp, keyHash)
	}
	peer := s.conn.ConnectionState().PeerCertificates
	if len(peer) == 0 {
		return hsErr(ErrBadAuth, "no TLS certificate")
	}
	leaf, err := leafKey(peer[0])
	if err != nil {
		return hsErr(ErrBadAuth, "%v", err)
	}
	sk, err := smpcrypto.ParseSignedKey(ck.SignedKey)
	if err != nil {
		return hsErr(ErrBadAuth, "signed key: %v", err)
	}
	if err := sk.Verify(leaf); err != nil {
		return hsErr(ErrBadAuth, "signed key: %v", err)
	}
	if sk.Key.Alg != smpcrypto.X25519 {
		return hsErr(ErrBadAuth, "session key is %v, want x25519", sk.Key.Alg)
	}
	// The hello aliases the read buffer, which the next block reuses.
	s.ServerKey = sk.Key
	s.ServerChain = make([][]byte, len(ck.Chain))
	for i, c := range ck.Chain {
		s.ServerChain[i] = bytes.Clone(c)
	}
	s.ServerSignedKey = bytes.Clone(ck.SignedKey)
	return nil
}

// startEncryption switches block encryption on when SMP-CHAIN-4 holds: the
// relay sends with ck1, the client with ck2.
func (s *Session) startEncryption(client bool) {
	if s.Version < smp.VersionEncryptedBlock || s.ProxyClient || s.Secret == nil {
		return
	}
	ck1, ck2 := smpcrypto.ChainInit(s.SessionID, s.Secret)
	if client {
		ck1, ck2 = ck2, ck1
	}
	s.snd, s.rcv = &ck1, &ck2
}

func (s *Session) writeHello(b []byte, err error) error {
	if err != nil {
		return err
	}
	return s.WriteBlock(b)
}

// readErr classifies a failed handshake block read.
func readErr(err error) error {
	if errors.Is(err, ErrBlock) {
		return hsErr(ErrParse, "%v", err)
	}
	return fmt.Errorf("smp handshake: %w", err)
}

// watch applies ctx's deadline and cancellation to the connection for the
// duration of a handshake; the returned func clears them.
func watch(ctx context.Context, c *TLSConn) func() {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.SetDeadline(time.Time{})
	}
}

// leafSigner returns the relay's TLS leaf key as a signing key.
func leafSigner(c *Credentials) (smpcrypto.PrivateKey, error) {
	k, ok := c.CertKey.(ed25519.PrivateKey)
	if !ok {
		return smpcrypto.PrivateKey{}, fmt.Errorf("smp handshake: leaf key is %T, want Ed25519", c.CertKey)
	}
	return smpcrypto.NewPrivateKey(smpcrypto.Ed25519, k.Seed())
}

// leafKey returns a certificate's public key as a verification key. Go's
// x509 does not parse Ed448 certificates, so relays with Ed448 leaves are
// out of reach of this client (see the package notes).
func leafKey(cert *x509.Certificate) (smpcrypto.PublicKey, error) {
	k, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return smpcrypto.PublicKey{}, fmt.Errorf("leaf key is %T, want Ed25519", cert.PublicKey)
	}
	return smpcrypto.NewPublicKey(smpcrypto.Ed25519, k)
}

// VerifyCertKey checks a relay's certificate chain and signed session key
// received outside its own handshake, as in PKEY (SMP-PROXY-3): the chain as
// in TLS (VerifyChain) and the key signed by the chain's leaf, X25519. It
// returns the session key.
func VerifyCertKey(ck smp.CertKey, keyHash []byte) (smpcrypto.PublicKey, error) {
	if err := VerifyChain(ck.Chain, keyHash); err != nil {
		return smpcrypto.PublicKey{}, err
	}
	leafCert, err := x509.ParseCertificate(ck.Chain[0])
	if err != nil {
		return smpcrypto.PublicKey{}, fmt.Errorf("leaf certificate: %w", err)
	}
	leaf, err := leafKey(leafCert)
	if err != nil {
		return smpcrypto.PublicKey{}, err
	}
	sk, err := smpcrypto.ParseSignedKey(ck.SignedKey)
	if err != nil {
		return smpcrypto.PublicKey{}, err
	}
	if err := sk.Verify(leaf); err != nil {
		return smpcrypto.PublicKey{}, err
	}
	if sk.Key.Alg != smpcrypto.X25519 {
		return smpcrypto.PublicKey{}, fmt.Errorf("session key is %v, want x25519", sk.Key.Alg)
	}
	return sk.Key, nil
}
