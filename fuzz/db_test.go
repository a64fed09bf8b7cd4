package fuzz

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/smpkit/smpkit/reference/db"
)

// headerSeed is the example header of docs/db.md.
const headerSeed = "736d706b6974646200010101000000030001000004" +
	"10000102030405060708090a0b0c0d0e0f" +
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func FuzzDBHeader(f *testing.F) {
	b, _ := hex.DecodeString(headerSeed)
	if _, err := db.ParseHeader(b); err != nil {
		f.Fatalf("docs/db.md example: %v", err)
	}
	f.Add(b)
	f.Add(b[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := db.ParseHeader(data)
		if err != nil {
			return
		}
		if again := h.Marshal(); !bytes.Equal(again, data) {
			t.Fatalf("round trip:\n%x\n%x", data, again)
		}
	})
}
