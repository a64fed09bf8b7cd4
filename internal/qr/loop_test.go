package qr

import (
	"bytes"
	"math/rand"
	"testing"
)

// Links of the sizes smp-chat prints, with random queue parts, all read
// back from their PNGs (a reader that finds 97 of 100 is not enough).
func TestDecodeLinkSizes(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_%"
	for i := 0; i < 40; i++ {
		b := make([]byte, 250+r.Intn(350))
		for j := range b {
			b[j] = abc[r.Intn(len(abc))]
		}
		s := "simplex:/invitation#/?v=2-7&smp=" + string(b)
		p, err := PNG(s, 6)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decode(bytes.NewReader(p)); err != nil || got != s {
			t.Errorf("link %d (%d bytes): %v", i, len(s), err)
		}
	}
}
