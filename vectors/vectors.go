// Package vectors generates and verifies smpkit's test vectors: JSON files,
// one per topic, that any implementation of SMP can run (schema in README.md).
//
// Each topic registers a generator, which computes every case with the
// reference code from fixed seeds, and a verifier, which decodes a file and
// checks every case against the reference code: valid cases decode to their
// fields and re-encode byte-identically, invalid cases fail with the stated
// error. Regenerating changes no byte.
package vectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Hex is a byte string written in JSON as lowercase hex.
type Hex []byte

func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	if s != strings.ToLower(s) {
		return fmt.Errorf("hex field %q: not lowercase", s)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	*h = v
	return nil
}

// Case holds the fields every case of every file has. Topic case types embed
// it, so these keys sit beside the topic's own keys in each JSON object.
type Case struct {
	// ID is unique in its file and stable across regenerations.
	ID string `json:"id"`
	// Spec names the spec/smp.md requirement id or section the case checks.
	Spec string `json:"spec"`
	// Valid is false for inputs an implementation must reject.
	Valid bool `json:"valid"`
	// Error is the protocol error an invalid input must produce (e.g.
	// "CMD SYNTAX", "BLOCK"), or a short name for non-protocol failures.
	Error string `json:"error,omitempty"`
	// Version is the SMP version the case is encoded for, where it matters.
	Version int `json:"version,omitempty"`
	// Comment says, for a human, what the case shows.
	Comment string `json:"comment,omitempty"`
}

// File is the top level of every vector file.
type File[T any] struct {
	Topic       string `json:"topic"`
	Description string `json:"description"`
	Spec        string `json:"spec"`
	Cases       []T    `json:"cases"`
}

// A Topic is one vector file: where it lives, how to make it, how to check it.
type Topic struct {
	// Path is relative to the vectors directory, e.g. "smp/padding.json".
	Path string
	// Generate computes the file's content (a File[T]) from fixed seeds.
	Generate func() (any, error)
	// Verify checks a file's bytes against the reference code.
	Verify func(data []byte) error
}

var topics = map[string]Topic{}

// Register adds a topic; it is called from init functions.
func Register(t Topic) {
	if _, dup := topics[t.Path]; dup {
		panic("vectors: topic registered twice: " + t.Path)
	}
	topics[t.Path] = t
}

// Topics returns every registered topic, sorted by path.
func Topics() []Topic {
	out := make([]Topic, 0, len(topics))
	for _, t := range topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Lookup returns the topic at path.
func Lookup(path string) (Topic, bool) {
	t, ok := topics[filepath.ToSlash(path)]
	return t, ok
}

// Marshal is the one JSON layout of every vector file: two-space indent, no
// HTML escaping, a final newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Render generates a topic and returns its file bytes.
func Render(t Topic) ([]byte, error) {
	v, err := t.Generate()
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", t.Path, err)
	}
	b, err := Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", t.Path, err)
	}
	return b, nil
}

// GenerateAll writes every topic under dir.
func GenerateAll(dir string) error {
	for _, t := range Topics() {
		b, err := Render(t)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(t.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// VerifyAll verifies every topic's file under dir and returns all failures.
func VerifyAll(dir string) error {
	var errs []error
	for _, t := range Topics() {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(t.Path)))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := t.Verify(b); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Path, err))
		}
	}
	return errors.Join(errs...)
}

// Stale returns the paths under dir whose content differs from what the
// generators produce now.
func Stale(dir string) ([]string, error) {
	var stale []string
	for _, t := range Topics() {
		want, err := Render(t)
		if err != nil {
			return nil, err
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(t.Path)))
		if err != nil || !bytes.Equal(got, want) {
			stale = append(stale, t.Path)
		}
	}
	return stale, nil
}

// Rand returns a deterministic byte stream for label: ChaCha8 keyed with
// SHA-256(label). Every random value in the vectors comes from one of these,
// so regeneration is byte-identical and each label's stream is independent.
func Rand(label string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte("smpkit vectors: " + label)))
}

// RandBytes reads n bytes from Rand(label).
func RandBytes(label string, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(Rand(label), b); err != nil {
		panic(err) // ChaCha8 never fails
	}
	return b
}

// Decode parses a vector file strictly (unknown fields are errors).
func Decode[T any](data []byte) (*File[T], error) {
	var f File[T]
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &f, nil
}

// Check decodes a file and runs check on each case, collecting failures
// labelled with the case id. It also rejects duplicate or empty ids.
func Check[T any](data []byte, id func(T) string, check func(T) error) error {
	f, err := Decode[T](data)
	if err != nil {
		return err
	}
	if len(f.Cases) == 0 {
		return errors.New("no cases")
	}
	seen := map[string]bool{}
	var errs []error
	for _, c := range f.Cases {
		cid := id(c)
		if cid == "" || seen[cid] {
			errs = append(errs, fmt.Errorf("case id %q empty or duplicated", cid))
		}
		seen[cid] = true
		if err := check(c); err != nil {
			errs = append(errs, fmt.Errorf("case %s: %w", cid, err))
		}
	}
	return errors.Join(errs...)
}

// ErrName is how a vector's "error" field names a Go error that is not a
// protocol error; verifiers compare it with the error they get.
func ErrName(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
