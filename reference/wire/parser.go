package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrSyntax is matched (errors.Is) by every *ParseError.
var ErrSyntax = errors.New("wire: syntax error")

// A ParseError says what could not be decoded and at which byte offset of the
// parser's input it happened.
type ParseError struct {
	Offset int
	Msg    string
}

func (e *ParseError) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Msg) }

// Is makes errors.Is(err, ErrSyntax) true for every ParseError.
func (e *ParseError) Is(target error) bool { return target == ErrSyntax }

// A Parser consumes SMP encodings from a byte slice. After the first failure
// every method returns a zero value and Err reports that first failure.
type Parser struct {
	data []byte
	off  int
	err  error
}

// NewParser returns a Parser over data. Returned slices alias data.
func NewParser(data []byte) *Parser { return &Parser{data: data} }

// Err returns the first error met, or nil.
func (p *Parser) Err() error { return p.err }

// Offset is the number of bytes consumed so far.
func (p *Parser) Offset() int { return p.off }

// Len is the number of bytes not yet consumed.
func (p *Parser) Len() int { return len(p.data) - p.off }

// Empty reports whether all input is consumed.
func (p *Parser) Empty() bool { return p.off >= len(p.data) }

// Failf records a ParseError at the current offset unless one is recorded.
func (p *Parser) Failf(format string, args ...any) {
	if p.err == nil {
		p.err = &ParseError{Offset: p.off, Msg: fmt.Sprintf(format, args...)}
	}
}

// Fail records err (wrapped with the offset if it is not a ParseError).
func (p *Parser) Fail(err error) {
	if p.err != nil || err == nil {
		return
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		p.err = err
		return
	}
	p.err = &ParseError{Offset: p.off, Msg: err.Error()}
}

// Raw consumes exactly n bytes.
func (p *Parser) Raw(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > p.Len() {
		p.Failf("need %d bytes, %d left", n, p.Len())
		return nil
	}
	s := p.data[p.off : p.off+n : p.off+n]
	p.off += n
	return s
}

// Byte consumes one byte.
func (p *Parser) Byte() byte {
	s := p.Raw(1)
	if s == nil {
		return 0
	}
	return s[0]
}

// Peek returns the next byte without consuming it; ok is false at the end.
func (p *Parser) Peek() (c byte, ok bool) {
	if p.err != nil || p.Empty() {
		return 0, false
	}
	return p.data[p.off], true
}

// Tail consumes and returns everything left (possibly empty, never nil on
// success).
func (p *Parser) Tail() []byte {
	if p.err != nil {
		return nil
	}
	return p.Raw(p.Len())
}

// Word16 consumes a 2-byte big-endian integer.
func (p *Parser) Word16() uint16 {
	s := p.Raw(2)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

// Word32 consumes a 4-byte big-endian integer.
func (p *Parser) Word32() uint32 {
	s := p.Raw(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

// Int64 consumes an 8-byte big-endian two's complement integer.
func (p *Parser) Int64() int64 {
	s := p.Raw(8)
	if s == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(s))
}

// Bool consumes 'T' or 'F'; any other byte is an error.
func (p *Parser) Bool() bool {
	off := p.off
	switch c := p.Byte(); {
	case p.err != nil:
		return false
	case c == 'T':
		return true
	case c == 'F':
		return false
	default:
		p.off = off
		p.Failf("bool: want 'T' or 'F', got 0x%02x", c)
		return false
	}
}

// Maybe consumes the presence tag of an optional field: '1' → true (the value
// follows), '0' → false. Any other byte is an error.
func (p *Parser) Maybe() bool {
	off := p.off
	switch c := p.Byte(); {
	case p.err != nil:
		return false
	case c == '1':
		return true
	case c == '0':
		return false
	default:
		p.off = off
		p.Failf("maybe: want '0' or '1', got 0x%02x", c)
		return false
	}
}

// Short consumes a 1-byte length and that many bytes.
func (p *Parser) Short() []byte {
	n := p.Byte()
	if p.err != nil {
		return nil
	}
	if int(n) > p.Len() {
		p.off--
		p.Failf("short string: length %d, %d bytes left", n, p.Len()-1)
		return nil
	}
	return p.Raw(int(n))
}

// Large consumes a 2-byte big-endian length and that many bytes.
func (p *Parser) Large() []byte {
	n := p.Word16()
	if p.err != nil {
		return nil
	}
	if int(n) > p.Len() {
		p.off -= 2
		p.Failf("large string: length %d, %d bytes left", n, p.Len()-2)
		return nil
	}
	return p.Raw(int(n))
}

// Count consumes a 1-byte list count. With nonEmpty, a count of 0 is an
// error. The count is not checked against the input left: callers decode
// elements one by one, so a lying count fails at the first missing element
// and never sizes an allocation by itself.
func (p *Parser) Count(nonEmpty bool) int {
	n := p.Byte()
	if p.err != nil {
		return 0
	}
	if nonEmpty && n == 0 {
		p.off--
		p.Failf("non-empty list has count 0")
		return 0
	}
	return int(n)
}

// Literal consumes exactly the bytes of s, or fails.
func (p *Parser) Literal(s string) {
	if p.err != nil {
		return
	}
	if p.Len() < len(s) || string(p.data[p.off:p.off+len(s)]) != s {
		p.Failf("want %q", s)
		return
	}
	p.off += len(s)
}

// HasPrefix reports whether the unconsumed input starts with s.
func (p *Parser) HasPrefix(s string) bool {
	return p.err == nil && p.Len() >= len(s) && string(p.data[p.off:p.off+len(s)]) == s
}

// Space consumes one ' ' separator.
func (p *Parser) Space() { p.Literal(" ") }

// End fails unless all input is consumed.
func (p *Parser) End() {
	if p.err == nil && !p.Empty() {
		p.Failf("%d unexpected trailing bytes", p.Len())
	}
}

// Finish is End followed by Err: the usual last line of a decoder.
func (p *Parser) Finish() error {
	p.End()
	return p.err
}

// Rest returns the unconsumed input without consuming it (nil after an
// error). The slice aliases the input.
func (p *Parser) Rest() []byte {
	if p.err != nil {
		return nil
	}
	return p.data[p.off:]
}
