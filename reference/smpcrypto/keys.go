package smpcrypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x448"
	"github.com/cloudflare/circl/sign/ed448"
)

// Alg is a key algorithm used by SMP.
type Alg uint8

const (
	Ed25519 Alg = iota + 1
	X25519
	Ed448
	X448
)

var algNames = map[Alg]string{Ed25519: "ed25519", X25519: "x25519", Ed448: "ed448", X448: "x448"}

func (a Alg) String() string {
	if s, ok := algNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Alg(%d)", uint8(a))
}

// ParseAlg maps "ed25519", "x25519", "ed448" or "x448" to an Alg.
func ParseAlg(s string) (Alg, error) {
	for a, n := range algNames {
		if n == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("smpcrypto: unknown algorithm %q", s)
}

// IsSigning reports whether keys of a sign (EdDSA) rather than agree (ECDH).
func (a Alg) IsSigning() bool { return a == Ed25519 || a == Ed448 }

// Size is the length of a raw public key of the algorithm.
func (a Alg) Size() int {
	switch a {
	case Ed25519, X25519:
		return 32
	case Ed448:
		return ed448.PublicKeySize // 57
	case X448:
		return x448.Size // 56
	}
	return 0
}

// spkiPrefix is the fixed DER head of a SubjectPublicKeyInfo (RFC 8410):
// SEQUENCE { SEQUENCE { OID 1.3.101.11x } BIT STRING { 0 unused bits, key } }.
// The algorithm identifier has no parameters, so for each algorithm there is
// exactly one DER encoding: a byte-for-byte prefix match is a strict parse.
var spkiPrefix = map[Alg][]byte{
	Ed25519: {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00},
	X25519:  {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00},
	Ed448:   {0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00},
	X448:    {0x30, 0x42, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6f, 0x03, 0x39, 0x00},
}

// ErrKey is matched by every key decoding error.
var ErrKey = errors.New("smpcrypto: invalid key")

// A PublicKey is a raw public key with its algorithm. Raw has Alg.Size bytes.
type PublicKey struct {
	Alg Alg
	Raw []byte
}

// NewPublicKey checks the raw key length and returns the key.
func NewPublicKey(alg Alg, raw []byte) (PublicKey, error) {
	if alg.Size() == 0 || len(raw) != alg.Size() {
		return PublicKey{}, fmt.Errorf("%w: %s key of %d bytes", ErrKey, alg, len(raw))
	}
	return PublicKey{Alg: alg, Raw: bytes.Clone(raw)}, nil
}

// SPKI returns the DER SubjectPublicKeyInfo of the key: the form every SMP
// public key takes inside a short string on the wire.
func (k PublicKey) SPKI() []byte {
	p := spkiPrefix[k.Alg]
	out := make([]byte, 0, len(p)+len(k.Raw))
	return append(append(out, p...), k.Raw...)
}

// Equal reports whether two keys are the same algorithm and bytes.
func (k PublicKey) Equal(o PublicKey) bool { return k.Alg == o.Alg && bytes.Equal(k.Raw, o.Raw) }

// IsZero reports whether k is the zero PublicKey.
func (k PublicKey) IsZero() bool { return k.Alg == 0 && k.Raw == nil }

// ParseSPKI decodes a DER SubjectPublicKeyInfo of any of the four algorithms.
// Anything but the single valid DER encoding (trailing bytes included) is an
// error wrapping ErrKey.
func ParseSPKI(der []byte) (PublicKey, error) {
	for _, a := range []Alg{Ed25519, X25519, Ed448, X448} {
		p := spkiPrefix[a]
		if len(der) == len(p)+a.Size() && bytes.Equal(der[:len(p)], p) {
			return PublicKey{Alg: a, Raw: bytes.Clone(der[len(p):])}, nil
		}
	}
	return PublicKey{}, fmt.Errorf("%w: not a DER SubjectPublicKeyInfo of ed25519, x25519, ed448 or x448 (%d bytes)", ErrKey, len(der))
}

// ParseSPKIAlg is ParseSPKI restricted to one algorithm.
func ParseSPKIAlg(der []byte, alg Alg) (PublicKey, error) {
	k, err := ParseSPKI(der)
	if err != nil {
		return PublicKey{}, err
	}
	if k.Alg != alg {
		return PublicKey{}, fmt.Errorf("%w: want %s key, got %s", ErrKey, alg, k.Alg)
	}
	return k, nil
}

// A PrivateKey holds the RFC 8032 seed (Ed25519, Ed448) or the RFC 7748
// scalar (X25519, X448) of a key pair.
type PrivateKey struct {
	Alg Alg
	Raw []byte
	// ed is the expanded Ed25519 key of Raw when the key was made by
	// NewPrivateKey or GenerateKey: signing with the same expanded key
	// lets crypto/ed25519 reuse its derived scalar instead of deriving the
	// key pair again for every signature. Keys written as literals sign
	// correctly without it, only more slowly.
	ed ed25519.PrivateKey
}

// withExpanded fills in the cached expanded key of an Ed25519 key.
func (k PrivateKey) withExpanded() PrivateKey {
	if k.Alg == Ed25519 && len(k.Raw) == ed25519.SeedSize {
		k.ed = ed25519.NewKeyFromSeed(k.Raw)
	}
	return k
}

// edKey is the expanded Ed25519 key, from the cache if it holds Raw's.
func (k PrivateKey) edKey() ed25519.PrivateKey {
	if len(k.ed) == ed25519.PrivateKeySize && bytes.Equal(k.ed[:ed25519.SeedSize], k.Raw) {
		return k.ed
	}
	return ed25519.NewKeyFromSeed(k.Raw)
}

// privSize is the length of the private seed or scalar.
func privSize(a Alg) int {
	switch a {
	case Ed25519:
		return ed25519.SeedSize
	case Ed448:
		return ed448.SeedSize
	case X25519:
		return 32
	case X448:
		return x448.Size
	}
	return 0
}

// NewPrivateKey wraps a seed or scalar of the right length.
func NewPrivateKey(alg Alg, raw []byte) (PrivateKey, error) {
	if privSize(alg) == 0 || len(raw) != privSize(alg) {
		return PrivateKey{}, fmt.Errorf("%w: %s private key of %d bytes", ErrKey, alg, len(raw))
	}
	return PrivateKey{Alg: alg, Raw: bytes.Clone(raw)}.withExpanded(), nil
}

// GenerateKey reads a seed or scalar from rand.
func GenerateKey(alg Alg, rand io.Reader) (PrivateKey, error) {
	n := privSize(alg)
	if n == 0 {
		return PrivateKey{}, fmt.Errorf("%w: unknown algorithm %s", ErrKey, alg)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(rand, raw); err != nil {
		return PrivateKey{}, fmt.Errorf("smpcrypto: generate %s key: %w", alg, err)
	}
	return PrivateKey{Alg: alg, Raw: raw}.withExpanded(), nil
}

// Public returns the public half of the key pair.
func (k PrivateKey) Public() PublicKey {
	var raw []byte
	switch k.Alg {
	case Ed25519:
		raw = k.edKey().Public().(ed25519.PublicKey)
	case Ed448:
		raw = ed448.NewKeyFromSeed(k.Raw).Public().(ed448.PublicKey)
	case X25519:
		pk, err := ecdh.X25519().NewPrivateKey(k.Raw)
		if err != nil {
			return PublicKey{}
		}
		raw = pk.PublicKey().Bytes()
	case X448:
		var pub, priv x448.Key
		copy(priv[:], k.Raw)
		x448.KeyGen(&pub, &priv)
		raw = pub[:]
	}
	return PublicKey{Alg: k.Alg, Raw: bytes.Clone(raw)}
}

// Sign returns the pure EdDSA signature of msg (Ed448 with an empty context):
// 64 bytes for Ed25519, 114 for Ed448.
func (k PrivateKey) Sign(msg []byte) ([]byte, error) {
	switch k.Alg {
	case Ed25519:
		return ed25519.Sign(k.edKey(), msg), nil
	case Ed448:
		return ed448.Sign(ed448.NewKeyFromSeed(k.Raw), msg, ""), nil
	}
	return nil, fmt.Errorf("smpcrypto: %s keys do not sign", k.Alg)
}

// Verify checks a pure EdDSA signature by a signing key.
func Verify(pub PublicKey, msg, sig []byte) bool {
	switch pub.Alg {
	case Ed25519:
		return len(pub.Raw) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
			ed25519.Verify(ed25519.PublicKey(pub.Raw), msg, sig)
	case Ed448:
		return len(pub.Raw) == ed448.PublicKeySize && len(sig) == ed448.SignatureSize &&
			ed448.Verify(ed448.PublicKey(pub.Raw), msg, sig, "")
	}
	return false
}

// SignatureSize is the length of a signature of alg, or 0 for agree keys.
func SignatureSize(alg Alg) int {
	switch alg {
	case Ed25519:
		return ed25519.SignatureSize
	case Ed448:
		return ed448.SignatureSize
	}
	return 0
}

// ErrDH is returned when a key agreement gives the all-zero output (a
// low-order peer key).
var ErrDH = errors.New("smpcrypto: key agreement failed")

// DH returns the raw RFC 7748 shared secret of k and the peer's public key of
// the same algorithm (32 bytes for X25519, 56 for X448).
func (k PrivateKey) DH(peer PublicKey) ([]byte, error) {
	if peer.Alg != k.Alg {
		return nil, fmt.Errorf("%w: %s private key with %s public key", ErrDH, k.Alg, peer.Alg)
	}
	switch k.Alg {
	case X25519:
		priv, err := ecdh.X25519().NewPrivateKey(k.Raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDH, err)
		}
		pub, err := ecdh.X25519().NewPublicKey(peer.Raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDH, err)
		}
		s, err := priv.ECDH(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDH, err)
		}
		return s, nil
	case X448:
		if len(peer.Raw) != x448.Size {
			return nil, fmt.Errorf("%w: x448 key of %d bytes", ErrDH, len(peer.Raw))
		}
		var s, priv, pub x448.Key
		copy(priv[:], k.Raw)
		copy(pub[:], peer.Raw)
		if !x448.Shared(&s, &priv, &pub) {
			return nil, ErrDH
		}
		return s[:], nil
	}
	return nil, fmt.Errorf("%w: %s keys do not agree", ErrDH, k.Alg)
}
