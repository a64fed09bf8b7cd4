package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// PadByte fills padded blocks after the data (spec: SMP-PAD-1).
const PadByte = '#'

// MaxPadded is the longest message pad accepts: its length must fit the
// 2-byte prefix with room to spare (65535 - 2).
const MaxPadded = 65533

// ErrPadTooLarge is returned by Pad when msg does not fit.
var ErrPadTooLarge = errors.New("wire: message too large to pad")

// ErrBadPadding is returned by Unpad when the length prefix is missing or
// larger than the data that follows.
var ErrBadPadding = errors.New("wire: invalid padded message")

// Pad returns BE16(len(msg)) ‖ msg ‖ '#'… of exactly size bytes.
func Pad(msg []byte, size int) ([]byte, error) {
	return AppendPad(make([]byte, 0, size), msg, size)
}

// AppendPad appends Pad(msg, size) to dst.
func AppendPad(dst, msg []byte, size int) ([]byte, error) {
	if len(msg) > MaxPadded || size-len(msg)-2 < 0 {
		return nil, fmt.Errorf("%w: %d bytes into %d", ErrPadTooLarge, len(msg), size)
	}
	n := len(dst)
	dst = slices.Grow(dst, size)[:n+size]
	binary.BigEndian.PutUint16(dst[n:], uint16(len(msg)))
	copy(dst[n+2:], msg)
	if fill := dst[n+2+len(msg):]; len(fill) > 0 {
		fill[0] = PadByte
		for i := 1; i < len(fill); i *= 2 {
			copy(fill[i:], fill[:i])
		}
	}
	return dst, nil
}

// Unpad returns the message inside a padded block. The fill after the
// message is not checked (SMP-PAD-3): senders write '#', readers accept any.
func Unpad(p []byte) ([]byte, error) {
	if len(p) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, no length prefix", ErrBadPadding, len(p))
	}
	n := int(binary.BigEndian.Uint16(p))
	if n > len(p)-2 {
		return nil, fmt.Errorf("%w: length %d, %d bytes follow", ErrBadPadding, n, len(p)-2)
	}
	return p[2 : 2+n : 2+n], nil
}
