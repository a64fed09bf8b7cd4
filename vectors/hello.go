package vectors

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// helloCase is one handshake block (spec/smp.md §5.3-5.5). Kind selects
// which fields apply.
type helloCase struct {
	Case
	Kind string `json:"kind"` // server | client | service_reply
	// server hello
	VersionMin int   `json:"version_min,omitempty"`
	VersionMax int   `json:"version_max,omitempty"`
	SessionID  Hex   `json:"session_id,omitempty"`
	CertChain  []Hex `json:"cert_chain,omitempty"`
	SignedKey  Hex   `json:"signed_key,omitempty"`
	// the relay's X25519 session key inside signed_key, and the seed of
	// the TLS leaf key that signed it
	SessionKey Hex `json:"session_key,omitempty"`
	LeafSeed   Hex `json:"leaf_seed,omitempty"`
	// client hello (version is Case.Version)
	KeyHash     Hex    `json:"key_hash,omitempty"`
	DHKey       Hex    `json:"dh_key,omitempty"` // SPKI of the client's X25519 key
	ProxyServer *bool  `json:"proxy_server,omitempty"`
	ServiceRole string `json:"service_role,omitempty"`
	// service reply
	ServiceID      Hex    `json:"service_id,omitempty"`
	TransportError string `json:"transport_error,omitempty"`
	// Bytes is the hello before padding; Block, where given, the padded
	// 16384-byte block that carries it.
	Bytes Hex `json:"bytes"`
	Block Hex `json:"block,omitempty"`
}

func init() {
	Register(Topic{Path: "smp/hello.json", Generate: genHello, Verify: verifyHello})
}

