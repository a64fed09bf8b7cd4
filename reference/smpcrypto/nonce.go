package smpcrypto

// NonceFromID derives a nonce from an identifier such as a correlation id or
// a message id (spec: SMP-NONCE-1). Ids are usually 24 bytes and used as
// they are; a longer id is cut to its first 24 bytes and a shorter one is
// filled on the right with zero bytes, so any id yields a nonce.
func NonceFromID(id []byte) Nonce {
	var n Nonce
	copy(n[:], id)
	return n
}

// Reversed returns the nonce with its bytes in reverse order, the nonce of
// a reply that answers a message sent under n (spec: SMP-NONCE-2).
func (n Nonce) Reversed() Nonce {
	var r Nonce
	for i, c := range n {
		r[NonceSize-1-i] = c
	}
	return r
}
