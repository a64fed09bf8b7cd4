package smp

import (
	"fmt"
	"slices"

	"github.com/smpkit/smpkit/reference/wire"
)

// BlockSize is the size of every SMP block, handshake included (SMP-BLOCK-1).
const BlockSize = 16384

// BatchBudget is the most that the items of one block may take, counting
// each transmission with its 2-byte length: the block less the padding
// length, the count and a box tag, reserved whether or not blocks are
// encrypted (SMP-BATCH-2).
const BatchBudget = BlockSize - 2 - 1 - 16

// MaxBatchCount is the most transmissions one block may hold.
const MaxBatchCount = 255

// ErrLargeTransmission is returned by Batch for a transmission that cannot fit
// a block on its own.
type ErrLargeTransmission struct{ Index, Size int }

func (e *ErrLargeTransmission) Error() string {
	return fmt.Sprintf("smp: transmission %d of %d bytes does not fit a block", e.Index, e.Size)
}

// Batch packs transmissions, in order, into as few block contents as
// SMP-BATCH-2 allows. Like the reference client it fills blocks from the end,
// so the first block holds the remainder (receivers must not care).
func Batch(txs [][]byte) ([][]byte, error) {
	groups, err := BatchGroups(txs)
	if err != nil {
		return nil, err
	}
	contents := make([][]byte, 0, len(groups))
	for _, g := range groups {
		c, err := EncodeBlockContent(g)
		if err != nil {
			return nil, err
		}
		contents = append(contents, c)
	}
	return contents, nil
}

// BatchGroups splits transmissions, in order, into the groups that Batch
// puts in one block each.
func BatchGroups(txs [][]byte) ([][][]byte, error) {
	for i, t := range txs {
		if 2+len(t) > BatchBudget {
			return nil, &ErrLargeTransmission{Index: i, Size: len(t)}
		}
	}
	// Group boundaries from the end.
	var groups [][][]byte
	end := len(txs)
	for end > 0 {
		start, size := end, 0
		for start > 0 && end-start < MaxBatchCount && size+2+len(txs[start-1]) <= BatchBudget {
			start--
			size += 2 + len(txs[start])
		}
		groups = append(groups, txs[start:end])
		end = start
	}
	slices.Reverse(groups)
	return groups, nil
}

// EncodeBlockContent frames transmissions as one block's content (SMP-BATCH-1)
// without checking the packing budget.
func EncodeBlockContent(txs [][]byte) ([]byte, error) {
	return AppendBlockContent(nil, txs)
}

// AppendBlockContent appends EncodeBlockContent(txs) to dst.
func AppendBlockContent(dst []byte, txs [][]byte) ([]byte, error) {
	b := wire.NewBuilder(dst)
	b.Count(len(txs), true)
	for _, t := range txs {
		b.Large(t)
	}
	return b.Bytes()
}

// EncodeBlock pads content to a full unencrypted block (SMP-BLOCK-1).
func EncodeBlock(content []byte) ([]byte, error) {
	return wire.Pad(content, BlockSize)
}

// ParseBlockContent splits a block's content into transmissions. Any framing
// failure rejects the whole block with ERR BLOCK (SMP-BATCH-1). The slices
// alias content.
func ParseBlockContent(content []byte) ([][]byte, error) {
	p := wire.NewParser(content)
	n := p.Count(true)
	if p.Err() != nil {
		return nil, wrapErr(BLOCK, "parse batch", p.Err())
	}
	// n ≤ 255, and each item takes at least 2 bytes: bounded by the input.
	txs := make([][]byte, 0, min(n, p.Len()/2))
	for i := 0; i < n && p.Err() == nil; i++ {
		txs = append(txs, p.Large())
	}
	p.End()
	if err := p.Err(); err != nil {
		return nil, wrapErr(BLOCK, "parse batch", err)
	}
	return txs, nil
}

// ParseBlock unpads an unencrypted block and splits its content.
func ParseBlock(block []byte) ([][]byte, error) {
	if len(block) != BlockSize {
		return nil, Errorf(BLOCK, "block of %d bytes", len(block))
	}
	content, err := wire.Unpad(block)
	if err != nil {
		return nil, wrapErr(BLOCK, "unpad block", err)
	}
	return ParseBlockContent(content)
}
