package chatarchive

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// CH-DEV-3: sealing and opening round-trip for every length, chunk
// boundaries included, and any change of the sealed bytes (a flipped
// bit, a cut anywhere, a chunk dropped, appended or swapped, another key)
// is ErrArchive.
func TestSealOpen(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.OneOf(rapid.IntRange(0, 3*ChunkSize+2), rapid.SampledFrom([]int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize})).Draw(t, "len")
		pt := make([]byte, n)
		rand.Read(pt)
		key := rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "key")
		var buf bytes.Buffer
		w, err := Seal(&buf, key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// Written in pieces of any size.
		for rest := pt; len(rest) > 0; {
			k := rapid.IntRange(1, len(rest)).Draw(t, "piece")
			if _, err := w.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sealed := buf.Bytes()
		chunks := max(1, (n+ChunkSize-1)/ChunkSize)
		if n > 0 && n%ChunkSize == 0 {
			chunks = n / ChunkSize
		}
		if want := HeaderSize + n + chunks*Overhead; len(sealed) != want {
			t.Fatalf("sealed %d bytes into %d, want %d", n, len(sealed), want)
		}
		got, err := Open(bytes.NewReader(sealed), key)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("open: %v (%d bytes back of %d)", err, len(got), n)
		}
		bad := func(what string, b []byte, k []byte) {
			if _, err := Open(bytes.NewReader(b), k); !errors.Is(err, ErrArchive) {
				t.Fatalf("%s: %v", what, err)
			}
		}
		flip := append([]byte(nil), sealed...)
		i := rapid.IntRange(0, len(flip)-1).Draw(t, "flip")
		flip[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		bad("flipped bit", flip, key)
		bad("cut", sealed[:rapid.IntRange(0, len(sealed)-1).Draw(t, "cut")], key)
		bad("appended", append(append([]byte(nil), sealed...), 0), key)
		other := append([]byte(nil), key...)
		other[0] ^= 1
		bad("other key", sealed, other)
		if chunks > 1 {
			// The last full chunk dropped at a chunk boundary.
			bad("last chunk dropped", sealed[:HeaderSize+(chunks-1)*(ChunkSize+Overhead)], key)
			sw := append([]byte(nil), sealed[:HeaderSize]...)
			c0 := sealed[HeaderSize : HeaderSize+ChunkSize+Overhead]
			c1 := sealed[HeaderSize+ChunkSize+Overhead:]
			if len(c1) >= ChunkSize+Overhead {
				sw = append(append(sw, c1[:ChunkSize+Overhead]...), c0...)
				sw = append(sw, c1[ChunkSize+Overhead:]...)
				bad("chunks swapped", sw, key)
			}
		}
	})
}

// CH-DEV-3: the plaintext round-trips every storage class, and a decoder
// refuses what is not a well-formed plaintext.
func TestEncodeDecode(t *testing.T) {
	a := &Archive{Name: "alice", Schema: map[string]int{"agent": 3, "chat": 7}, Tables: []Table{
		{DB: "agent", Name: "conns", Columns: []string{"id", "state"}, Rows: [][]any{{"abc", []byte{1, 2}}, {"d<e>", []byte{}}}},
		{DB: "chat", Name: "chat_users", Columns: []string{"id", "x", "y"}, Rows: [][]any{{int64(-9007199254740993), 1.5, nil}}},
		{DB: "chat", Name: "empty", Columns: []string{"id"}},
	}}
	var buf bytes.Buffer
	if err := Encode(&buf, a); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"header","format":1,"name":"alice","schema":{"agent":3,"chat":7}}
{"type":"table","db":"agent","name":"conns","columns":["id","state"]}
{"type":"row","values":[{"s":"abc"},{"b":"AQI="}]}
{"type":"row","values":[{"s":"d<e>"},{"b":""}]}
{"type":"table","db":"chat","name":"chat_users","columns":["id","x","y"]}
{"type":"row","values":[{"i":-9007199254740993},{"f":1.5},null]}
{"type":"table","db":"chat","name":"empty","columns":["id"]}
{"type":"end","rows":3}
`
	if buf.String() != want {
		t.Fatalf("plaintext:\n%s\nwant:\n%s", buf.String(), want)
	}
	got, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	lines := strings.SplitAfter(want, "\n")
	for name, pt := range map[string]string{
		"empty":           "",
		"no end":          strings.Join(lines[:7], ""),
		"no final break":  strings.TrimSuffix(want, "\n"),
		"wrong count":     strings.Join(lines[:7], "") + `{"type":"end","rows":2}` + "\n",
		"format 2":        strings.Replace(want, `"format":1`, `"format":2`, 1),
		"row first":       lines[2] + lines[0] + strings.Join(lines[3:], ""),
		"row too wide":    strings.Replace(want, `{"f":1.5},null]`, `{"f":1.5},null,null]`, 1),
		"two kinds":       strings.Replace(want, `{"f":1.5}`, `{"f":1.5,"i":1}`, 1),
		"unknown kind":    strings.Replace(want, `{"f":1.5}`, `{"x":1.5}`, 1),
		"float as int":    strings.Replace(want, `{"i":-9007199254740993}`, `{"i":1.5}`, 1),
		"int too big":     strings.Replace(want, `{"i":-9007199254740993}`, `{"i":99999999999999999999}`, 1),
		"bad base64":      strings.Replace(want, `"AQI="`, `"A!I="`, 1),
		"unknown record":  strings.Replace(want, `"type":"table","db":"chat","name":"empty"`, `"type":"tabel","db":"chat","name":"empty"`, 1),
		"unknown field":   strings.Replace(want, `"rows":3}`, `"rows":3,"more":1}`, 1),
		"table no column": strings.Replace(want, `"columns":["id"]`, `"columns":[]`, 1),
	} {
		if _, err := Decode([]byte(pt)); !errors.Is(err, ErrArchive) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Encode(&bytes.Buffer{}, &Archive{Tables: []Table{{DB: "chat", Name: "t", Columns: []string{"a"}, Rows: [][]any{{true}}}}}); err == nil {
		t.Error("a bool encoded")
	}
}

// CH-DEV-4: the link carries the key and nothing else is accepted.
func TestLink(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, KeySize)
	l := Link(key)
	if l != "smpkit-migrate:?v=1&key=-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s" {
		t.Fatalf("link %q", l)
	}
	for _, ok := range []string{" " + l + "\n", l + "&file=profile.archive", "smpkit-migrate:?key=" + l[24:] + "&v=1"} {
		if k, err := ParseLink(ok); err != nil || !bytes.Equal(k, key) {
			t.Fatalf("parse %q: %x %v", ok, k, err)
		}
	}
	for _, bad := range []string{"", "simplex-migrate:?v=1&key=" + l[24:], "smpkit-migrate:?v=2&key=" + l[24:], "smpkit-migrate:?key=" + l[24:],
		l + "A", l[:len(l)-1], l + "=", l + "&key=" + l[24:], "smpkit-migrate:?v=1&key=" + strings.Repeat("_", 43)[:42] + "%"} {
		if _, err := ParseLink(bad); err == nil {
			t.Errorf("link %q accepted", bad)
		}
	}
}
