package chatmsg

import (
	"bytes"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestSecurityCode(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nil, "0"},
		{[]byte{0, 0, 1}, "1"},
		{[]byte{0x01, 0x00, 0x00}, "65536"},
		{[]byte{0x01, 0x86, 0xa0}, "10000 0"},
		{[]byte{0xff, 0xff, 0xff, 0xff}, "42949 67295"},
	} {
		if got := SecurityCode(c.in); got != c.want {
			t.Errorf("SecurityCode(%x) = %q, want %q", c.in, got, c.want)
		}
	}
	if !SameSecurityCode("12345 678", "12345678") || !SameSecurityCode(" 1 2 ", "12") || SameSecurityCode("123", "1234") {
		t.Error("SameSecurityCode")
	}
}

// CH-CODE-1..2: the code is the hash's integer in groups of five digits,
// every group but the last full; regrouping keeps it the same code, and
// another hash gives another code.
func TestSecurityCodeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash")
		code := SecurityCode(h)
		groups := strings.Split(code, " ")
		for i, g := range groups {
			if len(g) == 0 || len(g) > 5 || i < len(groups)-1 && len(g) != 5 {
				t.Fatalf("group %d %q of %q", i, g, code)
			}
		}
		digits := strings.Join(groups, "")
		n, ok := new(big.Int).SetString(digits, 10)
		if !ok || n.Cmp(new(big.Int).SetBytes(h)) != 0 || len(digits) > 1 && digits[0] == '0' {
			t.Fatalf("%q is not %x", code, h)
		}
		at := rapid.IntRange(0, len(digits)).Draw(t, "split")
		if !SameSecurityCode(code, digits[:at]+"  "+digits[at:]) {
			t.Fatal("regrouped code differs")
		}
		other := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "other")
		if !bytes.Equal(other, h) && SameSecurityCode(code, SecurityCode(other)) {
			t.Fatal("two hashes, one code")
		}
	})
}
