package smpcrypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"testing"
)

// TestChainStep holds the hand-written HKDF of Step to crypto/hkdf.
func TestChainStep(t *testing.T) {
	for range 200 {
		var ck ChainKey
		rand.Read(ck[:])
		out, err := hkdf.Key(sha512.New, ck[:], nil, "SimpleXSbChain", 88)
		if err != nil {
			t.Fatal(err)
		}
		next, key, nonce := ck.Step()
		got := append(append(next[:], key[:]...), nonce[:]...)
		if string(got) != string(out) {
			t.Fatalf("Step(%x) = %x, hkdf gives %x", ck, got, out)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ChainKey{}.Step() }); n != 0 {
		t.Errorf("Step allocates %v times", n)
	}
}

// TestAppendSealPadded checks the append forms against the allocating ones.
func TestAppendSealPadded(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	var n Nonce
	rand.Read(n[:])
	msg := []byte("a message to pad and seal")
	want, err := SealPadded(key, n, msg, 300)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got, err := AppendSealPadded(append([]byte(nil), prefix...), key, n, msg, 300)
	if err != nil || string(got) != string(prefix)+string(want) {
		t.Fatalf("AppendSealPadded: %x, %v; want prefix ‖ %x", got, err, want)
	}
	plain, err := AppendOpenPadded(make([]byte, 3, 400), key, n, want)
	if err != nil || string(plain) != string(msg) {
		t.Fatalf("AppendOpenPadded: %q, %v", plain, err)
	}
}
