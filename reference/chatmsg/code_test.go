package chatmsg

import "testing"

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
