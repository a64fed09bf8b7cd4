package smp

import (
	"crypto/sha512"
	"crypto/subtle"
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// AuthKind is what an authorization field holds, told by its length (SMP-AUTH-3).
type AuthKind uint8

const (
	AuthNone          AuthKind = iota // empty
	AuthEd25519                       // 64-byte signature
	AuthEd448                         // 114-byte signature
	AuthAuthenticator                 // 80-byte X25519 authenticator
)

// AuthenticatorSize is the length of an X25519 authenticator: box tag and
// the encrypted SHA-512 hash (SMP-AUTH-2).
const AuthenticatorSize = smpcrypto.TagSize + sha512.Size

// AuthKindOf classifies an authorization; any other length is ERR BLOCK.
func AuthKindOf(auth []byte) (AuthKind, error) {
	switch len(auth) {
	case 0:
		return AuthNone, nil
	case AuthenticatorSize:
		return AuthAuthenticator, nil
	case smpcrypto.SignatureSize(smpcrypto.Ed25519):
		return AuthEd25519, nil
	case smpcrypto.SignatureSize(smpcrypto.Ed448):
		return AuthEd448, nil
	}
	return 0, Errorf(BLOCK, "authorization of %d bytes", len(auth))
}

// Authenticator returns the 80-byte X25519 authenticator of msg (the
// authorized bytes): the SHA-512 of msg in a box keyed by the agreement of
// the queue's private key and the relay's session key (SMP-AUTH-2).
func Authenticator(queuePriv smpcrypto.PrivateKey, serverPub smpcrypto.PublicKey, nonce smpcrypto.Nonce, msg []byte) ([]byte, error) {
	if queuePriv.Alg != smpcrypto.X25519 || serverPub.Alg != smpcrypto.X25519 {
		return nil, fmt.Errorf("smp: authenticator needs X25519 keys, have %s and %s", queuePriv.Alg, serverPub.Alg)
	}
	secret, err := queuePriv.DH(serverPub)
	if err != nil {
		return nil, fmt.Errorf("smp: authenticator: %w", err)
	}
	return SecretAuthenticator(secret, nonce, msg)
}

// SecretAuthenticator is Authenticator with the agreement of the queue key
// and the relay's session key already made: it is the same for every
// command of that queue in the session, so a client may keep it.
func SecretAuthenticator(secret []byte, nonce smpcrypto.Nonce, msg []byte) ([]byte, error) {
	h := sha512.Sum512(msg)
	return smpcrypto.Seal(secret, nonce, h[:])
}

// Authorize returns the authorization of the authorized bytes with key: an
// EdDSA signature for Ed25519/Ed448 keys, an authenticator for X25519 keys
// (which needs the relay's session key serverDH and uses the correlation id
// as the nonce).
func Authorize(key smpcrypto.PrivateKey, serverDH smpcrypto.PublicKey, corrID, authorized []byte) ([]byte, error) {
	switch key.Alg {
	case smpcrypto.Ed25519, smpcrypto.Ed448:
		return key.Sign(authorized)
	case smpcrypto.X25519:
		if serverDH.IsZero() {
			// SMP-AUTH-5: no verified relay session key, no authenticator.
			return nil, fmt.Errorf("smp: X25519 authorization without the relay's session key")
		}
		return Authenticator(key, serverDH, smpcrypto.NonceFromID(corrID), authorized)
	}
	return nil, fmt.Errorf("smp: %s keys cannot authorize", key.Alg)
}

// VerifyAuth checks an authorization against a queue key. serverDH is the
// relay's session private key (zero when the session has none, in which case
// authenticators never verify). It does the same work whatever the outcome of
// the length checks, up to the primitive, so that callers can pair it with a
// dummy verification for absent queues.
func VerifyAuth(queueKey smpcrypto.PublicKey, serverDH smpcrypto.PrivateKey, auth, corrID, authorized []byte) bool {
	switch queueKey.Alg {
	case smpcrypto.Ed25519, smpcrypto.Ed448:
		return smpcrypto.Verify(queueKey, authorized, auth)
	case smpcrypto.X25519:
		if len(auth) != AuthenticatorSize || serverDH.Alg != smpcrypto.X25519 {
			return false
		}
		secret, err := serverDH.DH(queueKey)
		if err != nil {
			return false
		}
		return openAuthenticator(secret, auth, corrID, authorized)
	}
	return false
}

func openAuthenticator(secret, auth, corrID, authorized []byte) bool {
	var buf [sha512.Size]byte
	plain, err := smpcrypto.AppendOpen(buf[:0], secret, smpcrypto.NonceFromID(corrID), auth)
	if err != nil {
		return false
	}
	h := sha512.Sum512(authorized)
	return subtle.ConstantTimeCompare(plain, h[:]) == 1
}

// AuthSecrets is one relay session's cache of X25519 agreements for
// authenticators (SMP-AUTH-2): the secret of the session key and a queue key
// is the same for every command of that queue in the session, and computing
// it is most of an authenticator's cost. It is not safe for concurrent use.
//
// Only a secret whose authenticator verified is kept. A failure on a key
// not in the cache therefore costs a full agreement, as VerifyAuth and the
// dummy verification of SMP-VERIFY-4 do; the cache only makes faster the
// keys this session's own client has already proven it holds.
type AuthSecrets struct {
	priv smpcrypto.PrivateKey
	m    map[string][32]byte // by raw queue key
}

// maxAuthSecrets bounds the cache of one session; beyond it an arbitrary
// entry makes room.
const maxAuthSecrets = 1024

// NewAuthSecrets returns an empty cache for the session key serverDH (zero
// when the session has none).
func NewAuthSecrets(serverDH smpcrypto.PrivateKey) *AuthSecrets {
	return &AuthSecrets{priv: serverDH}
}

// VerifyAuth is the package's VerifyAuth with the cache's session key,
// reusing the agreement for X25519 keys that verified before.
func (a *AuthSecrets) VerifyAuth(queueKey smpcrypto.PublicKey, auth, corrID, authorized []byte) bool {
	if queueKey.Alg != smpcrypto.X25519 || len(auth) != AuthenticatorSize || a.priv.Alg != smpcrypto.X25519 {
		return VerifyAuth(queueKey, a.priv, auth, corrID, authorized)
	}
	if s, ok := a.m[string(queueKey.Raw)]; ok {
		return openAuthenticator(s[:], auth, corrID, authorized)
	}
	secret, err := a.priv.DH(queueKey)
	if err != nil || len(secret) != 32 {
		return false
	}
	if !openAuthenticator(secret, auth, corrID, authorized) {
		return false
	}
	if a.m == nil {
		a.m = map[string][32]byte{}
	}
	if len(a.m) >= maxAuthSecrets {
		for k := range a.m {
			delete(a.m, k)
			break
		}
	}
	a.m[string(queueKey.Raw)] = [32]byte(secret)
	return true
}

// Cached reports how many secrets the cache holds.
func (a *AuthSecrets) Cached() int { return len(a.m) }

// ServiceAuthorized returns the bytes the entity key authorizes in a service
// session when the transmission carries a service signature (SMP-AUTH-4):
// the service certificate fingerprint followed by the authorized bytes. The
// service key itself signs the authorized bytes alone.
func ServiceAuthorized(fingerprint, authorized []byte) []byte {
	out := make([]byte, 0, len(fingerprint)+len(authorized))
	return append(append(out, fingerprint...), authorized...)
}
