package ratchet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

const padLen = 15840 // agent message padded size without PQ

func key(t testing.TB) smpcrypto.PrivateKey {
	k, err := smpcrypto.GenerateKey(smpcrypto.X448, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pair runs the key agreement through encoded params, as a link and a
// confirmation would carry them, and returns (joiner, initiator).
func pair(t testing.TB, v uint16) (*State, *State) {
	rpk1, rpk2 := key(t), key(t)
	b := wire.NewBuilder(nil)
	AppendParams(b, Params{Version: v, Key1: rpk1.Public(), Key2: rpk2.Public()})
	enc, _ := b.Bytes()
	p := wire.NewParser(enc)
	initParams := ParseParams(p)
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	spk1, spk2 := key(t), key(t)
	ji, err := X3DHJoin(spk1, spk2, initParams)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := X3DHInit(rpk1, rpk2, Params{Version: v, Key1: spk1.Public(), Key2: spk2.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ji) != fmt.Sprint(ii) {
		t.Fatalf("X3DH results differ:\n%x\n%x", ji, ii)
	}
	j, err := InitJoin(v, VersionMax, initParams.Key2, key(t), ji)
	if err != nil {
		t.Fatal(err)
	}
	return j, InitInitiator(v, VersionMax, rpk2, ii)
}

func TestConversation(t *testing.T) {
	for _, v := range []uint16{VersionKDFX3DH, VersionPQ} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			j, i := pair(t, v)
			js, is := Skipped{}, Skipped{}
			send := func(s *State, text string) []byte {
				c, err := s.Encrypt([]byte(text), padLen)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			recv := func(s *State, sk Skipped, c []byte, want string) {
				t.Helper()
				got, err := s.Decrypt(rand.Reader, sk, c)
				if err != nil || string(got) != want {
					t.Fatalf("decrypt %q: %q, %v", want, got, err)
				}
			}
			if _, err := i.Encrypt([]byte("x"), padLen); !errors.Is(err, ErrState) {
				t.Fatalf("initiator sent before receiving: %v", err)
			}
			m1, m2, m3 := send(j, "j1"), send(j, "j2"), send(j, "j3")
			recv(i, is, m1, "j1")
			recv(i, is, m3, "j3") // m2 skipped
			if len(is) != 1 {
				t.Fatalf("skipped keys: %d header keys", len(is))
			}
			r1 := send(i, "i1")
			recv(j, js, r1, "i1")
			recv(i, is, m2, "j2") // late, from the skipped keys
			if len(is) != 0 {
				t.Fatal("skipped key not removed")
			}
			if _, err := i.Decrypt(rand.Reader, is, m2); err == nil {
				t.Fatal("replayed message decrypted")
			}
			if _, err := i.Decrypt(rand.Reader, is, m3); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("replay of the newest message: %v", err)
			}
			good := send(j, "j4")
			bad := bytes.Clone(good)
			bad[len(bad)-1] ^= 1
			if _, err := i.Decrypt(rand.Reader, is, bad); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCommitted) {
				t.Fatalf("tampered message: %v", err)
			}
			// As upstream: the header decrypted, so the ratchet stepped and
			// the message key is used up (failure_test.go has each case).
			if _, err := i.Decrypt(rand.Reader, is, good); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("genuine message after its tampered copy: %v", err)
			}
			recv(j, js, send(i, "i2"), "i2")
			recv(i, is, send(j, "j5"), "j5")
			if len(is) != 0 {
				t.Fatalf("skipped: %d", len(is))
			}
			if c, err := j.Encrypt(make([]byte, padLen), padLen); err == nil || c != nil {
				t.Fatal("over-long message encrypted")
			}
		})
	}
}

func TestTooManySkipped(t *testing.T) {
	j, i := pair(t, VersionPQ)
	var last []byte
	for n := 0; n < MaxSkip+2; n++ {
		var err error
		if last, err = j.Encrypt([]byte("m"), 100); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := i.Decrypt(rand.Reader, Skipped{}, last); !errors.Is(err, ErrTooManySkip) {
		t.Fatalf("got %v", err)
	}
}

// Property: whatever the order of delivery, with losses, duplicates and
// copies whose body was tampered with, a message's first copy decides: a
// genuine one decrypts to what was sent, a tampered one fails and, as
// upstream, uses up the message's key (GC-RATCHET-8), so every later copy
// fails too.
func TestRandomDelivery(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		j, i := pair(t, rapid.SampledFrom([]uint16{VersionKDFX3DH, VersionPQ}).Draw(rt, "v"))
		states := [2]*State{j, i}
		skipped := [2]Skipped{{}, {}}
		type msg struct {
			to   int
			text string
			ct   []byte
		}
		var inFlight []msg
		delivered := map[string]bool{} // a copy, genuine or tampered, was delivered
		sent := 0
		// The initiator can only send after it received something.
		canSend := [2]bool{true, false}
		for step := 0; step < rapid.IntRange(10, 60).Draw(rt, "steps"); step++ {
			if len(inFlight) == 0 || rapid.Bool().Draw(rt, "send?") {
				from := rapid.IntRange(0, 1).Draw(rt, "from")
				if !canSend[from] {
					from = 0
				}
				sent++
				text := fmt.Sprintf("%d-%d", from, sent)
				ct, err := states[from].Encrypt([]byte(text), 200)
				if err != nil {
					rt.Fatal(err)
				}
				inFlight = append(inFlight, msg{1 - from, text, ct})
				continue
			}
			k := rapid.IntRange(0, len(inFlight)-1).Draw(rt, "deliver")
			m := inFlight[k]
			if !rapid.Bool().Draw(rt, "keep for a repeat?") {
				inFlight = append(inFlight[:k], inFlight[k+1:]...)
			}
			ct := m.ct
			tampered := rapid.IntRange(0, 5).Draw(rt, "tamper?") == 0
			if tampered {
				ct = bytes.Clone(ct)
				ct[len(ct)-1] ^= 1
			}
			got, err := states[m.to].Decrypt(rand.Reader, skipped[m.to], ct)
			switch {
			case delivered[m.text] && err == nil:
				rt.Fatalf("message %s decrypted after an earlier copy", m.text)
			case delivered[m.text]:
			case tampered && (!errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCommitted)):
				rt.Fatalf("tampered first copy of %s: %v", m.text, err)
			case tampered:
				delivered[m.text] = true
				canSend[m.to] = true // the header opened: any DH step is kept
			case err != nil:
				rt.Fatalf("message %s: %v", m.text, err)
			case string(got) != m.text:
				rt.Fatalf("got %q, want %q", got, m.text)
			default:
				delivered[m.text] = true
				canSend[m.to] = true
			}
		}
	})
}
