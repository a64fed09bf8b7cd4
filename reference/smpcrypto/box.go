package smpcrypto

import (
	"errors"
	"fmt"
	"sync"

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
func boxKey(key []byte) ([32]byte, error) {
	var out [32]byte
	if len(key) != 32 {
		return out, fmt.Errorf("smpcrypto: box key of %d bytes, want 32", len(key))
	}
	var zero [16]byte
	salsa.HSalsa20(&out, &zero, (*[32]byte)(key), &salsa.Sigma)
	return out, nil
}

// Seal encrypts msg under key (a raw X25519 secret or a 32-byte symmetric
// key) and returns tag(16) ‖ ciphertext. No padding.
func Seal(key []byte, nonce Nonce, msg []byte) ([]byte, error) {
	return AppendSeal(make([]byte, 0, TagSize+len(msg)), key, nonce, msg)
}

// AppendSeal appends Seal(key, nonce, msg) to dst. The bytes appended must
// not overlap msg.
func AppendSeal(dst, key []byte, nonce Nonce, msg []byte) ([]byte, error) {
	k, err := boxKey(key)
	if err != nil {
		return nil, err
	}
	n := [NonceSize]byte(nonce)
	return secretbox.Seal(dst, msg, &n, &k), nil
}

// Open reverses Seal.
func Open(key []byte, nonce Nonce, box []byte) ([]byte, error) {
	return AppendOpen(nil, key, nonce, box)
}

// AppendOpen appends the plaintext of box to dst. The bytes appended must
// not overlap box.
func AppendOpen(dst, key []byte, nonce Nonce, box []byte) ([]byte, error) {
	k, err := boxKey(key)
	if err != nil {
		return nil, err
	}
	if len(box) < TagSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the tag", ErrDecrypt, len(box))
	}
	n := [NonceSize]byte(nonce)
	out, ok := secretbox.Open(dst, box, &n, &k)
	if !ok {
		return nil, ErrDecrypt
	}
	return out, nil
}

// SealPadded pads msg to padTo bytes (wire.Pad) and seals it: the result is
// always TagSize+padTo bytes, hiding the message length.
func SealPadded(key []byte, nonce Nonce, msg []byte, padTo int) ([]byte, error) {
	return AppendSealPadded(make([]byte, 0, TagSize+padTo), key, nonce, msg, padTo)
}

// padScratch holds the padded plaintexts of AppendSealPadded: secretbox
// cannot seal in place, and blocks and message bodies are 16 KiB each.
var padScratch sync.Pool

// AppendSealPadded appends SealPadded(key, nonce, msg, padTo) to dst,
// allocating nothing when dst has room.
func AppendSealPadded(dst, key []byte, nonce Nonce, msg []byte, padTo int) ([]byte, error) {
	var p []byte
	if sp, _ := padScratch.Get().(*[]byte); sp != nil && cap(*sp) >= padTo {
		p = (*sp)[:0]
	}
	p, err := wire.AppendPad(p, msg, padTo)
	if err != nil {
		return nil, err
	}
	out, err := AppendSeal(dst, key, nonce, p)
	padScratch.Put(&p)
	return out, err
}

// OpenPadded opens a box made by SealPadded and removes the padding.
func OpenPadded(key []byte, nonce Nonce, box []byte) ([]byte, error) {
	return AppendOpenPadded(nil, key, nonce, box)
}

// AppendOpenPadded opens a box made by SealPadded into dst's spare capacity
// and returns the message, a slice of that capacity.
func AppendOpenPadded(dst, key []byte, nonce Nonce, box []byte) ([]byte, error) {
	p, err := AppendOpen(dst, key, nonce, box)
	if err != nil {
		return nil, err
	}
	return wire.Unpad(p[len(dst):])
}
