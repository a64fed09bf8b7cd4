package chat

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

// The profile archive's encryption (spec/chat.md §12, CH-DEV-3): a 32-byte
// header, then the plaintext in chunks of archiveChunk bytes (the last one
// shorter or empty), each sealed with XChaCha20-Poly1305 under the
// archive's key, with the header as associated data and the nonce made of
// the header's nonce prefix, the chunk's number and a last-chunk flag.
const (
	archiveMagic  = "SMPKIT-PROFILE\x00\x01" // 16 bytes: name, 0, format 1
	archivePrefix = 16                       // random nonce prefix
	archiveHeader = len(archiveMagic) + archivePrefix
	archiveChunk  = 64 << 10
	archiveKeyLen = chacha20poly1305.KeySize
	// MigrationScheme starts a migration link (CH-DEV-4).
	MigrationScheme = "smpkit-migrate:"
)

// ErrArchive: an archive that is not one, is damaged or cut short, or
// does not authenticate under the key (CH-DEV-1). Nothing was imported.
var ErrArchive = errors.New("chat: not a profile archive under this key")

// sealWriter encrypts what is written to it into w.
type sealWriter struct {
	w    io.Writer
	aead interface {
		Seal(dst, nonce, pt, ad []byte) []byte
	}
	header []byte
	buf    []byte
	n      uint64
	err    error
}

func newSealWriter(w io.Writer, key []byte, rnd io.Reader) (*sealWriter, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	h := make([]byte, archiveHeader)
	copy(h, archiveMagic)
	if _, err := io.ReadFull(rnd, h[len(archiveMagic):]); err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &sealWriter{w: w, aead: aead, header: h, buf: make([]byte, 0, archiveChunk)}, nil
}

func chunkNonce(header []byte, n uint64, last bool) []byte {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	copy(nonce, header[len(archiveMagic):])
	var ctr [8]byte
	binary.BigEndian.PutUint64(ctr[:], n)
	copy(nonce[archivePrefix:], ctr[1:]) // 7 bytes of counter
	if last {
		nonce[len(nonce)-1] = 1
	}
	return nonce
}

func (s *sealWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	total := len(p)
	for len(p) > 0 {
		if len(s.buf) == archiveChunk {
			// A full chunk is sealed as not last only once more follows.
			s.seal(false)
			if s.err != nil {
				return 0, s.err
			}
		}
		k := min(archiveChunk-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
	}
	return total, nil
}

func (s *sealWriter) seal(last bool) {
	if s.n >= 1<<56 {
		s.err = errors.New("chat: archive too long")
		return
	}
	ct := s.aead.Seal(nil, chunkNonce(s.header, s.n, last), s.buf, s.header)
	s.n++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(ct); err != nil {
		s.err = err
	}
}

// Close seals the last chunk.
func (s *sealWriter) Close() error {
	if s.err == nil {
		s.seal(true)
	}
	return s.err
}

// openArchive decrypts a whole archive; any failure is ErrArchive.
func openArchive(r io.Reader, key []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, ErrArchive
	}
	h := make([]byte, archiveHeader)
	if _, err := io.ReadFull(r, h); err != nil || string(h[:len(archiveMagic)]) != archiveMagic {
		return nil, fmt.Errorf("%w: bad header", ErrArchive)
	}
	var out bytes.Buffer
	ct := make([]byte, archiveChunk+aead.Overhead()+1)
	have := 0 // bytes of ct already read (one byte of the next chunk)
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
		chunk := ct[:min(m, archiveChunk+aead.Overhead())]
		pt, oerr := aead.Open(nil, chunkNonce(h, n, last), chunk, h)
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

// migrationLink is the text shown as a QR code for moving a profile: the
// scheme, the format version and the archive's key (CH-DEV-4).
func migrationLink(key []byte) string {
	return MigrationScheme + "?v=1&key=" + base64.RawURLEncoding.EncodeToString(key)
}

// ParseMigrationLink returns the archive key of a migration link.
func ParseMigrationLink(link string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(link), MigrationScheme)
	if !ok {
		return nil, fmt.Errorf("chat: migration link: not %s", MigrationScheme)
	}
	q, err := url.ParseQuery(strings.TrimPrefix(rest, "?"))
	if err != nil {
		return nil, fmt.Errorf("chat: migration link: %w", err)
	}
	if q.Get("v") != "1" {
		return nil, fmt.Errorf("chat: migration link: version %q, want 1", q.Get("v"))
	}
	key, err := base64.RawURLEncoding.DecodeString(q.Get("key"))
	if err != nil || len(key) != archiveKeyLen {
		return nil, fmt.Errorf("chat: migration link: key is not %d bytes of base64url", archiveKeyLen)
	}
	return key, nil
}
