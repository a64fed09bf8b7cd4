package smpcrypto

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// Sign uses the expanded key cached at construction only while it matches
// Raw: a key whose seed was changed afterwards signs with the new seed.
func TestSignCachedKey(t *testing.T) {
	k, err := GenerateKey(Ed25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("message")
	for range 2 {
		sig, err := k.Sign(msg)
		if err != nil || !Verify(k.Public(), msg, sig) {
			t.Fatalf("signature does not verify: %v", err)
		}
		k.Raw = bytes.Repeat([]byte{7}, 32)
	}
	lit := PrivateKey{Alg: Ed25519, Raw: k.Raw}
	sig, _ := lit.Sign(msg)
	want, _ := k.Sign(msg)
	if !bytes.Equal(sig, want) {
		t.Fatal("a key without the cache signs differently")
	}
}
