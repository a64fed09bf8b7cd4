package smpcrypto

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A relay's per-session X25519 key (and a v16 service's per-session key) is
// sent as an X.509 "signed exact" object (spec §3.5, SMP-SIGNED-1..3):
//
//	SEQUENCE {
//	    SEQUENCE { SubjectPublicKeyInfo }      -- the signed bytes: this whole TLV
//	    SEQUENCE { OID 1.3.101.112 | 1.3.101.113 }
//	    BIT STRING { 0 unused bits, signature }
//	}
//
// The extra SEQUENCE around the SPKI is what the upstream X.509 library emits
// when it signs a bare public key, and the only form its decoder accepts; a
// bare SPKI as the first element is rejected here too (SMP-SIGNED-2), so that
// a key we accept is one every upstream peer accepts.

var (
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidEd448   = asn1.ObjectIdentifier{1, 3, 101, 113}
)

// ErrSignedKey is matched by every signed key decoding or verification error.
var ErrSignedKey = errors.New("smpcrypto: invalid signed key")

// A SignedKey is a decoded signed key object.
type SignedKey struct {
	Key       PublicKey // the key that was signed
	SigAlg    Alg       // Ed25519 or Ed448
	Signed    []byte    // the exact bytes the signature covers (first element's TLV)
	Signature []byte
}

// SignKey wraps key in the signed object of SMP-SIGNED-1, signed by signer
// (an Ed25519 or Ed448 private key), and returns its DER.
func SignKey(signer PrivateKey, key PublicKey) ([]byte, error) {
	var oid asn1.ObjectIdentifier
	switch signer.Alg {
	case Ed25519:
		oid = oidEd25519
	case Ed448:
		oid = oidEd448
	default:
		return nil, fmt.Errorf("smpcrypto: sign key: %s keys do not sign", signer.Alg)
	}
	if _, err := NewPublicKey(key.Alg, key.Raw); err != nil {
		return nil, fmt.Errorf("smpcrypto: sign key: %w", err)
	}
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(key.SPKI()) })
	signed := tbs.BytesOrPanic()
	sig, err := signer.Sign(signed)
	if err != nil {
		return nil, fmt.Errorf("smpcrypto: sign key: %w", err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(signed)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
		b.AddASN1BitString(sig)
	})
	return out.Bytes()
}

func signedKeyErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSignedKey, fmt.Sprintf(format, args...))
}

// ParseSignedKey decodes a signed key object. It checks the structure and the
// signature algorithm but not the signature: call Verify with the signer's key.
func ParseSignedKey(der []byte) (SignedKey, error) {
	in := cryptobyte.String(der)
	var outer cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) {
		return SignedKey{}, signedKeyErr("not a DER SEQUENCE")
	}
	if !in.Empty() {
		return SignedKey{}, signedKeyErr("%d bytes after the object", len(in))
	}
	var signed cryptobyte.String
	var tag cbasn1.Tag
	if !outer.ReadAnyASN1Element(&signed, &tag) || tag != cbasn1.SEQUENCE {
		return SignedKey{}, signedKeyErr("signed part is not a SEQUENCE")
	}
	key, err := signedPublicKey(signed)
	if err != nil {
		return SignedKey{}, err
	}
	var algID cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !outer.ReadASN1(&algID, cbasn1.SEQUENCE) || !algID.ReadASN1ObjectIdentifier(&oid) {
		return SignedKey{}, signedKeyErr("bad signature algorithm identifier")
	}
	if !algID.Empty() {
		// EdDSA identifiers have absent parameters (RFC 8410 §3); a NULL is an error.
		return SignedKey{}, signedKeyErr("signature algorithm has parameters")
	}
	var sigAlg Alg
	switch {
	case oid.Equal(oidEd25519):
		sigAlg = Ed25519
	case oid.Equal(oidEd448):
		sigAlg = Ed448
	default:
		return SignedKey{}, signedKeyErr("signature algorithm %s is not Ed25519 or Ed448", oid)
	}
	var bits asn1.BitString
	if !outer.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 {
		return SignedKey{}, signedKeyErr("bad signature BIT STRING")
	}
	if !outer.Empty() {
		return SignedKey{}, signedKeyErr("trailing elements in the object")
	}
	if len(bits.Bytes) != SignatureSize(sigAlg) {
		return SignedKey{}, signedKeyErr("%s signature of %d bytes", sigAlg, len(bits.Bytes))
	}
	return SignedKey{Key: key, SigAlg: sigAlg, Signed: bytes.Clone(signed), Signature: bytes.Clone(bits.Bytes)}, nil
}

// signedPublicKey extracts the key from the signed element, which must be
// SEQUENCE{SPKI} and nothing else (SMP-SIGNED-2).
func signedPublicKey(signed []byte) (PublicKey, error) {
	s := cryptobyte.String(signed)
	var inner cryptobyte.String
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !s.Empty() {
		return PublicKey{}, signedKeyErr("signed part is not a SEQUENCE")
	}
	var probe cryptobyte.String
	if c := inner; !c.ReadASN1(&probe, cbasn1.SEQUENCE) || !c.Empty() {
		return PublicKey{}, signedKeyErr("signed part is a bare SubjectPublicKeyInfo, not SEQUENCE { SubjectPublicKeyInfo }")
	}
	k, err := ParseSPKI(inner)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: signed part: %w", ErrSignedKey, err)
	}
	return k, nil
}

// Verify checks the signature with the signer's public key, which must be of
// the object's signature algorithm.
func (s SignedKey) Verify(signer PublicKey) error {
	if signer.Alg != s.SigAlg {
		return signedKeyErr("signed with %s, verifying key is %s", s.SigAlg, signer.Alg)
	}
	if !Verify(signer, s.Signed, s.Signature) {
		return signedKeyErr("bad signature")
	}
	return nil
}
