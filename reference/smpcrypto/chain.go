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
// nonce for one block.
func (ck ChainKey) Step() (next ChainKey, key [32]byte, nonce Nonce) {
	out, err := hkdf.Key(sha512.New, ck[:], nil, "SimpleXSbChain", 88)
	if err != nil {
		panic("smpcrypto: HKDF-SHA512 of 88 bytes failed: " + err.Error())
	}
	copy(next[:], out[:32])
	copy(key[:], out[32:64])
	copy(nonce[:], out[64:])
	return next, key, nonce
}
