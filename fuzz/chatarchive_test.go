package fuzz

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smpkit/smpkit/reference/chatarchive"
)

// archiveKey is the key of the sealed cases of vectors/chat/archive.json.
func archiveKey(f *testing.F) []byte {
	for _, c := range vectorCases(f, "chat/archive.json") {
		if c["kind"] == "seal" {
			if k, ok := hexField(c, "key"); ok {
				return k
			}
		}
	}
	f.Fatal("no key in chat/archive.json")
	return nil
}

// Opening any bytes under the vectors' key either fails with ErrArchive or
// gives a plaintext that seals back to an archive opening to it again;
// decoding any plaintext fails with ErrArchive or re-encodes to a
// plaintext that decodes to the same (CH-DEV-3).
func FuzzChatArchive(f *testing.F) {
	key := archiveKey(f)
	seedBytes(f, "chat/archive.json", "archive")
	for _, c := range vectorCases(f, "chat/archive.json") {
		if s, ok := c["text"].(string); ok {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if pt, err := chatarchive.Open(bytes.NewReader(data), key); err != nil {
			if !errors.Is(err, chatarchive.ErrArchive) {
				t.Fatalf("open: untyped error %v", err)
			}
		} else if len(pt) > 1<<20 {
			t.Fatalf("%d bytes out of %d", len(pt), len(data))
		}
		a, err := chatarchive.Decode(data)
		if err != nil {
			if !errors.Is(err, chatarchive.ErrArchive) {
				t.Fatalf("decode: untyped error %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := chatarchive.Encode(&buf, a); err != nil {
			t.Fatalf("a decoded archive does not encode: %v", err)
		}
		b, err := chatarchive.Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%s", err, buf.Bytes())
		}
		var again bytes.Buffer
		chatarchive.Encode(&again, b)
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Fatalf("encoding not stable:\n%s\n%s", buf.Bytes(), again.Bytes())
		}
	})
}

// Parsing any text as a migration link gives a key of KeySize bytes whose
// link parses to it again, or an error.
func FuzzMigrationLink(f *testing.F) {
	for _, c := range vectorCases(f, "chat/archive.json") {
		if s, ok := c["text"].(string); ok && (c["kind"] == "link" || c["kind"] == "link_bad") {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := chatarchive.ParseLink(s)
		if err != nil {
			return
		}
		if len(k) != chatarchive.KeySize {
			t.Fatalf("key of %d bytes", len(k))
		}
		if k2, err := chatarchive.ParseLink(chatarchive.Link(k)); err != nil || !bytes.Equal(k, k2) {
			t.Fatalf("link of the key: %v", err)
		}
	})
}
