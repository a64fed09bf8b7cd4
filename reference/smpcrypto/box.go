package smpcrypto

import (
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/wire"
	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/salsa20/salsa"
)

// NonceSize is the length of every XSalsa20 nonce in SMP.
const NonceSize = 24

// TagSize is the length of the Poly1305 tag that precedes every ciphertext.
const TagSize = secretbox.Overhead

// A Nonce is a 24-byte XSalsa20 nonce. On the wire it is 24 raw bytes.
type Nonce [NonceSize]byte

// ErrDecrypt is returned when a box does not open.
var ErrDecrypt = errors.New("smpcrypto: decryption failed")

// boxKey turns a 32-byte key into the XSalsa20-Poly1305 key that SMP uses
// with it: HSalsa20(key, 0¹⁶). With a raw X25519 secret this is exactly the
// NaCl crypto_box precomputation (crypto_box_beforenm); SMP applies the same
// step to symmetric keys too, so its "secretbox" is NaCl's secretbox under
// HSalsa20(key, 0¹⁶), not under the key itself (spec: SMP-CRYPTO-BOX-2).
func boxKey(key []byte) (*[32]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("smpcrypto: box key of %d bytes, want 32", len(key))
	}
	var k, out [32]byte
	copy(k[:], key)
	var zero [16]byte
	salsa.HSalsa20(&out, &zero, &k, &salsa.Sigma)
	return &out, nil
}

// Seal encrypts msg under key (a raw X25519 secret or a 32-byte symmetric
// key) and returns tag(16) ‖ ciphertext. No padding.
func Seal(key []byte, nonce Nonce, msg []byte) ([]byte, error) {
	k, err := boxKey(key)
	if err != nil {
		return nil, err
	}
	n := [NonceSize]byte(nonce)
	return secretbox.Seal(make([]byte, 0, TagSize+len(msg)), msg, &n, k), nil
}

// Open reverses Seal.
func Open(key []byte, nonce Nonce, box []byte) ([]byte, error) {
	k, err := boxKey(key)
	if err != nil {
		return nil, err
	}
	if len(box) < TagSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the tag", ErrDecrypt, len(box))
	}
	n := [NonceSize]byte(nonce)
	out, ok := secretbox.Open(nil, box, &n, k)
	if !ok {
		return nil, ErrDecrypt
	}
	return out, nil
}

// SealPadded pads msg to padTo bytes (wire.Pad) and seals it: the result is
// always TagSize+padTo bytes, hiding the message length.
func SealPadded(key []byte, nonce Nonce, msg []byte, padTo int) ([]byte, error) {
	p, err := wire.Pad(msg, padTo)
	if err != nil {
		return nil, err
	}
	return Seal(key, nonce, p)
}

// OpenPadded opens a box made by SealPadded and removes the padding.
func OpenPadded(key []byte, nonce Nonce, box []byte) ([]byte, error) {
	p, err := Open(key, nonce, box)
	if err != nil {
		return nil, err
	}
	return wire.Unpad(p)
}