// fixedChain makes a deterministic 2-certificate relay chain (leaf, CA)
// from labelled seeds: Ed25519 signatures are deterministic, and serials and
// validity are fixed.
func fixedChain(label string) (chain [][]byte, leaf smpcrypto.PrivateKey, err error) {
	caSeed := RandBytes(label+" ca", ed25519.SeedSize)
	leafSeed := RandBytes(label+" leaf", ed25519.SeedSize)
	caKey := ed25519.NewKeyFromSeed(caSeed)
	leafKey := ed25519.NewKeyFromSeed(leafSeed)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smpkit vectors CA"},
		NotBefore: from, NotAfter: from.AddDate(100, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(Rand(label+" ca cert"), ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, leaf, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, leaf, err
	}
	lt := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: from, NotAfter: from.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(Rand(label+" leaf cert"), lt, caCert, leafKey.Public(), caKey)
	if err != nil {
		return nil, leaf, err
	}
	leaf, err = smpcrypto.NewPrivateKey(smpcrypto.Ed25519, leafSeed)
	return [][]byte{leafDER, caDER}, leaf, err
}

func genHello() (any, error) {
	f := File[helloCase]{
		Topic: "SMP handshake blocks: server hello, client hello, service reply",
		Description: "Valid cases: parse bytes to the fields (absent fields are absent), and encode the fields " +
			"to bytes. A server hello's signed_key must verify with the public key of leaf_seed and hold session_key. " +
			"Where block is given it is bytes padded to 16384 (SMP-HS-9). Invalid cases must fail to parse.",
		Spec: "spec/smp.md §5",
	}
	chain, leaf, err := fixedChain("hello relay")
	if err != nil {
		return nil, err
	}
	sessKey, err := smpcrypto.GenerateKey(smpcrypto.X25519, Rand("hello relay session key"))
	if err != nil {
		return nil, err
	}
	signed, err := smpcrypto.SignKey(leaf, sessKey.Public())
	if err != nil {
		return nil, err
	}
	keyHash := sha256.Sum256(chain[1])
	sessID := RandBytes("hello session id", 32)
	leafSeed := leaf.Raw

	add := func(c helloCase) error {
		b, err := encodeHello(c)
		if err != nil {
			return fmt.Errorf("%s: %w", c.ID, err)
		}
		c.Bytes = b
		f.Cases = append(f.Cases, c)
		return nil
	}
	withKey := func(id, spec string, min, max int, comment string) helloCase {
		return helloCase{Case: Case{ID: id, Spec: spec, Valid: true, Comment: comment}, Kind: "server",
			VersionMin: min, VersionMax: max, SessionID: sessID, CertChain: hexList(chain), SignedKey: signed,
			SessionKey: sessKey.Public().SPKI(), LeafSeed: leafSeed}
	}
	cases := []helloCase{
		{Case: Case{ID: "server-legacy-6", Spec: "SMP-HS-1", Valid: true, Comment: "range 6..6 (no ALPN): no key part"},
			Kind: "server", VersionMin: 6, VersionMax: 6, SessionID: sessID},
		withKey("server-6-18", "SMP-HS-1", 6, 18, "full range with chain and signed session key"),
		withKey("server-7-7", "SMP-HS-1", 7, 7, "the key part starts at max version 7"),
		{Case: Case{ID: "server-6-18-no-key", Spec: "SMP-HS-1", Valid: true, Comment: "max ≥ 7 but the key part is absent: still parses"},
			Kind: "server", VersionMin: 6, VersionMax: 18, SessionID: sessID},
	}
	clientKey, err := smpcrypto.GenerateKey(smpcrypto.X25519, Rand("hello client key"))
	if err != nil {
		return nil, err
	}
	ck := clientKey.Public().SPKI()
	t, fl := true, false
	cases = append(cases,
		helloCase{Case: Case{ID: "client-6", Spec: "SMP-HS-2", Valid: true, Version: 6}, Kind: "client", KeyHash: keyHash[:]},
		helloCase{Case: Case{ID: "client-7-key", Spec: "SMP-HS-2", Valid: true, Version: 7}, Kind: "client", KeyHash: keyHash[:], DHKey: ck},
		helloCase{Case: Case{ID: "client-7-no-key", Spec: "SMP-HS-2", Valid: true, Version: 7, Comment: "the key is optional without a tag"}, Kind: "client", KeyHash: keyHash[:]},
		helloCase{Case: Case{ID: "client-13-key", Spec: "SMP-HS-2", Valid: true, Version: 13}, Kind: "client", KeyHash: keyHash[:], DHKey: ck},
		helloCase{Case: Case{ID: "client-14-key", Spec: "SMP-HS-2", Valid: true, Version: 14}, Kind: "client", KeyHash: keyHash[:], DHKey: ck, ProxyServer: &fl},
		helloCase{Case: Case{ID: "client-14-proxy", Spec: "SMP-HS-2", Valid: true, Version: 14, Comment: "a relay acting as a proxy"}, Kind: "client", KeyHash: keyHash[:], DHKey: ck, ProxyServer: &t},
		helloCase{Case: Case{ID: "client-14-no-key", Spec: "SMP-HS-2", Valid: true, Version: 14, Comment: "no key: the Bool follows the key hash directly"}, Kind: "client", KeyHash: keyHash[:], ProxyServer: &fl},
		helloCase{Case: Case{ID: "client-16", Spec: "SMP-HS-2", Valid: true, Version: 16}, Kind: "client", KeyHash: keyHash[:], DHKey: ck, ProxyServer: &fl},
		helloCase{Case: Case{ID: "client-18", Spec: "SMP-HS-2", Valid: true, Version: 18}, Kind: "client", KeyHash: keyHash[:], DHKey: ck, ProxyServer: &fl},
	)
	svcChain, svcLeaf, err := fixedChain("hello service")
	if err != nil {
		return nil, err
	}
	svcKey, err := smpcrypto.GenerateKey(smpcrypto.Ed25519, Rand("hello service session key"))
	if err != nil {
		return nil, err
	}
	svcSigned, err := smpcrypto.SignKey(svcLeaf, svcKey.Public())
	if err != nil {
		return nil, err
	}
	cases = append(cases,
		helloCase{Case: Case{ID: "client-16-service", Spec: "SMP-HS-2", Valid: true, Version: 16,
			Comment: "a notifier service: role, its TLS chain and its Ed25519 session key signed by its leaf"},
			Kind: "client", KeyHash: keyHash[:], DHKey: ck, ProxyServer: &fl, ServiceRole: "N",
			CertChain: hexList(svcChain), SignedKey: svcSigned, SessionKey: svcKey.Public().SPKI(), LeafSeed: svcLeaf.Raw},
		helloCase{Case: Case{ID: "reply-service-id", Spec: "SMP-HS-4", Valid: true}, Kind: "service_reply", ServiceID: RandBytes("hello service id", 24)},
		helloCase{Case: Case{ID: "reply-bad-auth", Spec: "SMP-HS-4", Valid: true}, Kind: "service_reply", TransportError: "HANDSHAKE BAD_AUTH"},
		helloCase{Case: Case{ID: "reply-bad-service", Spec: "SMP-HS-4", Valid: true}, Kind: "service_reply", TransportError: "HANDSHAKE BAD_SERVICE"},
	)
	for _, c := range cases {
		if err := add(c); err != nil {
			return nil, err
		}
	}
	// One case carries its padded block, to show the handshake padding.
	blk, err := wire.Pad(f.Cases[1].Bytes, smp.BlockSize)
	if err != nil {
		return nil, err
	}
	f.Cases[1].Block = blk

	// Trailing bytes after the fields of the version are ignored (SMP-HS-3).
	tr := f.Cases[1]
	tr.ID, tr.Comment, tr.Block = "server-trailing", "bytes after the key part are ignored; re-encoding drops them", nil
	tr.Bytes = append(bytes.Clone(tr.Bytes), "future"...)
	f.Cases = append(f.Cases, tr)
	// Invalid inputs.
	srv := f.Cases[1].Bytes
	var c18 []byte
	for _, c := range f.Cases {
		if c.ID == "client-18" {
			c18 = c.Bytes
		}
	}
	bad := []helloCase{
		{Case: Case{ID: "server-truncated-session", Spec: "SMP-HS-1", Error: "HANDSHAKE PARSE"}, Kind: "server", Bytes: srv[:10]},
		{Case: Case{ID: "server-min-above-max", Spec: "SMP-ENC-9", Error: "HANDSHAKE PARSE"}, Kind: "server", Bytes: append([]byte{0, 9, 0, 8}, srv[4:]...)},
		{Case: Case{ID: "client-truncated-keyhash", Spec: "SMP-HS-2", Error: "HANDSHAKE PARSE"}, Kind: "client", Bytes: c18[:20]},
		{Case: Case{ID: "client-18-bad-bool", Spec: "SMP-ENC-2", Error: "HANDSHAKE PARSE", Comment: "proxy flag 'X'"},
			Kind: "client", Bytes: replaceAt(c18, len(c18)-2, 'X')},
		{Case: Case{ID: "client-18-bad-maybe", Spec: "SMP-ENC-3", Error: "HANDSHAKE PARSE", Comment: "service tag '2'"},
			Kind: "client", Bytes: replaceAt(c18, len(c18)-1, '2')},
		{Case: Case{ID: "client-18-missing-service", Spec: "SMP-HS-2", Error: "HANDSHAKE PARSE", Comment: "v16+ hello ends before the service Maybe"},
			Kind: "client", Bytes: c18[:len(c18)-1]},
		{Case: Case{ID: "reply-unknown-tag", Spec: "SMP-HS-4", Error: "HANDSHAKE PARSE"}, Kind: "service_reply", Bytes: []byte("X")},
		{Case: Case{ID: "reply-unknown-error", Spec: "SMP-HS-4", Error: "HANDSHAKE PARSE"}, Kind: "service_reply", Bytes: []byte("ENOPE")},
	}
	for i := range bad {
		if bad[i].Kind == "client" {
			bad[i].Version = 18
		}
	}
	f.Cases = append(f.Cases, bad...)
	return f, nil
}

func replaceAt(b []byte, i int, c byte) []byte {
	out := bytes.Clone(b)
	out[i] = c
	return out
}

func hexList(l [][]byte) []Hex {
	out := make([]Hex, len(l))
	for i, b := range l {
		out[i] = b
	}
	return out
}

func byteList(l []Hex) [][]byte {
	if l == nil {
		return nil
	}
	out := make([][]byte, len(l))
	for i, b := range l {
		out[i] = b
	}
	return out
}

// encodeHello encodes a valid case's fields.
func encodeHello(c helloCase) ([]byte, error) {
	switch c.Kind {
	case "server":
		h := smp.ServerHello{Versions: smp.VersionRange{Min: smp.Version(c.VersionMin), Max: smp.Version(c.VersionMax)}, SessionID: c.SessionID}
		if c.SignedKey != nil {
			h.Key = &smp.CertKey{Chain: byteList(c.CertChain), SignedKey: c.SignedKey}
		}
		return smp.EncodeServerHello(h)
	case "client":
		h := smp.ClientHello{Version: smp.Version(c.Version), KeyHash: c.KeyHash}
		if c.DHKey != nil {
			k, err := smpcrypto.ParseSPKIAlg(c.DHKey, smpcrypto.X25519)
			if err != nil {
				return nil, err
			}
			h.DHKey = &k
		}
		if c.ProxyServer != nil {
			h.ProxyServer = *c.ProxyServer
		}
		if c.ServiceRole != "" {
			h.Service = &smp.HelloService{Role: smp.ServiceRole(c.ServiceRole[0]),
				Key: smp.CertKey{Chain: byteList(c.CertChain), SignedKey: c.SignedKey}}
		}
		return smp.EncodeClientHello(h)
	case "service_reply":
		return smp.EncodeServiceReply(smp.ServiceReply{ServiceID: c.ServiceID, Err: c.TransportError})
	}
	return nil, fmt.Errorf("unknown kind %q", c.Kind)
}

// decodeHello parses bytes back into a case's fields (only the decoded
// fields are filled).
func decodeHello(kind string, b []byte) (helloCase, error) {
	var c helloCase
	c.Kind = kind
	switch kind {
	case "server":
		h, err := smp.ParseServerHello(b)
		if err != nil {
			return c, err
		}
		c.VersionMin, c.VersionMax, c.SessionID = int(h.Versions.Min), int(h.Versions.Max), h.SessionID
		if h.Key != nil {
			c.CertChain, c.SignedKey = hexList(h.Key.Chain), h.Key.SignedKey
		}
	case "client":
		h, err := smp.ParseClientHello(b)
		if err != nil {
			return c, err
		}
		c.Version, c.KeyHash = int(h.Version), h.KeyHash
		if h.DHKey != nil {
			c.DHKey = h.DHKey.SPKI()
		}
		if h.Version >= smp.VersionProxyServerHello {
			p := h.ProxyServer
			c.ProxyServer = &p
		}
		if h.Service != nil {
			c.ServiceRole = string(rune(h.Service.Role))
			c.CertChain, c.SignedKey = hexList(h.Service.Key.Chain), h.Service.Key.SignedKey
		}
	case "service_reply":
		r, err := smp.ParseServiceReply(b)
		if err != nil {
			return c, err
		}
		c.ServiceID, c.TransportError = r.ServiceID, r.Err
	default:
		return c, fmt.Errorf("unknown kind %q", kind)
	}
	return c, nil
}

func verifyHello(data []byte) error {
	return Check(data, func(c helloCase) string { return c.ID }, func(c helloCase) error {
		got, err := decodeHello(c.Kind, c.Bytes)
		if !c.Valid {
			if err == nil {
				return errors.New("invalid hello parsed")
			}
			if c.Error != "HANDSHAKE PARSE" {
				return fmt.Errorf("error field %q: hello parse failures are HANDSHAKE PARSE", c.Error)
			}
			return nil
		}
		if err != nil {
			return err
		}
		want := helloCase{Kind: c.Kind, VersionMin: c.VersionMin, VersionMax: c.VersionMax, SessionID: c.SessionID,
			CertChain: c.CertChain, SignedKey: c.SignedKey, KeyHash: c.KeyHash, DHKey: c.DHKey,
			ProxyServer: c.ProxyServer, ServiceRole: c.ServiceRole, ServiceID: c.ServiceID, TransportError: c.TransportError}
		if c.Kind == "client" {
			want.Version = c.Version
		}
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("decoded fields differ (-want +got):\n%s", d)
		}
		enc, err := encodeHello(c)
		if err != nil {
			return err
		}
		// Re-encoding drops ignored trailing bytes: compare with the prefix.
		if !bytes.HasPrefix(c.Bytes, enc) || (c.ID != "server-trailing" && len(enc) != len(c.Bytes)) {
			return fmt.Errorf("re-encoded\n %x\nwant\n %x", enc, c.Bytes)
		}
		if c.Block != nil {
			p, err := wire.Unpad(c.Block)
			if err != nil || len(c.Block) != smp.BlockSize || !bytes.Equal(p, c.Bytes) {
				return errors.New("block does not unpad to bytes")
			}
		}
		if c.SignedKey != nil && c.LeafSeed != nil {
			leaf, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, c.LeafSeed)
			if err != nil {
				return err
			}
			sk, err := smpcrypto.ParseSignedKey(c.SignedKey)
			if err != nil {
				return err
			}
			if err := sk.Verify(leaf.Public()); err != nil {
				return fmt.Errorf("signed key: %w", err)
			}
			if !bytes.Equal(sk.Key.SPKI(), c.SessionKey) {
				return errors.New("signed key holds another key")
			}
		}
		return nil
	})
}
