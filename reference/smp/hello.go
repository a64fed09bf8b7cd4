package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Handshake messages (spec/smp.md §5). Each travels alone in a padded,
// unencrypted 16384-byte block (SMP-HS-9). Parsers ignore bytes after the
// fields of the hello's version so that later versions can extend them
// (SMP-HS-3).

// CertKey is a certificate chain (DER, leaf first) with a key signed by the
// leaf's private key (SMP-HS-6, SMP-SIGNED-1). The relay sends one in its
// hello; a service client sends one in its hello (v ≥ 16).
type CertKey struct {
	Chain     [][]byte
	SignedKey []byte // DER of the signed key object
}

func (ck CertKey) append(b *wire.Builder) {
	b.Count(len(ck.Chain), true)
	for _, c := range ck.Chain {
		b.Large(c)
	}
	b.Large(ck.SignedKey)
}

func parseCertKey(p *wire.Parser) CertKey {
	n := p.Count(true)
	var ck CertKey
	for i := 0; i < n && p.Err() == nil; i++ {
		ck.Chain = append(ck.Chain, p.Large())
	}
	ck.SignedKey = p.Large()
	if p.Err() != nil {
		return CertKey{}
	}
	return ck
}

// ServerHello is the relay's first block (SMP-HS-1).
type ServerHello struct {
	Versions  VersionRange
	SessionID []byte
	// Key is the certificate chain and signed per-session X25519 key. It is
	// written only when Versions.Max ≥ 7; nil means absent.
	Key *CertKey
}

// EncodeServerHello returns the hello bytes (not padded).
func EncodeServerHello(h ServerHello) ([]byte, error) {
	b := wire.NewBuilder(nil)
	h.Versions.Append(b)
	b.Short(h.SessionID)
	if h.Key != nil && h.Versions.Max >= VersionAuthCmds {
		h.Key.append(b)
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode server hello: %w", err)
	}
	return out, nil
}

// ParseServerHello reads a server hello. A key part that does not parse is
// treated as absent, as the field is optional; the caller decides whether a
// hello without a key is acceptable.
func ParseServerHello(data []byte) (ServerHello, error) {
	p := wire.NewParser(data)
	var h ServerHello
	h.Versions = ParseVersionRange(p)
	h.SessionID = p.Short()
	if err := p.Err(); err != nil {
		return ServerHello{}, fmt.Errorf("parse server hello: %w", err)
	}
	if h.Versions.Max >= VersionAuthCmds && !p.Empty() {
		// Try the optional part on a copy so a failure leaves nothing behind.
		q := *p
		ck := parseCertKey(&q)
		if q.Err() == nil {
			h.Key = &ck
		}
	}
	return h, nil
}

// ServiceRole is the role a service client claims in its hello (v ≥ 16).
type ServiceRole byte

const (
	RoleMessaging ServiceRole = 'M'
	RoleNotifier  ServiceRole = 'N'
	RoleProxy     ServiceRole = 'P'
)

func (r ServiceRole) valid() bool {
	return r == RoleMessaging || r == RoleNotifier || r == RoleProxy
}

// HelloService is the service part of a client hello (§11.2): the role and
// the service's TLS chain with its per-session Ed25519 key signed by the
// chain's leaf.
type HelloService struct {
	Role ServiceRole
	Key  CertKey
}

// ClientHello is the client's answer to the server hello (SMP-HS-2).
type ClientHello struct {
	Version Version // the version the client proposes; selects the layout
	KeyHash []byte  // identity of the relay the client means to reach
	// DHKey is the client's per-session X25519 key (v ≥ 7); nil when absent.
	DHKey       *smpcrypto.PublicKey
	ProxyServer bool          // v ≥ 14
	Service     *HelloService // v ≥ 16
}

