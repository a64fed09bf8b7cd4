package smpcrypto

import (
	"crypto/hkdf"
	"crypto/sha512"
)

// From SMP v11 each block is encrypted with a key and nonce taken from a
// per-direction HKDF chain (spec §4.3, SMP-CHAIN-1..2).

// A ChainKey is the current state of one direction's block key chain.
type ChainKey [32]byte

// ChainInit derives the two chain keys of a session from the session id (the
// HKDF salt) and the X25519 secret agreed in the handshake. The relay sends
// with ck1 and receives with ck2; the client uses them the other way round.
func ChainInit(sessionID, secret []byte) (ck1, ck2 ChainKey) {
	out, err := hkdf.Key(sha512.New, secret, sessionID, "SimpleXSbChainInit", 64)
	if err != nil {
		panic("smpcrypto: HKDF-SHA512 of 64 bytes failed: " + err.Error()) // cannot happen: 64 ≤ 255·64
	}
	copy(ck1[:], out[:32])
	copy(ck2[:], out[32:])
	return ck1, ck2
}

// Step advances the chain: it returns the next chain key and the key and
// nonce for one block: HKDF-SHA512(salt none, ikm ck, info
// "SimpleXSbChain"), 88 bytes, split 32 ‖ 32 ‖ 24.
//
// It runs for every block in both directions, so it spells out HKDF
// (RFC 5869) over HMAC (RFC 2104) on stack buffers instead of calling
// hkdf.Key, which allocates several hash states per call; TestChainStep
// holds it to hkdf.Key.
func (ck ChainKey) Step() (next ChainKey, key [32]byte, nonce Nonce) {
	// Extract: PRK = HMAC(0⁶⁴, ck). A key shorter than the hash block is
	// zero-padded, so the all-zero salt leaves just the pads.
	var prk [sha512.Size]byte
	hmacSHA512(&prk, nil, ck[:], nil)
	// Expand: T1 = HMAC(PRK, info ‖ 1), T2 = HMAC(PRK, T1 ‖ info ‖ 2).
	var t1, t2 [sha512.Size]byte
	hmacSHA512(&t1, prk[:], nil, []byte(chainInfo+"\x01"))
	hmacSHA512(&t2, prk[:], t1[:], []byte(chainInfo+"\x02"))
	copy(next[:], t1[:32])
	copy(key[:], t1[32:64])
	copy(nonce[:], t2[:NonceSize])
	return next, key, nonce
}

const chainInfo = "SimpleXSbChain"

// hmacSHA512 sets out to HMAC-SHA512(key, m1 ‖ m2) for a key of at most
// one hash block and messages that fit the stack buffer below.
func hmacSHA512(out *[sha512.Size]byte, key, m1, m2 []byte) {
	const block = sha512.BlockSize
	var buf [block + sha512.Size + 32]byte
	if len(key) > block || len(m1)+len(m2) > len(buf)-block {
		panic("smpcrypto: hmacSHA512 input too long")
	}
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
	}
	n := block + copy(buf[block:], m1)
	n += copy(buf[n:], m2)
	inner := sha512.Sum512(buf[:n])
	for i := range block {
		buf[i] ^= 0x36 ^ 0x5c
	}
	copy(buf[block:], inner[:])
	*out = sha512.Sum512(buf[:block+sha512.Size])
}
