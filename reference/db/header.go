package db

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// The clear header (docs/db.md): everything needed to derive the page key
// from the passphrase, and a check value that tells a wrong passphrase from
// a damaged database.
const (
	headerMagic    = "smpkitdb"
	headerVersion  = 1
	kdfArgon2id    = 1
	cipherAdiantum = 1 // Adiantum over 4096-byte blocks, tweak = block offset
	saltLen        = 16
	checkLen       = 32
	headerLen      = 8 + 2 + 1 + 1 + 4 + 4 + 1 + 1 + saltLen + checkLen // 70

	checkLabel = "smpkit db key check"
)

// Bounds on the KDF parameters a header may ask for: a damaged or hostile
// header must not make Open allocate without limit.
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 4 << 20 // 4 GiB
	minKDFMemoryKiB = 8
)

// KDFParams are argon2id's cost parameters.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is used for new databases unless Options says otherwise: the
// parameters RFC 9106 §4 suggests for memory-constrained uses (64 MiB, 3
// passes), with 4 lanes.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

func (p KDFParams) valid() error {
	switch {
	case p.Time == 0 || p.Time > maxKDFTime:
		return fmt.Errorf("argon2id time %d out of range 1..%d", p.Time, maxKDFTime)
	case p.MemoryKiB < minKDFMemoryKiB || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range %d..%d", p.MemoryKiB, minKDFMemoryKiB, maxKDFMemoryKiB)
	case p.Threads == 0:
		return errors.New("argon2id threads 0")
	case p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id memory %d KiB below 8 KiB per thread (%d threads)", p.MemoryKiB, p.Threads)
	}
	return nil
}

// Header is the parsed clear header (docs/db.md).
type Header struct {
	KDF   KDFParams
	Salt  [saltLen]byte
	Check [checkLen]byte
}

// newHeader makes a header for a new database with a fresh salt; the check
// value is filled in by keys.
func newHeader(p KDFParams, rnd io.Reader) (*Header, error) {
	if err := p.valid(); err != nil {
		return nil, err
	}
	h := &Header{KDF: p}
	if _, err := io.ReadFull(rnd, h.Salt[:]); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	return h, nil
}

// Marshal encodes the header (docs/db.md, "Header").
func (h *Header) Marshal() []byte {
	b := make([]byte, 0, headerLen)
	b = append(b, headerMagic...)
	b = binary.BigEndian.AppendUint16(b, headerVersion)
	b = append(b, kdfArgon2id, cipherAdiantum)
	b = binary.BigEndian.AppendUint32(b, h.KDF.Time)
	b = binary.BigEndian.AppendUint32(b, h.KDF.MemoryKiB)
	b = append(b, h.KDF.Threads, saltLen)
	b = append(b, h.Salt[:]...)
	return append(b, h.Check[:]...)
}

// signed is the part of the header the check value covers.
func (h *Header) signed() []byte { return h.Marshal()[:headerLen-checkLen] }

// ParseHeader decodes a header; it never panics.
func ParseHeader(b []byte) (*Header, error) {
	if len(b) != headerLen {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrHeader, len(b), headerLen)
	}
	if string(b[:8]) != headerMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrHeader, b[:8])
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != headerVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrHeader, v, headerVersion)
	}
	if b[10] != kdfArgon2id {
		return nil, fmt.Errorf("%w: unknown KDF %d", ErrHeader, b[10])
	}
	if b[11] != cipherAdiantum {
		return nil, fmt.Errorf("%w: unknown cipher %d", ErrHeader, b[11])
	}
	h := &Header{KDF: KDFParams{Time: binary.BigEndian.Uint32(b[12:]), MemoryKiB: binary.BigEndian.Uint32(b[16:]), Threads: b[20]}}
	if b[21] != saltLen {
		return nil, fmt.Errorf("%w: salt length %d, want %d", ErrHeader, b[21], saltLen)
	}
	if err := h.KDF.valid(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	copy(h.Salt[:], b[22:])
	copy(h.Check[:], b[22+saltLen:])
	return h, nil
}

// keys derives the 32-byte page key and the check value from the
// passphrase: argon2id gives 64 bytes, the first 32 key the pages, the last
// 32 key an HMAC-SHA256 over the header's parameters.
func (h *Header) keys(passphrase string) (pageKey []byte, check [checkLen]byte) {
	k := argon2.IDKey([]byte(passphrase), h.Salt[:], h.KDF.Time, h.KDF.MemoryKiB, h.KDF.Threads, 64)
	m := hmac.New(sha256.New, k[32:])
	m.Write([]byte(checkLabel))
	m.Write(h.signed())
	copy(check[:], m.Sum(nil))
	return k[:32], check
}