// EncodeClientHello returns the hello bytes (not padded). Fields that do not
// exist at h.Version are not written; a DH key that is not X25519, or a
// service at a version without services, is an error rather than silently
// dropped.
func EncodeClientHello(h ClientHello) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Word16(uint16(h.Version))
	b.Short(h.KeyHash)
	if h.DHKey != nil {
		switch {
		case h.Version < VersionAuthCmds:
			return nil, fmt.Errorf("encode client hello: v%d has no DH key", h.Version)
		case h.DHKey.Alg != smpcrypto.X25519:
			return nil, fmt.Errorf("encode client hello: DH key is %v, want x25519", h.DHKey.Alg)
		}
		b.Short(h.DHKey.SPKI())
	}
	if h.Version >= VersionProxyServerHello {
		b.Bool(h.ProxyServer)
	} else if h.ProxyServer {
		return nil, fmt.Errorf("encode client hello: v%d has no proxy flag", h.Version)
	}
	if h.Version >= VersionServiceCerts {
		b.Maybe(h.Service != nil)
		if h.Service != nil {
			if !h.Service.Role.valid() {
				return nil, fmt.Errorf("encode client hello: service role %q", h.Service.Role)
			}
			b.Byte(byte(h.Service.Role))
			h.Service.Key.append(b)
		}
	} else if h.Service != nil {
		return nil, fmt.Errorf("encode client hello: v%d has no services", h.Version)
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode client hello: %w", err)
	}
	return out, nil
}

// ParseClientHello reads a client hello laid out for the version it names.
func ParseClientHello(data []byte) (ClientHello, error) {
	p := wire.NewParser(data)
	var h ClientHello
	h.Version = Version(p.Word16())
	h.KeyHash = p.Short()
	if h.Version >= VersionAuthCmds && p.Err() == nil {
		// The key is optional without a Maybe tag: try a short string holding
		// an X25519 SPKI and, if that fails, read on from the same place.
		q := *p
		if raw := q.Short(); q.Err() == nil {
			if k, err := smpcrypto.ParseSPKIAlg(raw, smpcrypto.X25519); err == nil {
				h.DHKey = &k
				*p = q
			}
		}
	}
	if h.Version >= VersionProxyServerHello {
		h.ProxyServer = p.Bool()
	}
	if h.Version >= VersionServiceCerts && p.Maybe() {
		var s HelloService
		s.Role = ServiceRole(p.Byte())
		if p.Err() == nil && !s.Role.valid() {
			p.Failf("service role 0x%02x", byte(s.Role))
		}
		s.Key = parseCertKey(p)
		h.Service = &s
	}
	if err := p.Err(); err != nil {
		return ClientHello{}, fmt.Errorf("parse client hello: %w", err)
	}
	return h, nil
}

// ServiceReply is the relay's third handshake block, sent only to a client
// whose hello carried a service (SMP-HS-4): either the service id or a
// transport error.
type ServiceReply struct {
	ServiceID []byte
	Err       string // transport error text, e.g. "HANDSHAKE BAD_AUTH"; "" on success
}

// Transport errors as they are spelled in a service reply (§8.1).
var transportErrors = map[string]bool{
	"BLOCK": true, "VERSION": true, "LARGE_MSG": true, "SESSION": true, "NO_AUTH": true,
	"HANDSHAKE PARSE": true, "HANDSHAKE IDENTITY": true, "HANDSHAKE BAD_AUTH": true,
	"HANDSHAKE BAD_SERVICE": true,
}

// EncodeServiceReply returns 'R' ‖ short(serviceId) or 'E' ‖ error text.
func EncodeServiceReply(r ServiceReply) ([]byte, error) {
	b := wire.NewBuilder(nil)
	if r.Err != "" {
		if !transportErrors[r.Err] {
			return nil, fmt.Errorf("encode service reply: unknown transport error %q", r.Err)
		}
		b.Byte('E')
		b.Raw([]byte(r.Err))
	} else {
		b.Byte('R')
		b.Short(r.ServiceID)
	}
	return b.Bytes()
}

// ParseServiceReply reads a service reply.
func ParseServiceReply(data []byte) (ServiceReply, error) {
	p := wire.NewParser(data)
	switch tag := p.Byte(); {
	case p.Err() != nil:
	case tag == 'R':
		id := p.Short()
		if p.Err() == nil {
			return ServiceReply{ServiceID: id}, nil
		}
	case tag == 'E':
		// The error is unframed text; the reference reads a word and, for
		// HANDSHAKE, one more word, ignoring anything after it.
		rest := p.Tail()
		for e := range transportErrors {
			if len(rest) >= len(e) && string(rest[:len(e)]) == e &&
				(len(rest) == len(e) || rest[len(e)] == ' ') {
				return ServiceReply{Err: e}, nil
			}
		}
		p.Failf("unknown transport error %q", clipText(rest, 40))
	default:
		p.Failf("service reply tag 0x%02x", tag)
	}
	return ServiceReply{}, fmt.Errorf("parse service reply: %w", p.Err())
}

func clipText(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
