package agent

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// A receiver fed a sender's chain in any order, with repeats and tampered
// hashes, classifies each message as GC-ENV-7 says, and a chain delivered
// in order is all OK.
func TestIntegrityProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "n")
		// The sender's chain: message i+2 carries hashes[i], the hash of
		// message i+1 (message 1 is the confirmation).
		hashes := make([][]byte, n+1)
		for i := range hashes {
			hashes[i] = hash([]byte(fmt.Sprint("message ", i+1)))
		}
		last, lastHash := int64(1), hashes[0]
		for _, k := range rapid.SliceOfN(rapid.IntRange(0, n-1), 1, 40).Draw(t, "deliveries") {
			id, prev := int64(k+2), hashes[k]
			tampered := rapid.IntRange(0, 9).Draw(t, "tamper") == 0
			if tampered {
				prev = []byte("tampered")
			}
			got := checkIntegrity(last, id, lastHash, prev)
			next := id == last+1
			switch {
			case next && !tampered:
				if !got.OK() {
					t.Fatalf("in order %d after %d: %s", id, last, got)
				}
			case next:
				if got.Err != MsgBadHash {
					t.Fatalf("tampered %d after %d: %s", id, last, got)
				}
			case id == last:
				if got.Err != MsgDuplicate {
					t.Fatalf("repeat %d: %s", id, got)
				}
			case id < last:
				if got.Err != MsgBadID || got.MsgID != id {
					t.Fatalf("earlier %d after %d: %s", id, last, got)
				}
			default:
				if got.Err != MsgSkipped || got.FromMsgID != last+1 || got.ToMsgID != id-1 {
					t.Fatalf("gap %d after %d: %s", id, last, got)
				}
			}
			last, lastHash = id, hash([]byte(fmt.Sprint("message ", id)))
		}
	})
	// The whole chain in order is OK throughout.
	last, lastHash := int64(1), hash([]byte("message 1"))
	for id := int64(2); id < 50; id++ {
		if got := checkIntegrity(last, id, lastHash, lastHash); !got.OK() {
			t.Fatalf("%d: %s", id, got)
		}
		last, lastHash = id, hash([]byte(fmt.Sprint("message ", id)))
	}
}

func TestCheckIntegrity(t *testing.T) {
	h1, h2 := []byte{1}, []byte{2}
	for _, c := range []struct {
		last, id int64
		prev     []byte
		want     string
	}{
		{1, 2, h1, "OK"},
		{1, 2, h2, "ERR HASH"},
		{4, 2, h1, "ERR ID 2"},
		{4, 4, h1, "ERR DUPLICATE"},
		{4, 4, h2, "ERR DUPLICATE"},
		{1, 3, h1, "ERR NO_ID 2 2"},
		{1, 9, h2, "ERR NO_ID 2 8"},
	} {
		if got := checkIntegrity(c.last, c.id, h1, c.prev).String(); got != c.want {
			t.Errorf("last %d, id %d: %s, want %s", c.last, c.id, got, c.want)
		}
	}
}
