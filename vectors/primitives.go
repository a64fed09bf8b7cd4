package vectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/wire"
)

// primCase is one encoded primitive (spec/smp.md §2.1). Value holds the
// decoded value as JSON: numbers as decimal strings (Int64 does not fit
// every JSON reader), bools as booleans, byte strings as hex, lists as
// arrays, Maybe as null or the inner value, version ranges as [min, max].
type primCase struct {
	Case
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value,omitempty"`
	Bytes Hex             `json:"bytes"`
}

// primitive types and their codecs, for generation and verification.
var primTypes = map[string]struct {
	enc func(b *wire.Builder, v any) error
	dec func(p *wire.Parser) any
}{
	"word16": {func(b *wire.Builder, v any) error { b.Word16(uint16(mustUint(v))); return nil },
		func(p *wire.Parser) any { return strconv.FormatUint(uint64(p.Word16()), 10) }},
	"word32": {func(b *wire.Builder, v any) error { b.Word32(uint32(mustUint(v))); return nil },
		func(p *wire.Parser) any { return strconv.FormatUint(uint64(p.Word32()), 10) }},
	"int64": {func(b *wire.Builder, v any) error { b.Int64(mustInt(v)); return nil },
		func(p *wire.Parser) any { return strconv.FormatInt(p.Int64(), 10) }},
	"system_time": {func(b *wire.Builder, v any) error { b.Int64(mustInt(v)); return nil },
		func(p *wire.Parser) any { return strconv.FormatInt(p.Int64(), 10) }},
	"bool": {func(b *wire.Builder, v any) error { b.Bool(v.(bool)); return nil },
		func(p *wire.Parser) any { return p.Bool() }},
	"short": {func(b *wire.Builder, v any) error { b.Short(mustHex(v)); return b.Err() },
		func(p *wire.Parser) any { return Hex(p.Short()) }},
	"large": {func(b *wire.Builder, v any) error { b.Large(mustHex(v)); return b.Err() },
		func(p *wire.Parser) any { return Hex(p.Large()) }},
	"tail": {func(b *wire.Builder, v any) error { b.Tail(mustHex(v)); return nil },
		func(p *wire.Parser) any { return Hex(p.Tail()) }},
	"maybe_short": {func(b *wire.Builder, v any) error {
		b.Maybe(v != nil)
		if v != nil {
			b.Short(mustHex(v))
		}
		return b.Err()
	}, func(p *wire.Parser) any {
		if p.Maybe() {
			return Hex(p.Short())
		}
		return nil
	}},
	"list_short": {func(b *wire.Builder, v any) error {
		items := v.([]any)
		b.Count(len(items), false)
		for _, it := range items {
			b.Short(mustHex(it))
		}
		return b.Err()
	}, func(p *wire.Parser) any { return listShort(p, false) }},
	"nonempty_list_short": {func(b *wire.Builder, v any) error {
		items := v.([]any)
		b.Count(len(items), true)
		for _, it := range items {
			b.Short(mustHex(it))
		}
		return b.Err()
	}, func(p *wire.Parser) any { return listShort(p, true) }},
	"version_range": {func(b *wire.Builder, v any) error {
		r := v.([]any)
		smp.VersionRange{Min: smp.Version(mustUint(r[0])), Max: smp.Version(mustUint(r[1]))}.Append(b)
		return nil
	}, func(p *wire.Parser) any {
		r := smp.ParseVersionRange(p)
		return []any{strconv.Itoa(int(r.Min)), strconv.Itoa(int(r.Max))}
	}},
}

func listShort(p *wire.Parser, nonEmpty bool) any {
	n := p.Count(nonEmpty)
	out := []any{}
	for i := 0; i < n && p.Err() == nil; i++ {
		out = append(out, Hex(p.Short()))
	}
	return out
}

