// Package chatarchive holds the bytes of the archive that moves a chat
// profile to another device (spec/chat.md §12, CH-DEV-3, CH-DEV-4): its
// encryption (XChaCha20-Poly1305 in chunks under a fresh key), its
// plaintext (JSON lines: a header, then tables of typed rows) and the
// migration link that carries the key. What goes in it is reference/chat's
// business.
package chatarchive

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// The encryption: a header of Magic and a random nonce prefix, then the
// plaintext in chunks of ChunkSize bytes (the last one shorter, possibly
// empty), each sealed with XChaCha20-Poly1305 under the key, with the
// header as associated data and the nonce made of the prefix, the chunk's
// number (7 bytes, big-endian) and a last-chunk flag byte (CH-DEV-3).
const (
	Magic      = "SMPKIT-PROFILE\x00\x01" // 16 bytes: name, 0, format 1
	PrefixSize = 16                       // random nonce prefix
	HeaderSize = len(Magic) + PrefixSize
	ChunkSize  = 64 << 10
	KeySize    = chacha20poly1305.KeySize
	Overhead   = chacha20poly1305.Overhead
	// Scheme starts a migration link (CH-DEV-4).
	Scheme = "smpkit-migrate:"
)

// ErrArchive: the bytes are not an archive, are damaged or cut short, or
// do not authenticate under the key (CH-DEV-1).
var ErrArchive = errors.New("chatarchive: not a profile archive under this key")

type sealer struct {
	w    io.Writer
	aead interface {
		Seal(dst, nonce, pt, ad []byte) []byte
	}
	header []byte
	buf    []byte
	n      uint64
	err    error
}

// Seal returns a writer that encrypts what is written to it into w under
// key, with a nonce prefix read from rnd; Close writes the last chunk.
func Seal(w io.Writer, key []byte, rnd io.Reader) (io.WriteCloser, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("chatarchive: %w", err)
	}
	h := make([]byte, HeaderSize)
	copy(h, Magic)
	if _, err := io.ReadFull(rnd, h[len(Magic):]); err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &sealer{w: w, aead: aead, header: h, buf: make([]byte, 0, ChunkSize)}, nil
}

func chunkNonce(header []byte, n uint64, last bool) []byte {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	copy(nonce, header[len(Magic):])
	var ctr [8]byte
	binary.BigEndian.PutUint64(ctr[:], n)
	copy(nonce[PrefixSize:], ctr[1:]) // 7 bytes of counter
	if last {
		nonce[len(nonce)-1] = 1
	}
	return nonce
}

func (s *sealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	total := len(p)
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			// A full chunk is sealed as not last only once more follows.
			if s.seal(false); s.err != nil {
				return 0, s.err
			}
		}
		k := min(ChunkSize-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
	}
	return total, nil
}

func (s *sealer) seal(last bool) {
	if s.n >= 1<<56 {
		s.err = errors.New("chatarchive: archive too long")
		return
	}
	ct := s.aead.Seal(nil, chunkNonce(s.header, s.n, last), s.buf, s.header)
	s.n++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(ct); err != nil {
		s.err = err
	}
}

func (s *sealer) Close() error {
	if s.err == nil {
		s.seal(true)
		if s.err == nil {
			s.err = errors.New("chatarchive: closed")
			return nil
		}
	}
	return s.err
}

// Open decrypts a whole archive. Any failure to authenticate (a wrong key,
// a changed, added, dropped or reordered byte or chunk, a cut) is
// ErrArchive; a failing reader's error is returned as it is.
func Open(r io.Reader, key []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("%w: key of %d bytes", ErrArchive, len(key))
	}
	h := make([]byte, HeaderSize)
	if _, err := io.ReadFull(r, h); err != nil || string(h[:len(Magic)]) != Magic {
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		return nil, fmt.Errorf("%w: bad header", ErrArchive)
	}
	var out bytes.Buffer
	ct := make([]byte, ChunkSize+Overhead+1) // one byte more: is there a next chunk?
	have := 0
	for n := uint64(0); ; n++ {
		m, err := io.ReadFull(r, ct[have:])
		m += have
		last := false
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			last = true
		case err != nil:
			return nil, err
		}
		pt, oerr := aead.Open(nil, chunkNonce(h, n, last), ct[:min(m, ChunkSize+Overhead)], h)
		if oerr != nil {
			return nil, fmt.Errorf("%w: chunk %d does not authenticate", ErrArchive, n)
		}
		out.Write(pt)
		if last {
			return out.Bytes(), nil
		}
		ct[0], have = ct[m-1], 1
	}
}

// Link is the migration link for key: the text a device shows as a QR
// code for the other device to import the archive (CH-DEV-4).
func Link(key []byte) string {
	return Scheme + "?v=1&key=" + base64.RawURLEncoding.EncodeToString(key)
}

// ParseLink returns the key of a migration link (white space around it is
// ignored).
func ParseLink(link string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(link), Scheme)
	if !ok {
		return nil, fmt.Errorf("chatarchive: migration link does not start with %s", Scheme)
	}
	q, err := url.ParseQuery(strings.TrimPrefix(rest, "?"))
	if err != nil {
		return nil, fmt.Errorf("chatarchive: migration link: %w", err)
	}
	if v := q.Get("v"); v != "1" {
		return nil, fmt.Errorf("chatarchive: migration link of version %q, want 1", v)
	}
	if len(q["key"]) != 1 {
		return nil, errors.New("chatarchive: migration link without one key")
	}
	key, err := base64.RawURLEncoding.DecodeString(q.Get("key"))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("chatarchive: migration link key is not %d bytes of unpadded base64url", KeySize)
	}
	return key, nil
}
