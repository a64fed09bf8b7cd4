package chatmsg

import (
	"math/big"
	"strings"
)

// SecurityCode formats a connection's associated-data hash (the agent's
// RatchetADHash) as the security code users compare (CH-CODE-1): the hash
// read as one unsigned big-endian integer, written in decimal without
// leading zeros and cut from the left into groups of five digits joined by
// single spaces (the last group may be shorter).
func SecurityCode(adHash []byte) string {
	digits := new(big.Int).SetBytes(adHash).String()
	var b strings.Builder
	for i := 0; i < len(digits); i += 5 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(digits[i:min(i+5, len(digits))])
	}
	return b.String()
}

// SameSecurityCode compares two codes ignoring spaces, as a code typed or
// scanned by a user may be grouped differently (CH-CODE-2).
func SameSecurityCode(a, b string) bool {
	strip := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	return strip(a) == strip(b)
}
