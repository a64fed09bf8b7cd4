package fuzz

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vectorCases reads the cases of a vector file (path relative to vectors/)
// as generic JSON objects.
func vectorCases(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "vectors", filepath.FromSlash(path)))
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	var f struct {
		Cases []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return f.Cases
}

// hexField returns the bytes of a hex string field of a case, if present.
func hexField(c map[string]any, name string) ([]byte, bool) {
	s, ok := c[name].(string)
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// intField returns an integer field of a case (JSON numbers are float64).
func intField(c map[string]any, name string) (int, bool) {
	v, ok := c[name].(float64)
	return int(v), ok
}

// seedBytes adds every named hex field of every case in the file as a seed
// of a func(*testing.T, []byte) target.
func seedBytes(f *testing.F, path string, fields ...string) {
	for _, c := range vectorCases(f, path) {
		for _, name := range fields {
			if b, ok := hexField(c, name); ok {
				f.Add(b)
			}
		}
	}
}
