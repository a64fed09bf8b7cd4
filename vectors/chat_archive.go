package vectors

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	ca "github.com/smpkit/smpkit/reference/chatarchive"
)

func init() {
	Register(Topic{Path: "chat/archive.json", Generate: genChatArchive, Verify: verifyChatArchive})
}

// chatArchiveCase is one case of the profile archive (spec/chat.md §12).
type chatArchiveCase struct {
	Case
	// Kind: seal (key, nonce_prefix, plaintext -> archive), open_bad
	// (archive under key is refused), plaintext (the JSON lines of an
	// archive's content), link (key -> link) or link_bad.
	Kind        string `json:"kind"`
	Key         Hex    `json:"key,omitempty"`
	NoncePrefix Hex    `json:"nonce_prefix,omitempty"`
	// Plaintext is given as bytes, or for long ones as PatternLen bytes
	// where byte i is i mod 251; the archive likewise as bytes, or as its
	// length and SHA-256.
	Plaintext     Hex    `json:"plaintext,omitempty"`
	PatternLen    int    `json:"pattern_len,omitempty"`
	Archive       Hex    `json:"archive,omitempty"`
	ArchiveLen    int    `json:"archive_len,omitempty"`
	ArchiveSHA256 Hex    `json:"archive_sha256,omitempty"`
	Text          string `json:"text,omitempty"` // plaintext: the JSON lines; link, link_bad: the link
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func sealArchive(key, prefix, pt []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := ca.Seal(&buf, key, bytes.NewReader(prefix))
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(pt); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chatArchiveSample is the plaintext case's content: every storage class.
var chatArchiveSample = &ca.Archive{Name: "alice", Schema: map[string]int{"agent": 3, "chat": 7}, Tables: []ca.Table{
	{DB: "agent", Name: "conns", Columns: []string{"conn_id", "state"}, Rows: [][]any{{"aGVsbG8", []byte{1, 2, 3}}, {"d<e>", []byte{}}}},
	{DB: "chat", Name: "chat_users", Columns: []string{"id", "name", "score", "moved_at"}, Rows: [][]any{{int64(1), "alice", 0.5, nil}}},
}}

func genChatArchive() (any, error) {
	f := File[chatArchiveCase]{
		Topic: "Profile archive",
		Description: "The archive that moves a profile to another device. seal: XChaCha20-Poly1305 chunks of 65536 plaintext bytes " +
			"under key, nonce = nonce_prefix || 7-byte chunk number || last flag, header as associated data; seal the plaintext and " +
			"compare with archive (or its length and SHA-256), and open it back. open_bad: opening must fail. plaintext: decode text " +
			"(JSON lines) and re-encode it byte for byte. link, link_bad: the migration link of key, and links to refuse.",
		Spec: "spec/chat.md §12",
	}
	key := RandBytes("chat archive key", ca.KeySize)
	prefix := RandBytes("chat archive nonce prefix", ca.PrefixSize)
	var small []byte
	for _, c := range []struct {
		id      string
		n       int
		comment string
	}{
		{"empty", 0, "no plaintext: one empty last chunk"},
		{"short", -1, "one short last chunk"},
		{"one-full-chunk", ca.ChunkSize, "exactly one chunk, flagged last"},
		{"chunk-and-one", ca.ChunkSize + 1, "a full chunk not last, then a 1-byte last chunk"},
	} {
		pt := []byte("hello, new device\n")
		if c.n >= 0 {
			pt = pattern(c.n)
		}
		ar, err := sealArchive(key, prefix, pt)
		if err != nil {
			return nil, err
		}
		cs := chatArchiveCase{Case: Case{ID: "seal-" + c.id, Spec: "CH-DEV-3", Valid: true, Comment: c.comment}, Kind: "seal", Key: key, NoncePrefix: prefix}
		if len(pt) <= 64 {
			cs.Plaintext, cs.Archive = pt, ar
		} else {
			sum := sha256.Sum256(ar)
			cs.PatternLen, cs.ArchiveLen, cs.ArchiveSHA256 = len(pt), len(ar), sum[:]
		}
		if c.id == "short" {
			small = ar
		}
		f.Cases = append(f.Cases, cs)
	}
	flip := append([]byte(nil), small...)
	flip[len(flip)-1] ^= 1
	other := append([]byte(nil), key...)
	other[0] ^= 1
	flag := append([]byte(nil), small...)
	flag[len(ca.Magic)-1] = 2
	for _, c := range []struct {
		id, comment string
		key, ar     []byte
	}{
		{"wrong-key", "another key", other, small},
		{"flipped-tag", "a bit of the tag changed", key, flip},
		{"cut", "the last byte missing", key, small[:len(small)-1]},
		{"header-only", "no chunk", key, small[:ca.HeaderSize]},
		{"format-2", "the magic's format byte is not 1", key, flag},
	} {
		f.Cases = append(f.Cases, chatArchiveCase{Case: Case{ID: "open-" + c.id, Spec: "CH-DEV-1", Error: ErrName(ca.ErrArchive), Comment: c.comment},
			Kind: "open_bad", Key: c.key, Archive: c.ar})
	}
	var pt bytes.Buffer
	if err := ca.Encode(&pt, chatArchiveSample); err != nil {
		return nil, err
	}
	f.Cases = append(f.Cases, chatArchiveCase{Case: Case{ID: "plaintext-sample", Spec: "CH-DEV-3", Valid: true,
		Comment: "header, two tables, rows of every storage class, end"}, Kind: "plaintext", Text: pt.String()})
	f.Cases = append(f.Cases, chatArchiveCase{Case: Case{ID: "link", Spec: "CH-DEV-4", Valid: true}, Kind: "link", Key: key, Text: ca.Link(key)})
	for _, c := range []struct{ id, text string }{
		{"other-scheme", "simplex-migrate:?v=1&key=" + ca.Link(key)[len(ca.Scheme)+9:]},
		{"version-2", "smpkit-migrate:?v=2&key=" + ca.Link(key)[len(ca.Scheme)+9:]},
		{"padded-key", ca.Link(key) + "="},
		{"short-key", ca.Link(key)[:len(ca.Link(key))-2]},
		{"two-keys", ca.Link(key) + "&key=" + ca.Link(key)[len(ca.Scheme)+9:]},
	} {
		f.Cases = append(f.Cases, chatArchiveCase{Case: Case{ID: "link-" + c.id, Spec: "CH-DEV-4", Error: "link"}, Kind: "link_bad", Text: c.text})
	}
	return f, nil
}

func verifyChatArchive(data []byte) error {
	return Check(data, func(c chatArchiveCase) string { return c.ID }, func(c chatArchiveCase) error {
		switch c.Kind {
		case "seal":
			pt := []byte(c.Plaintext)
			if c.PatternLen > 0 {
				pt = pattern(c.PatternLen)
			}
			ar, err := sealArchive(c.Key, c.NoncePrefix, pt)
			if err != nil {
				return err
			}
			if c.Archive != nil && !bytes.Equal(ar, c.Archive) {
				return fmt.Errorf("sealed to %x", ar)
			}
			if sum := sha256.Sum256(ar); c.Archive == nil && (len(ar) != c.ArchiveLen || !bytes.Equal(sum[:], c.ArchiveSHA256)) {
				return fmt.Errorf("sealed to %d bytes, SHA-256 %x", len(ar), sum)
			}
			back, err := ca.Open(bytes.NewReader(ar), c.Key)
			if err != nil || !bytes.Equal(back, pt) {
				return fmt.Errorf("open: %v", err)
			}
		case "open_bad":
			if _, err := ca.Open(bytes.NewReader(c.Archive), c.Key); !errors.Is(err, ca.ErrArchive) {
				return fmt.Errorf("opened: %v", err)
			}
		case "plaintext":
			a, err := ca.Decode([]byte(c.Text))
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := ca.Encode(&buf, a); err != nil {
				return err
			}
			if buf.String() != c.Text {
				return fmt.Errorf("re-encodes to\n%s", buf.String())
			}
		case "link":
			if got := ca.Link(c.Key); got != c.Text {
				return fmt.Errorf("link %q", got)
			}
			if k, err := ca.ParseLink(c.Text); err != nil || !bytes.Equal(k, c.Key) {
				return fmt.Errorf("parse: %v", err)
			}
		case "link_bad":
			if _, err := ca.ParseLink(c.Text); err == nil {
				return errors.New("accepted")
			}
		default:
			return fmt.Errorf("kind %q", c.Kind)
		}
		return nil
	})
}
