package wire

import (
	"encoding/binary"
	"fmt"
)

// MaxShort is the longest string a 1-byte length prefix can carry.
const MaxShort = 255

// MaxLarge is the longest string a 2-byte length prefix can carry.
const MaxLarge = 65535

// MaxCount is the largest element count of a counted list.
const MaxCount = 255

// A Builder appends SMP encodings to a byte slice. The zero value is ready.
// The first failure (a string or list too long for its prefix) is kept and
// returned by Bytes; an SMP encoder never wraps a length silently.
type Builder struct {
	buf []byte
	err error
}

// NewBuilder returns a Builder that appends to buf (which may be nil).
func NewBuilder(buf []byte) *Builder { return &Builder{buf: buf} }

// Bytes returns the encoding, or the first error met while building it.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.buf, nil
}

// Err returns the first error met so far.
func (b *Builder) Err() error { return b.err }

// Len is the number of bytes written so far.
func (b *Builder) Len() int { return len(b.buf) }

// SetError records err unless an earlier error is already recorded.
func (b *Builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Byte appends one raw byte (a tag, a separator, a Char).
func (b *Builder) Byte(c byte) {
	if b.err == nil {
		b.buf = append(b.buf, c)
	}
}

// Raw appends bytes with no prefix: literal tags, fixed-size fields, tails.
func (b *Builder) Raw(p []byte) {
	if b.err == nil {
		b.buf = append(b.buf, p...)
	}
}

// String appends the bytes of s with no prefix (a command tag, a keyword).
func (b *Builder) String(s string) {
	if b.err == nil {
		b.buf = append(b.buf, s...)
	}
}

// Tail appends the final field of a message: raw bytes to the end.
func (b *Builder) Tail(p []byte) { b.Raw(p) }

// Word16 appends v as 2 bytes big-endian.
func (b *Builder) Word16(v uint16) {
	if b.err == nil {
		b.buf = binary.BigEndian.AppendUint16(b.buf, v)
	}
}

// Word32 appends v as 4 bytes big-endian.
func (b *Builder) Word32(v uint32) {
	if b.err == nil {
		b.buf = binary.BigEndian.AppendUint32(b.buf, v)
	}
}

// Int64 appends v as 8 bytes big-endian two's complement.
func (b *Builder) Int64(v int64) {
	if b.err == nil {
		b.buf = binary.BigEndian.AppendUint64(b.buf, uint64(v))
	}
}

// Bool appends 'T' or 'F'.
func (b *Builder) Bool(v bool) {
	if v {
		b.Byte('T')
	} else {
		b.Byte('F')
	}
}

// Maybe appends the presence tag of an optional field: '1' when present
// (the value follows), '0' when absent.
func (b *Builder) Maybe(present bool) {
	if present {
		b.Byte('1')
	} else {
		b.Byte('0')
	}
}

// Short appends a 1-byte length and p. p longer than 255 bytes is an error.
func (b *Builder) Short(p []byte) {
	if len(p) > MaxShort {
		b.SetError(fmt.Errorf("wire: short string of %d bytes exceeds %d", len(p), MaxShort))
		return
	}
	b.Byte(byte(len(p)))
	b.Raw(p)
}

// Large appends a 2-byte big-endian length and p. p longer than 65535 bytes
// is an error.
func (b *Builder) Large(p []byte) {
	if len(p) > MaxLarge {
		b.SetError(fmt.Errorf("wire: large string of %d bytes exceeds %d", len(p), MaxLarge))
		return
	}
	b.Word16(uint16(len(p)))
	b.Raw(p)
}

// Count appends the 1-byte element count of a list. More than 255 elements
// is an error; nonEmpty makes 0 an error too.
func (b *Builder) Count(n int, nonEmpty bool) {
	switch {
	case n > MaxCount:
		b.SetError(fmt.Errorf("wire: list of %d elements exceeds %d", n, MaxCount))
	case n < 0 || (nonEmpty && n == 0):
		b.SetError(fmt.Errorf("wire: non-empty list has %d elements", n))
	default:
		b.Byte(byte(n))
	}
}