// The generator builds values as Go values; these read them back whether
// they come from Go (generation) or from JSON (verification).
func mustUint(v any) uint64 {
	n, err := strconv.ParseUint(fmt.Sprint(v), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func mustInt(v any) int64 {
	n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func mustHex(v any) []byte {
	switch x := v.(type) {
	case Hex:
		return x
	case []byte:
		return x
	case string:
		var h Hex
		if err := h.UnmarshalJSON([]byte(strconv.Quote(x))); err != nil {
			panic(err)
		}
		return h
	}
	panic(fmt.Sprintf("not bytes: %T", v))
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// normJSON re-encodes a JSON value so that equal values compare equal.
func normJSON(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func genPrimitives() (any, error) {
	f := File[primCase]{
		Topic: "SMP primitive encodings",
		Description: "Valid cases: decoding bytes as type gives value and consumes every byte; encoding value gives bytes. " +
			"Numbers are decimal strings, byte strings hex, maybe null when absent. Invalid cases must fail to decode " +
			"(error \"CMD SYNTAX\" is what a relay answers when the primitive is inside a command); an invalid case " +
			"without bytes has a value that must fail to encode (error \"encode\").",
		Spec: "spec/smp.md §2.1",
	}
	s255 := bytes.Repeat([]byte{0xab}, 255)
	valid := []struct {
		id, spec, typ string
		v             any
	}{
		{"word16-zero", "SMP-ENC-1", "word16", "0"},
		{"word16-max", "SMP-ENC-1", "word16", "65535"},
		{"word16-258", "SMP-ENC-1", "word16", "258"},
		{"word32", "SMP-ENC-1", "word32", "16909060"},
		{"int64-one", "SMP-ENC-1", "int64", "1"},
		{"int64-minus-one", "SMP-ENC-1", "int64", "-1"},
		{"int64-min", "SMP-ENC-1", "int64", "-9223372036854775808"},
		{"system-time", "SMP-ENC-8", "system_time", "1764000000"},
		{"bool-true", "SMP-ENC-2", "bool", true},
		{"bool-false", "SMP-ENC-2", "bool", false},
		{"short-empty", "SMP-ENC-4", "short", Hex{}},
		{"short-3", "SMP-ENC-4", "short", Hex("abc")},
		{"short-255", "SMP-ENC-4", "short", Hex(s255)},
		{"large-empty", "SMP-ENC-5", "large", Hex{}},
		{"large-300", "SMP-ENC-5", "large", Hex(bytes.Repeat([]byte{1}, 300))},
		{"tail", "SMP-ENC-6", "tail", Hex("rest of the input")},
		{"maybe-absent", "SMP-ENC-3", "maybe_short", nil},
		{"maybe-present", "SMP-ENC-3", "maybe_short", Hex("xy")},
		{"list-empty", "SMP-ENC-7", "list_short", []any{}},
		{"list-two", "SMP-ENC-7", "list_short", []any{Hex("a"), Hex("bc")}},
		{"nonempty-list-one", "SMP-ENC-7", "nonempty_list_short", []any{Hex("only")}},
		{"version-range", "SMP-ENC-9", "version_range", []any{"6", "18"}},
		{"version-range-single", "SMP-ENC-9", "version_range", []any{"6", "6"}},
	}
	for _, c := range valid {
		b := wire.NewBuilder(nil)
		if err := primTypes[c.typ].enc(b, c.v); err != nil {
			return nil, fmt.Errorf("%s: %w", c.id, err)
		}
		out, err := b.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.id, err)
		}
		f.Cases = append(f.Cases, primCase{Case: Case{ID: c.id, Spec: c.spec, Valid: true}, Type: c.typ, Value: rawJSON(c.v), Bytes: out})
	}
	invalid := []struct {
		id, spec, typ, comment string
		b                      []byte
	}{
		{"word16-short", "SMP-ENC-1", "word16", "one byte", []byte{1}},
		{"int64-short", "SMP-ENC-1", "int64", "seven bytes", make([]byte, 7)},
		{"bool-x", "SMP-ENC-2", "bool", "only T and F", []byte("X")},
		{"bool-lower", "SMP-ENC-2", "bool", "lower case is not a Bool", []byte("t")},
		{"maybe-2", "SMP-ENC-3", "maybe_short", "only 0 and 1", []byte("2\x01a")},
		{"short-truncated", "SMP-ENC-4", "short", "length 5, 3 bytes", []byte("\x05abc")},
		{"short-empty-input", "SMP-ENC-4", "short", "no length byte", []byte{}},
		{"large-truncated", "SMP-ENC-5", "large", "length 256, 1 byte", []byte{1, 0, 7}},
		{"nonempty-list-zero", "SMP-ENC-7", "nonempty_list_short", "count 0", []byte{0}},
		{"list-truncated", "SMP-ENC-7", "list_short", "count 2, one item", []byte("\x02\x01a")},
		{"version-range-reversed", "SMP-ENC-9", "version_range", "min above max", []byte{0, 9, 0, 8}},
		{"short-trailing", "SMP-ENC-4", "short", "a byte after the string", []byte("\x01ab")},
	}
	for _, c := range invalid {
		f.Cases = append(f.Cases, primCase{Case: Case{ID: c.id, Spec: c.spec, Error: "CMD SYNTAX", Comment: c.comment}, Type: c.typ, Bytes: c.b})
	}
	f.Cases = append(f.Cases, primCase{Case: Case{ID: "short-256-encode", Spec: "SMP-ENC-4", Error: "encode",
		Comment: "a short string of 256 bytes cannot be encoded (no silent wrap)"}, Type: "short", Value: rawJSON(Hex(bytes.Repeat([]byte{1}, 256)))})
	return f, nil
}

func verifyPrimitives(data []byte) error {
	return Check(data, func(c primCase) string { return c.ID }, func(c primCase) error {
		pt, ok := primTypes[c.Type]
		if !ok {
			return fmt.Errorf("unknown type %q", c.Type)
		}
		var v any
		if len(c.Value) > 0 {
			if err := json.Unmarshal(c.Value, &v); err != nil {
				return err
			}
		}
		if c.Error == "encode" {
			b := wire.NewBuilder(nil)
			if err := pt.enc(b, v); err == nil {
				if _, err := b.Bytes(); err == nil {
					return errors.New("encoding succeeded")
				}
			}
			return nil
		}
		p := wire.NewParser(c.Bytes)
		got := pt.dec(p)
		err := p.Finish()
		if !c.Valid {
			if err == nil {
				return fmt.Errorf("decoded to %v", got)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if g := normJSON(rawJSON(got)); g != normJSON(c.Value) {
			return fmt.Errorf("decoded %s, want %s", g, c.Value)
		}
		b := wire.NewBuilder(nil)
		if err := pt.enc(b, v); err != nil {
			return err
		}
		enc, err := b.Bytes()
		if err != nil || !bytes.Equal(enc, c.Bytes) {
			return fmt.Errorf("encoded %x (%v), want %x", enc, err, c.Bytes)
		}
		return nil
	})
}

// padCase is one padded message (SMP-PAD-1..3).
type padCase struct {
	Case
	Data   Hex `json:"data,omitempty"`
	Length int `json:"length"`
	Padded Hex `json:"padded,omitempty"`
}

func genPadding() (any, error) {
	f := File[padCase]{
		Topic: "Padding",
		Description: "Valid: pad(data, length) = padded (BE16 length, data, '#' fill) and unpad(padded) = data. " +
			"Invalid with padded: unpad must fail (\"BLOCK\" when it is a block). Invalid without padded: pad must fail (\"encode\").",
		Spec: "spec/smp.md §2.2",
	}
	add := func(id string, data []byte, n int) error {
		p, err := wire.Pad(data, n)
		if err != nil {
			return err
		}
		f.Cases = append(f.Cases, padCase{Case: Case{ID: id, Spec: "SMP-PAD-1", Valid: true}, Data: data, Length: n, Padded: p})
		return nil
	}
	for _, c := range []struct {
		id   string
		data []byte
		n    int
	}{
		{"empty-16", nil, 16}, {"hello-16", []byte("hello"), 16}, {"exact-fit", []byte("0123456789abcd"), 16},
		{"ntf-meta-128", RandBytes("pad ntf", 33), 128},
	} {
		if err := add(c.id, c.data, c.n); err != nil {
			return nil, err
		}
	}
	f.Cases = append(f.Cases,
		padCase{Case: Case{ID: "fill-not-checked", Spec: "SMP-PAD-3", Valid: true, Comment: "fill bytes other than '#' are accepted by unpad; pad writes '#'"},
			Data: []byte("ab"), Length: 8, Padded: []byte{0, 2, 'a', 'b', 0, 0, 0, 0}},
		padCase{Case: Case{ID: "length-beyond-data", Spec: "SMP-PAD-3", Error: "BLOCK"}, Length: 8, Padded: []byte{0, 7, 'a', 'b', '#', '#', '#', '#'}},
		padCase{Case: Case{ID: "one-byte", Spec: "SMP-PAD-3", Error: "BLOCK"}, Length: 1, Padded: []byte{0}},
		padCase{Case: Case{ID: "too-long-to-pad", Spec: "SMP-PAD-1", Error: "encode"}, Data: []byte("0123456789abcdef"), Length: 16},
	)
	return f, nil
}

func verifyPadding(data []byte) error {
	return Check(data, func(c padCase) string { return c.ID }, func(c padCase) error {
		switch {
		case c.Error == "encode":
			if _, err := wire.Pad(c.Data, c.Length); err == nil {
				return errors.New("pad succeeded")
			}
			return nil
		case !c.Valid:
			if _, err := wire.Unpad(c.Padded); err == nil {
				return errors.New("unpad succeeded")
			}
			return nil
		}
		u, err := wire.Unpad(c.Padded)
		if err != nil || !bytes.Equal(u, c.Data) || len(c.Padded) != c.Length {
			return fmt.Errorf("unpad = %x, %v", u, err)
		}
		if c.ID != "fill-not-checked" {
			p, err := wire.Pad(c.Data, c.Length)
			if err != nil || !bytes.Equal(p, c.Padded) {
				return fmt.Errorf("pad = %x, %v", p, err)
			}
		}
		return nil
	})
}

func init() {
	Register(Topic{Path: "smp/primitives.json", Generate: genPrimitives, Verify: verifyPrimitives})
	Register(Topic{Path: "smp/padding.json", Generate: genPadding, Verify: verifyPadding})
}
