package smp

import (
	"crypto/rand"
	"testing"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"pgregory.net/rapid"
)

// TestAuthSecretsAgree: with or without the cache, an authorization
// verifies exactly when VerifyAuth says so, and only verified keys are
// cached (so failures always cost a full agreement, SMP-VERIFY-4).
func TestAuthSecretsAgree(t *testing.T) {
	server, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var keys []smpcrypto.PrivateKey
	for range 4 {
		k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
		keys = append(keys, k)
	}
	ed, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	keys = append(keys, ed)
	cache := NewAuthSecrets(server)
	rapid.Check(t, func(t *rapid.T) {
		signer := keys[rapid.IntRange(0, len(keys)-1).Draw(t, "signer")]
		checked := keys[rapid.IntRange(0, len(keys)-1).Draw(t, "checked")]
		corr := rapid.SliceOfN(rapid.Byte(), 24, 24).Draw(t, "corr")
		msg := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "msg")
		auth, err := Authorize(signer, server.Public(), corr, msg)
		if err != nil {
			t.Fatal(err)
		}
		if rapid.Bool().Draw(t, "flip") {
			auth[rapid.IntRange(0, len(auth)-1).Draw(t, "at")] ^= 1
		}
		before := cache.Cached()
		want := VerifyAuth(checked.Public(), server, auth, corr, msg)
		if got := cache.VerifyAuth(checked.Public(), auth, corr, msg); got != want {
			t.Fatalf("cached verification %v, uncached %v", got, want)
		}
		if !want && cache.Cached() != before {
			t.Fatalf("a failed verification was cached")
		}
	})
	if cache.Cached() == 0 {
		t.Fatal("nothing was cached")
	}
}

func BenchmarkAuthenticator(b *testing.B) {
	server, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	ed, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	corr, msg := make([]byte, 24), make([]byte, 1100)
	auth, _ := Authorize(k, server.Public(), corr, msg)
	sig, _ := Authorize(ed, server.Public(), corr, msg)
	b.Run("x25519-uncached", func(b *testing.B) {
		for b.Loop() {
			VerifyAuth(k.Public(), server, auth, corr, msg)
		}
	})
	b.Run("x25519-cached", func(b *testing.B) {
		c := NewAuthSecrets(server)
		for b.Loop() {
			c.VerifyAuth(k.Public(), auth, corr, msg)
		}
	})
	b.Run("ed25519", func(b *testing.B) {
		for b.Loop() {
			VerifyAuth(ed.Public(), server, sig, corr, msg)
		}
	})
}
