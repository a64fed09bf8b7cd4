// Package wire holds the primitive binary encodings of SMP (spec/smp.md §2,
// "Encoding"): big-endian integers, the T/F bool, the '0'/'1' maybe tag,
// 1-byte-length "short" strings, 2-byte-length "large" strings, tails,
// counted lists, and the '#'-filled padding used by every fixed-size layer.
//
// Builder appends; Parser consumes. Both keep the first error they meet and
// turn later calls into no-ops, so a codec reads as a straight list of fields
// and checks the error once, in the style of golang.org/x/crypto/cryptobyte.
//
// Slices returned by Parser alias the input: nothing is copied, so decoding
// never allocates more than the input holds. Copy what must outlive the input.
package wire
