package chatmsg

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Size limits (CH-SIZE-1..4), in bytes, as upstream's Protocol.hs sets them.
const (
	MaxEncodedMsgLength      = 15602 // a message or batch body, uncompressed
	MaxCompressedMsgLength   = 13380 // a compressed body on a PQ connection
	MaxEncodedInfoLength     = 14694 // connection info
	MaxCompressedInfoLength  = 10968 // compressed connection info
	MaxDecompressedLength    = 65536 // what one compressed item may expand to
	MaxBatchElements         = 255   // binary batch element count (one byte)
	MaxPassthroughLength     = 180   // compressed items up to this length are stored as is
	compressionLevelUpstream = 3     // zstd level upstream uses
)

// Framing bytes (CH-FRAME-1).
const (
	FrameJSON       = '{'
	FrameJSONBatch  = '['
	FrameBinBatch   = '='
	FrameCompressed = 'X'
)

// Item is one message of a body: its decoded form or the error it got, and
// its exact bytes (for an element of a binary batch, the element).
type Item struct {
	Msg *Message
	Raw []byte
	Err error
}

// ParseBody splits an agent message body (or connection info) into its
// messages (CH-FRAME-1..7). An error in one message of a batch is that item's
// Err and does not affect the others; the returned error is for a body whose
// framing itself is broken, in which case no items are returned.
func ParseBody(body []byte) ([]Item, error) {
	return parseBody(body, false)
}

func parseBody(body []byte, inCompressed bool) ([]Item, error) {
	if len(body) == 0 {
		return nil, errf(ErrEmpty, "", "empty body")
	}
	switch body[0] {
	case FrameJSON:
		m, err := ParseMessage(body)
		return []Item{{Msg: m, Raw: body, Err: err}}, nil
	case FrameJSONBatch:
		return parseJSONBatch(body)
	case FrameBinBatch:
		return parseBinaryBatch(body)
	case FrameCompressed:
		if inCompressed {
			return nil, errf(ErrNested, "byte 0", "compressed body inside a compressed item")
		}
		return parseCompressed(body)
	}
	return nil, errf(ErrFraming, "byte 0", "unknown framing byte 0x%02x", body[0])
}

func parseJSONBatch(body []byte) ([]Item, error) {
	if !json.Valid(body) {
		return nil, errf(ErrJSON, "batch", "not a JSON array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, errf(ErrJSON, "batch", "%v", err)
	}
	if len(elems) == 0 {
		return nil, errf(ErrFraming, "batch", "empty batch")
	}
	items := make([]Item, len(elems))
	for i, e := range elems {
		items[i].Raw = e
		if firstByte(e) != '{' {
			items[i].Err = errf(ErrJSON, "batch["+itoa(i)+"]", "want a JSON object, got %s", jsonKind(e))
			continue
		}
		items[i].Msg, items[i].Err = ParseMessage(e)
	}
	return items, nil
}

// parseBinaryBatch reads '=' count (count × (Word16 length, element)).
func parseBinaryBatch(body []byte) ([]Item, error) {
	if len(body) < 2 {
		return nil, errf(ErrFraming, "byte 1", "binary batch without a count")
	}
	n := int(body[1])
	if n == 0 {
		return nil, errf(ErrFraming, "byte 1", "binary batch of zero elements")
	}
	rest := body[2:]
	items := make([]Item, 0, n)
	for i := 0; i < n; i++ {
		pos := len(body) - len(rest)
		if len(rest) < 2 {
			return nil, errf(ErrFraming, "byte "+itoa(pos), "element %d: truncated length", i)
		}
		l := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < l {
			return nil, errf(ErrFraming, "byte "+itoa(pos), "element %d: length %d, %d bytes left", i, l, len(rest))
		}
		e := rest[:l:l]
		rest = rest[l:]
		it := Item{Raw: e}
		switch {
		case l == 0:
			it.Err = errf(ErrElement, "element "+itoa(i), "empty element")
		case e[0] == FrameJSON:
			it.Msg, it.Err = ParseMessage(e)
		default:
			// '/' signed, '>' forwarded and 'F' file elements belong to
			// channels and file transfer, outside this revision.
			it.Err = errf(ErrElement, "element "+itoa(i), "element kind %q not supported", e[0])
		}
		items = append(items, it)
	}
	if len(rest) != 0 {
		return nil, errf(ErrFraming, "byte "+itoa(len(body)-len(rest)), "%d bytes after the last element", len(rest))
	}
	return items, nil
}

// parseCompressed reads 'X' count (count × item), item = '0' len8 bytes |
// '1' len16 zstd; each item decompresses to a body parsed again.
func parseCompressed(body []byte) ([]Item, error) {
	if len(body) < 2 {
		return nil, errf(ErrFraming, "byte 1", "compressed body without a count")
	}
	n := int(body[1])
	if n == 0 {
		return nil, errf(ErrFraming, "byte 1", "compressed body of zero items")
	}
	rest := body[2:]
	var items []Item
	total := 0 // bytes the items expand to, together (CH-FRAME-6)
	for i := 0; i < n; i++ {
		pos := len(body) - len(rest)
		where := "byte " + itoa(pos)
		if len(rest) < 2 {
			return nil, errf(ErrFraming, where, "item %d: truncated", i)
		}
		var data []byte
		switch rest[0] {
		case '0':
			l := int(rest[1])
			if len(rest) < 2+l {
				return nil, errf(ErrFraming, where, "item %d: length %d, %d bytes left", i, l, len(rest)-2)
			}
			data, rest = rest[2:2+l], rest[2+l:]
		case '1':
			if len(rest) < 3 {
				return nil, errf(ErrFraming, where, "item %d: truncated length", i)
			}
			l := int(binary.BigEndian.Uint16(rest[1:]))
			if len(rest) < 3+l {
				return nil, errf(ErrFraming, where, "item %d: length %d, %d bytes left", i, l, len(rest)-3)
			}
			var err error
			if data, err = decompress(rest[3 : 3+l]); err != nil {
				return nil, errf(ErrCompression, where, "item %d: %v", i, err)
			}
			rest = rest[3+l:]
		default:
			return nil, errf(ErrCompression, where, "item %d: unknown tag 0x%02x", i, rest[0])
		}
		if total += len(data); total > MaxDecompressedLength {
			return nil, errf(ErrCompression, where, "items %d and before expand to %d bytes, limit %d", i, total, MaxDecompressedLength)
		}
		sub, err := parseBody(data, true)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Where = strings.TrimSpace("item " + itoa(i) + " " + e.Where)
			}
			return nil, err
		}
		items = append(items, sub...)
	}
	if len(rest) != 0 {
		return nil, errf(ErrFraming, "byte "+itoa(len(body)-len(rest)), "%d bytes after the last item", len(rest))
	}
	return items, nil
}

