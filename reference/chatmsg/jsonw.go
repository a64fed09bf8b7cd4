package chatmsg

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// Object holds the fields of a JSON object that a typed value does not know:
// each value is canonical JSON (CH-JSON-2). They are kept on decoding and
// written back on encoding (CH-EXT-1).
type Object map[string]json.RawMessage

// objWriter collects an object's fields and writes them with sorted keys,
// the order upstream's encoder produces for everything inside params.
type objWriter struct {
	fields map[string][]byte
}

func newObj() *objWriter { return &objWriter{fields: map[string][]byte{}} }

func (w *objWriter) raw(key string, v []byte)   { w.fields[key] = v }
func (w *objWriter) str(key, v string)          { w.fields[key] = appendString(nil, v) }
func (w *objWriter) boolean(key string, v bool) { w.fields[key] = []byte(strconv.FormatBool(v)) }
func (w *objWriter) integer(key string, v int64) {
	w.fields[key] = strconv.AppendInt(nil, v, 10)
}
func (w *objWriter) bytes(key string, v []byte) { w.str(key, encodeB64(v)) }

func (w *objWriter) optStr(key string, v *string) {
	if v != nil {
		w.str(key, *v)
	}
}
func (w *objWriter) optBool(key string, v *bool) {
	if v != nil {
		w.boolean(key, *v)
	}
}
func (w *objWriter) optInt(key string, v *int64) {
	if v != nil {
		w.integer(key, *v)
	}
}
func (w *objWriter) optBytes(key string, v []byte) {
	if v != nil {
		w.bytes(key, v)
	}
}

// extra adds the unknown fields; a known field of the same name wins.
func (w *objWriter) extra(o Object) {
	for k, v := range o {
		if _, known := w.fields[k]; !known {
			w.fields[k] = canonicalOrSelf(v)
		}
	}
}

func (w *objWriter) bytesOut() []byte {
	keys := make([]string, 0, len(w.fields))
	for k := range w.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, w.fields[k]...)
	}
	return append(b, '}')
}

// appendString writes s as a JSON string escaped as upstream does: quote,
// backslash, \n, \r, \t by name, other control characters as \u00xx, and
// everything else (including non-ASCII) as is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// canonical rewrites any JSON value in the canonical form: compact, object
// keys sorted, strings escaped as appendString, numbers as written.
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &json.SyntaxError{}
	}
	return appendValue(nil, v), nil
}

// canonicalOrSelf is canonical for values built by this package's decoder,
// which are canonical already; a value a caller put in an Object by hand that
// is not valid JSON is written as the JSON string of its bytes, so that the
// output stays valid JSON.
func canonicalOrSelf(raw []byte) []byte {
	c, err := canonical(raw)
	if err != nil {
		return appendString(nil, string(raw))
	}
	return c
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return append(b, x...)
	case string:
		return appendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, x[k])
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}
