package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// The log format (docs/store.md). A file starts with fileMagic; each record
// is framed as
//
//	sync mark 0xA5 0x5A ‖ u32 payload length ‖ u32 CRC-32C(length ‖ payload) ‖ payload
//
// with big-endian integers and a payload of 1..maxRecord bytes. The sync
// mark lets replay find the next record after damage; the CRC covers the
// length, so zero-filled space (an empty payload has CRC 0) is never a
// record. Files written before the header existed (format 1: u32 length ‖
// u32 CRC-32C(payload) ‖ payload, no header) are still read, and rewritten
// in format 2 at the next compaction.
const (
	fileMagic   = "SMPSTOR2"
	frameHeader = 10
	v1Header    = 8
	// maxRecord bounds one record's payload; a larger length is damage.
	maxRecord = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends payload, framed, to dst.
func appendFrame(dst, payload []byte) []byte {
	var h [frameHeader]byte
	h[0], h[1] = 0xA5, 0x5A
	binary.BigEndian.PutUint32(h[2:6], uint32(len(payload)))
	crc := crc32.Update(crc32.Checksum(h[2:6], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(h[6:10], crc)
	return append(append(dst, h[:]...), payload...)
}

// errDamaged marks a record that cannot be trusted.
var errDamaged = errors.New("damaged record")

// damage is a run of bytes of a log that held no intact record.
type damage struct{ off, n int64 }

// frameAt returns the payload of an intact frame at the reader's position,
// or ok false.
func frameAt(r *bufio.Reader, v1 bool) (payload []byte, ok bool) {
	hl := frameHeader
	if v1 {
		hl = v1Header
	}
	h, _ := r.Peek(hl)
	if len(h) < hl {
		return nil, false
	}
	var n uint32
	if v1 {
		n = binary.BigEndian.Uint32(h[0:4])
	} else {
		if h[0] != 0xA5 || h[1] != 0x5A {
			return nil, false
		}
		n = binary.BigEndian.Uint32(h[2:6])
	}
	if n == 0 || n > maxRecord {
		return nil, false
	}
	full, _ := r.Peek(hl + int(n))
	if len(full) < hl+int(n) {
		return nil, false
	}
	p := full[hl:]
	if v1 {
		return p, crc32.Checksum(p, castagnoli) == binary.BigEndian.Uint32(full[4:8])
	}
	crc := crc32.Update(crc32.Checksum(full[2:6], castagnoli), castagnoli, p)
	return p, crc == binary.BigEndian.Uint32(full[6:10])
}

// scanLog calls fn with the payload of each intact record of f, in order
// (the payload is only valid during the call). Bytes that hold no intact
// record, and records fn rejects with errDamaged, are skipped and reported:
// replay resynchronises on the next intact frame, so damage in the middle
// of a file costs only the records it touches. Another error from fn stops
// the scan. legacy reports a format-1 file.
func scanLog(f io.Reader, fileSize int64, fn func(payload []byte) error) (bad []damage, size int64, legacy bool, err error) {
	r := bufio.NewReaderSize(f, int(min(fileSize, maxRecord)+2*frameHeader))
	head, _ := r.Peek(len(fileMagic))
	var off int64
	switch {
	case len(head) == 0:
		return nil, 0, false, nil
	case string(head) == fileMagic:
		r.Discard(len(fileMagic))
		off = int64(len(fileMagic))
	default:
		// Format 1 if a format-1 record starts the file; otherwise a
		// format-2 file whose header is damaged.
		if _, ok := frameAt(r, true); ok {
			legacy = true
		}
	}
	hl := int64(frameHeader)
	if legacy {
		hl = v1Header
	}
	start := int64(-1) // start of the current run of damage
	endRun := func() {
		if start >= 0 {
			bad = append(bad, damage{start, off - start})
			start = -1
		}
	}
	for {
		if b, _ := r.Peek(1); len(b) == 0 {
			endRun()
			return bad, off, legacy, nil
		}
		p, ok := frameAt(r, legacy)
		if !ok {
			if start < 0 {
				start = off
			}
			r.Discard(1)
			off++
			continue
		}
		n := hl + int64(len(p))
		ferr := fn(p)
		switch {
		case ferr == nil:
			endRun()
		case errors.Is(ferr, errDamaged):
			if start < 0 {
				start = off
			}
		default:
			return bad, off, legacy, ferr
		}
		r.Discard(int(n))
		off += n
	}
}