var (
	zOnce sync.Once
	zDec  *zstd.Decoder
	zEnc  *zstd.Encoder
)

func zInit() {
	var err error
	zDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxDecompressedLength), zstd.WithDecoderMaxWindow(1<<20))
	if err != nil {
		panic("chatmsg: zstd decoder: " + err.Error()) // fixed options; cannot fail
	}
	zEnc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(compressionLevelUpstream)), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		panic("chatmsg: zstd encoder: " + err.Error())
	}
}

// decompress expands one zstd item, refusing more than MaxDecompressedLength
// bytes of output (CH-FRAME-6).
func decompress(data []byte) ([]byte, error) {
	zOnce.Do(zInit)
	out, err := zDec.DecodeAll(data, nil)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxDecompressedLength {
		return nil, errf(ErrLimit, "", "decompresses to %d bytes, limit %d", len(out), MaxDecompressedLength)
	}
	return out, nil
}

// Compress wraps bodies in one compressed body (CH-FRAME-5): 'X', the count,
// and per body a passthrough item when it is at most MaxPassthroughLength
// bytes, else a zstd item.
func Compress(bodies ...[]byte) ([]byte, error) {
	if len(bodies) == 0 || len(bodies) > 255 {
		return nil, errf(ErrLimit, "", "%d items: want 1 to 255", len(bodies))
	}
	zOnce.Do(zInit)
	out := []byte{FrameCompressed, byte(len(bodies))}
	for i, b := range bodies {
		if len(b) == 0 || b[0] == FrameCompressed {
			return nil, errf(ErrFraming, "item "+itoa(i), "item is empty or compressed")
		}
		if len(b) <= MaxPassthroughLength {
			out = append(out, '0', byte(len(b)))
			out = append(out, b...)
			continue
		}
		z := zEnc.EncodeAll(b, nil)
		if len(z) > 0xffff {
			return nil, errf(ErrLimit, "item "+itoa(i), "compresses to %d bytes", len(z))
		}
		out = append(out, '1', byte(len(z)>>8), byte(len(z)))
		out = append(out, z...)
	}
	return out, nil
}

// EncodeJSONBatch joins encoded messages as a JSON batch (CH-FRAME-2); one
// message is returned as it is.
func EncodeJSONBatch(msgs ...[]byte) []byte {
	if len(msgs) == 1 {
		return msgs[0]
	}
	b := []byte{'['}
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
	}
	return append(b, ']')
}

// EncodeBinaryBatch writes elements as a binary batch (CH-FRAME-3).
func EncodeBinaryBatch(elems ...[]byte) ([]byte, error) {
	if len(elems) == 0 || len(elems) > MaxBatchElements {
		return nil, errf(ErrLimit, "", "%d elements: want 1 to %d", len(elems), MaxBatchElements)
	}
	b := []byte{FrameBinBatch, byte(len(elems))}
	for i, e := range elems {
		if len(e) == 0 || len(e) > 0xffff {
			return nil, errf(ErrLimit, "element "+itoa(i), "length %d: want 1 to 65535", len(e))
		}
		b = append(b, byte(len(e)>>8), byte(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// Batch groups encoded messages, in order, into as few JSON batches of at
// most maxLen bytes as it can (CH-SIZE-2). A message longer than maxLen on
// its own is an ErrLimit error and nothing is returned: a sender never drops
// part of what it was asked to send.
func Batch(maxLen int, msgs ...[]byte) ([][]byte, error) {
	var out [][]byte
	var cur [][]byte
	size := 0 // of EncodeJSONBatch(cur...)
	for i, m := range msgs {
		if len(m) > maxLen {
			return nil, errf(ErrLimit, "message "+itoa(i), "%d bytes, limit %d", len(m), maxLen)
		}
		next := len(m) // cur empty: the message alone
		if len(cur) == 1 {
			next = size + len(m) + 3 // brackets and a comma
		} else if len(cur) > 1 {
			next = size + len(m) + 1
		}
		if len(cur) > 0 && next > maxLen {
			out = append(out, EncodeJSONBatch(cur...))
			cur, next = nil, len(m)
		}
		cur = append(cur, m)
		size = next
	}
	if len(cur) > 0 {
		out = append(out, EncodeJSONBatch(cur...))
	}
	return out, nil
}
