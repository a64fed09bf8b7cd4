package ratchet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
)

// Which failed decryptions leave the state as it was and which commit an
// advanced state, as upstream's rcDecrypt does (GC-RATCHET-8).

// snapshot copies everything Decrypt may change.
func snapshot(s *State, sk Skipped) (State, Skipped) {
	c := *s.clone()
	k := Skipped{}
	for hk, keys := range sk {
		k[hk] = map[uint32]MessageKey{}
		for n, mk := range keys {
			k[hk][n] = mk
		}
	}
	return c, k
}

func unchanged(t *testing.T, what string, s *State, sk Skipped, before State, beforeSk Skipped) {
	t.Helper()
	if !reflect.DeepEqual(*s.clone(), before) || !reflect.DeepEqual(sk, beforeSk) {
		t.Fatalf("%s changed the ratchet state", what)
	}
}

func encrypt(t *testing.T, s *State, text string) []byte {
	t.Helper()
	c, err := s.Encrypt([]byte(text), 100)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decrypt(t *testing.T, s *State, sk Skipped, c []byte, want string) {
	t.Helper()
	got, err := s.Decrypt(rand.Reader, sk, c)
	if err != nil || string(got) != want {
		t.Fatalf("decrypt %q: %q, %v", want, got, err)
	}
}

// established returns a pair that has exchanged j1, i1, j2: the initiator
// i receives on j's second chain (Nr = 1) and j sends on it.
func established(t *testing.T) (j, i *State, js, is Skipped) {
	j, i = pair(t, VersionPQ)
	js, is = Skipped{}, Skipped{}
	decrypt(t, i, is, encrypt(t, j, "j1"), "j1")
	decrypt(t, j, js, encrypt(t, i, "i1"), "i1")
	decrypt(t, i, is, encrypt(t, j, "j2"), "j2")
	return
}

func TestFailureParseAndHeaderLeaveState(t *testing.T) {
	j, i, _, is := established(t)
	m := encrypt(t, j, "j3")
	b, bs := snapshot(i, is)
	if _, err := i.Decrypt(rand.Reader, is, m[:10]); !errors.Is(err, ErrParse) || errors.Is(err, ErrCommitted) {
		t.Fatalf("truncated: %v", err)
	}
	unchanged(t, "a malformed message", i, is, b, bs)
	// A header no key opens: a message of another conversation.
	other, _ := pair(t, VersionPQ)
	if _, err := i.Decrypt(rand.Reader, is, encrypt(t, other, "x")); !errors.Is(err, ErrHeader) || errors.Is(err, ErrCommitted) {
		t.Fatalf("foreign header: %v", err)
	}
	unchanged(t, "an undecryptable header", i, is, b, bs)
	// A tampered header.
	bad := bytes.Clone(m)
	bad[40] ^= 1
	if _, err := i.Decrypt(rand.Reader, is, bad); !errors.Is(err, ErrHeader) {
		t.Fatalf("tampered header: %v", err)
	}
	unchanged(t, "a tampered header", i, is, b, bs)
	decrypt(t, i, is, m, "j3")
}

func TestFailurePNOverSkipLeavesState(t *testing.T) {
	j, i, js, is := established(t)
	// j sends more than MaxSkip messages i never gets, then steps.
	for n := 0; n < MaxSkip+2; n++ {
		encrypt(t, j, "lost")
	}
	decrypt(t, j, js, encrypt(t, i, "i2"), "i2")
	m := encrypt(t, j, "after step") // PN = MaxSkip+3, i.Nr = 1 on that chain
	b, bs := snapshot(i, is)
	if _, err := i.Decrypt(rand.Reader, is, m); !errors.Is(err, ErrTooManySkip) || errors.Is(err, ErrCommitted) {
		t.Fatalf("PN over-skip: %v", err)
	}
	unchanged(t, "a PN over-skip", i, is, b, bs)
}

func TestFailureBodyCommits(t *testing.T) {
	j, i, _, is := established(t)
	good := encrypt(t, j, "j3")
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	nr := i.Nr
	if _, err := i.Decrypt(rand.Reader, is, bad); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCommitted) {
		t.Fatalf("tampered body: %v", err)
	}
	if i.Nr != nr+1 {
		t.Fatalf("Nr %d, want %d: the message key is used up", i.Nr, nr+1)
	}
	if _, err := i.Decrypt(rand.Reader, is, good); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("genuine copy after the tampered one: %v", err)
	}
	decrypt(t, i, is, encrypt(t, j, "j4"), "j4")
}

