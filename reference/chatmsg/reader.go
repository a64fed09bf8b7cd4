package chatmsg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// objReader reads the fields of one JSON object, remembering which it used
// so that the rest can be kept (CH-EXT-1). Every error names the field's path.
type objReader struct {
	path   string
	fields map[string]json.RawMessage
	used   map[string]bool

	// err is the first error of a sticky read (read, sub, finish): once it
	// is set, later sticky reads do nothing, so a decoder reads its fields
	// in a straight line and checks once, as with cryptobyte.String.
	err error
}

// read is a sticky read of key with one of r's field readers: after r's
// first error it reads nothing and returns the zero value.
func read[T any](r *objReader, get func(key string) (T, error), key string) T {
	var v T
	if r.err == nil {
		v, r.err = get(key)
	}
	return v
}

// sub decodes the object o (nil when absent) with dec, stickily on r.
func sub[T any](r *objReader, o *objReader, dec func(*objReader) (T, error)) T {
	var v T
	if r.err == nil && o != nil {
		v, r.err = dec(o)
	}
	return v
}

// finish ends a sticky decoder: r's first error, or v with the fields not
// read kept in *extra.
func finish[T any](r *objReader, v T, extra *Object) (T, error) {
	if r.err != nil {
		var zero T
		return zero, r.err
	}
	*extra = r.rest()
	return v, nil
}

func readObj(raw json.RawMessage, path string) (*objReader, error) {
	if t := firstByte(raw); t != '{' {
		return nil, errf(ErrParams, path, "want an object, got %s", jsonKind(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errf(ErrJSON, path, "%v", err)
	}
	return &objReader{path: path, fields: m, used: map[string]bool{}}, nil
}

func (r *objReader) at(key string) string {
	if r.path == "" {
		return key
	}
	return r.path + "." + key
}

// get returns a field's value; null counts as absent (CH-JSON-3).
func (r *objReader) get(key string) (json.RawMessage, bool) {
	v, ok := r.fields[key]
	r.used[key] = true
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

func (r *objReader) missing(key string) error {
	return errf(ErrParams, r.at(key), "missing")
}

func (r *objReader) str(key string) (string, error) {
	v, ok := r.get(key)
	if !ok {
		return "", r.missing(key)
	}
	return r.asString(key, v)
}

func (r *objReader) optStr(key string) (*string, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil
	}
	s, err := r.asString(key, v)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (r *objReader) asString(key string, v json.RawMessage) (string, error) {
	if firstByte(v) != '"' {
		return "", errf(ErrParams, r.at(key), "want a string, got %s", jsonKind(v))
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errf(ErrJSON, r.at(key), "%v", err)
	}
	return s, nil
}

func (r *objReader) boolean(key string) (bool, error) {
	v, ok := r.get(key)
	if !ok {
		return false, r.missing(key)
	}
	return r.asBool(key, v)
}

func (r *objReader) optBool(key string) (*bool, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil
	}
	b, err := r.asBool(key, v)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func (r *objReader) asBool(key string, v json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errf(ErrParams, r.at(key), "want true or false, got %s", jsonKind(v))
}

func (r *objReader) integer(key string) (int64, error) {
	v, ok := r.get(key)
	if !ok {
		return 0, r.missing(key)
	}
	return r.asInt(key, v)
}

func (r *objReader) optInt(key string) (*int64, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil
	}
	n, err := r.asInt(key, v)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// asInt accepts a JSON number with an integral value in the int64 range,
// written in any JSON form (1000, 1e3, 1000.0), as upstream's decoder does.
func (r *objReader) asInt(key string, v json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(v))
	if c := firstByte(v); c != '-' && (c < '0' || c > '9') {
		return 0, errf(ErrParams, r.at(key), "want an integer, got %s", jsonKind(v))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, errf(ErrParams, r.at(key), "want an integer, got %s", s)
	}
	return int64(f), nil
}

func (r *objReader) b64(key string) ([]byte, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, r.missing(key)
	}
	return r.asB64(key, v)
}

func (r *objReader) optB64(key string) ([]byte, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil
	}
	return r.asB64(key, v)
}

func (r *objReader) asB64(key string, v json.RawMessage) ([]byte, error) {
	s, err := r.asString(key, v)
	if err != nil {
		return nil, err
	}
	b, err := decodeB64(s)
	if err != nil {
		return nil, errf(ErrParams, r.at(key), "%v", err)
	}
	return b, nil
}

func (r *objReader) obj(key string) (*objReader, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, r.missing(key)
	}
	return readObj(v, r.at(key))
}

func (r *objReader) optObj(key string) (*objReader, error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil
	}
	return readObj(v, r.at(key))
}

// rest returns the fields not read, canonical, or nil when there are none.
func (r *objReader) rest() Object {
	var o Object
	for k, v := range r.fields {
		if r.used[k] {
			continue
		}
		c, err := canonical(v)
		if err != nil {
			continue // unreachable: v came out of a successful Unmarshal
		}
		if o == nil {
			o = Object{}
		}
		o[k] = c
	}
	return o
}

// keep marks a field as unread so that rest keeps it (used for values that
// are ignored but must survive re-encoding, CH-MSG-NEW-4).
func (r *objReader) keep(key string) { delete(r.used, key) }

func firstByte(v []byte) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

func jsonKind(v []byte) string {
	switch firstByte(v) {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "a number"
}

// encodeB64 is the byte-string form of spec/chat.md CH-JSON-4: base64url
// with padding.
func encodeB64(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// decodeB64 accepts base64url with or without padding; it refuses the
// standard alphabet's '+' and '/' and an empty string (CH-JSON-4).
func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty byte string")
	}
	if strings.ContainsAny(s, "+/") {
		return nil, fmt.Errorf("not base64url: %q", s)
	}
	raw := strings.TrimRight(s, "=")
	if len(s)-len(raw) > 2 || (len(s) != len(raw) && len(s)%4 != 0) {
		return nil, fmt.Errorf("bad base64url padding: %q", s)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("not base64url: %q", s)
	}
	return b, nil
}
