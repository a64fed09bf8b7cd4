// Package smpcrypto holds the cryptographic building blocks of SMP
// (spec/smp.md §3, "Cryptography"): the four key algorithms and their X.509
// SubjectPublicKeyInfo form, EdDSA signatures, the NaCl box used with a raw
// X25519 secret or a 32-byte symmetric key, padding-aware sealing, and the
// other constructions built from them.
//
// Every function that needs randomness takes an io.Reader so that test
// vectors can be generated from fixed seeds.
package smpcrypto