func TestFailureBodyAfterStepCommitsStep(t *testing.T) {
	j, i, js, is := established(t)
	encrypt(t, j, "j3") // lost: its key is skipped by PN at the step
	decrypt(t, j, js, encrypt(t, i, "i2"), "i2")
	good := encrypt(t, j, "j4") // new chain: i steps on it
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	oldDH := i.DHRs.Public().SPKI()
	if _, err := i.Decrypt(rand.Reader, is, bad); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCommitted) {
		t.Fatalf("tampered body after a step: %v", err)
	}
	if bytes.Equal(i.DHRs.Public().SPKI(), oldDH) || i.Nr != 1 {
		t.Fatalf("the step was not committed: Nr %d", i.Nr)
	}
	if is.count() != 1 {
		t.Fatalf("%d skipped keys, want the key of j3", is.count())
	}
	if _, err := i.Decrypt(rand.Reader, is, good); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("genuine copy: %v", err)
	}
	decrypt(t, i, is, encrypt(t, j, "j5"), "j5")
}

func TestFailureTooManyOnNAfterStepCommitsStep(t *testing.T) {
	j, i, js, is := established(t)
	decrypt(t, j, js, encrypt(t, i, "i2"), "i2") // j steps
	first := encrypt(t, j, "first on the new chain")
	var last []byte
	for n := 0; n < MaxSkip+1; n++ {
		last = encrypt(t, j, "later")
	}
	// N = MaxSkip+1 on a chain i has not stepped to yet.
	oldDH := i.DHRs.Public().SPKI()
	if _, err := i.Decrypt(rand.Reader, is, last); !errors.Is(err, ErrTooManySkip) || !errors.Is(err, ErrCommitted) {
		t.Fatalf("N over-skip after a step: %v", err)
	}
	if bytes.Equal(i.DHRs.Public().SPKI(), oldDH) || i.Nr != 0 {
		t.Fatal("the step was not committed")
	}
	// The step is kept: the chain's first message now opens with HKr.
	decrypt(t, i, is, first, "first on the new chain")
}

func TestFailureDuplicateOnSameChainKeepsChain(t *testing.T) {
	j, i, _, is := established(t)
	m := encrypt(t, j, "j3")
	decrypt(t, i, is, m, "j3")
	b, bs := snapshot(i, is)
	if _, err := i.Decrypt(rand.Reader, is, m); !errors.Is(err, ErrDuplicate) || !errors.Is(err, ErrCommitted) {
		t.Fatalf("duplicate: %v", err)
	}
	// Committed, but only the (unchanged) version: nothing else moves.
	unchanged(t, "a duplicate on the current chain", i, is, b, bs)
}

func TestFailureSkippedKeyUsedUp(t *testing.T) {
	j, i, _, is := established(t)
	late := encrypt(t, j, "j3")
	decrypt(t, i, is, encrypt(t, j, "j4"), "j4")
	if is.count() != 1 {
		t.Fatalf("%d skipped keys", is.count())
	}
	bad := bytes.Clone(late)
	bad[len(bad)-1] ^= 1
	b, _ := snapshot(i, is)
	if _, err := i.Decrypt(rand.Reader, is, bad); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCommitted) {
		t.Fatalf("tampered late message: %v", err)
	}
	if is.count() != 0 {
		t.Fatal("the skipped key was kept after its body failed")
	}
	unchanged(t, "a skipped key's failure (beyond the key)", i, is, b, Skipped{})
	if _, err := i.Decrypt(rand.Reader, is, late); err == nil {
		t.Fatal("the genuine late message decrypted after its key was used up")
	}
}
