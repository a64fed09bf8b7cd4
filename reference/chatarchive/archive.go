package chatarchive

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Format is the plaintext's format version (the header record's "format").
const Format = 1

// Archive is the plaintext: the moved user's display name, the schema
// versions of the packages whose rows it holds, and the rows.
type Archive struct {
	Name   string
	Schema map[string]int // package: schema version (db.Version)
	Tables []Table
}

// Table is the rows of one database table. A value is nil, int64,
// float64, string or []byte: SQLite's storage classes.
type Table struct {
	DB      string // "agent" or "chat"
	Name    string
	Columns []string
	Rows    [][]any
}

// record is one line of the plaintext (CH-DEV-3).
type record struct {
	Type    string            `json:"type"` // header, table, row, end
	Format  int               `json:"format,omitempty"`
	DB      string            `json:"db,omitempty"`
	Name    string            `json:"name,omitempty"`
	Schema  map[string]int    `json:"schema,omitempty"`
	Columns []string          `json:"columns,omitempty"`
	Values  []json.RawMessage `json:"values,omitempty"`
	Rows    int               `json:"rows,omitempty"`
}

// Write writes the archive to w encrypted under key (Seal); rnd gives the
// nonce prefix.
func Write(w io.Writer, key []byte, rnd io.Reader, a *Archive) error {
	sw, err := Seal(w, key, rnd)
	if err != nil {
		return err
	}
	if err := Encode(sw, a); err != nil {
		return err
	}
	return sw.Close()
}

// Encode writes the plaintext: JSON lines, each one record.
func Encode(w io.Writer, a *Archive) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record{Type: "header", Format: Format, Name: a.Name, Schema: a.Schema}); err != nil {
		return err
	}
	n := 0
	for _, t := range a.Tables {
		if t.DB == "" || t.Name == "" || len(t.Columns) == 0 {
			return fmt.Errorf("chatarchive: table %q of %q without a name or columns", t.Name, t.DB)
		}
		if err := enc.Encode(record{Type: "table", DB: t.DB, Name: t.Name, Columns: t.Columns}); err != nil {
			return err
		}
		for _, row := range t.Rows {
			if len(row) != len(t.Columns) {
				return fmt.Errorf("chatarchive: %s: row of %d values for %d columns", t.Name, len(row), len(t.Columns))
			}
			vals := make([]json.RawMessage, len(row))
			for i, v := range row {
				b, err := cell(v)
				if err != nil {
					return fmt.Errorf("chatarchive: %s.%s: %w", t.Name, t.Columns[i], err)
				}
				vals[i] = b
			}
			if err := enc.Encode(record{Type: "row", Values: vals}); err != nil {
				return err
			}
			n++
		}
	}
	if err := enc.Encode(record{Type: "end", Rows: n}); err != nil {
		return err
	}
	return bw.Flush()
}

// cell writes a value as null, {"i":n}, {"f":x}, {"s":"text"} or
// {"b":"base64"} (standard base64 with padding).
func cell(v any) (json.RawMessage, error) {
	var m map[string]any
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case int64:
		m = map[string]any{"i": x}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("value %v", x)
		}
		m = map[string]any{"f": x}
	case string:
		m = map[string]any{"s": x}
	case []byte:
		if x == nil {
			x = []byte{}
		}
		m = map[string]any{"b": x}
	default:
		return nil, fmt.Errorf("value of type %T", v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func value(raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil || len(c) != 1 {
		return nil, fmt.Errorf("value %.40s is not an object of one key", raw)
	}
	for k, v := range c {
		switch k {
		case "i":
			var n json.Number
			if err := json.Unmarshal(v, &n); err != nil {
				return nil, fmt.Errorf("value %.40s: %w", raw, err)
			}
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("value %.40s: not a 64-bit integer", raw)
			}
			return i, nil
		case "f":
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return nil, fmt.Errorf("value %.40s: %w", raw, err)
			}
			return f, nil
		case "s":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("value %.40s: %w", raw, err)
			}
			return s, nil
		case "b":
			var b []byte
			if err := json.Unmarshal(v, &b); err != nil || b == nil {
				return nil, fmt.Errorf("value %.40s: not base64", raw)
			}
			return b, nil
		}
		return nil, fmt.Errorf("value of kind %q", k)
	}
	panic("unreachable")
}

// Read decrypts and parses an archive. Every failure is ErrArchive, with
// where it happened.
func Read(r io.Reader, key []byte) (*Archive, error) {
	pt, err := Open(r, key)
	if err != nil {
		return nil, err
	}
	return Decode(pt)
}

// Decode parses a plaintext: a header record first, an end record last
// that counts the row records, every row after its table with one value
// per column.
func Decode(pt []byte) (*Archive, error) {
	bad := func(line int, err error) error { return fmt.Errorf("%w: line %d: %v", ErrArchive, line, err) }
	lines := bytes.Split(pt, []byte("\n"))
	if len(lines) < 3 || len(lines[len(lines)-1]) != 0 {
		return nil, fmt.Errorf("%w: no header and end record", ErrArchive)
	}
	lines = lines[:len(lines)-1]
	a := &Archive{}
	rows := 0
	for i, line := range lines {
		var rec record
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&rec); err != nil {
			return nil, bad(i+1, err)
		}
		switch {
		case i == 0:
			if rec.Type != "header" || rec.Format != Format {
				return nil, bad(1, fmt.Errorf("a %q record of format %d, want a header of format %d", rec.Type, rec.Format, Format))
			}
			a.Name, a.Schema = rec.Name, rec.Schema
		case i == len(lines)-1:
			if rec.Type != "end" || rec.Rows != rows {
				return nil, bad(i+1, fmt.Errorf("a %q record counting %d rows, %d read", rec.Type, rec.Rows, rows))
			}
		case rec.Type == "table":
			if rec.DB == "" || rec.Name == "" || len(rec.Columns) == 0 {
				return nil, bad(i+1, errors.New("table without a database, a name or columns"))
			}
			a.Tables = append(a.Tables, Table{DB: rec.DB, Name: rec.Name, Columns: rec.Columns})
		case rec.Type == "row":
			if len(a.Tables) == 0 {
				return nil, bad(i+1, errors.New("row before any table"))
			}
			t := &a.Tables[len(a.Tables)-1]
			if len(rec.Values) != len(t.Columns) {
				return nil, bad(i+1, fmt.Errorf("row of %d values for %d columns", len(rec.Values), len(t.Columns)))
			}
			vals := make([]any, len(rec.Values))
			for j, raw := range rec.Values {
				v, err := value(raw)
				if err != nil {
					return nil, bad(i+1, err)
				}
				vals[j] = v
			}
			t.Rows = append(t.Rows, vals)
			rows++
		default:
			return nil, bad(i+1, fmt.Errorf("record of type %q", rec.Type))
		}
	}
	return a, nil
}
