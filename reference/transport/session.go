package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Session is an SMP connection after the handshake: the agreed parameters
// (spec/smp.md §5.8) and block reading and writing. Reads and writes may run
// concurrently with each other; each direction is serialised.
type Session struct {
	conn *TLSConn

	// SessionID is tls-unique, the same value on both ends.
	SessionID []byte
	// Version is the agreed SMP version.
	Version smp.Version
	// Offered is the version range in the server hello.
	Offered smp.VersionRange

	// Client side: the relay's per-session X25519 key from its hello (zero
	// if the hello had none) and the chain it came with.
	ServerKey   smpcrypto.PublicKey
	ServerChain [][]byte
	// ServerSignedKey is the signed key object exactly as the hello carried
	// it; a sending proxy passes it on in PKEY (SMP-RSP-PKEY-1).
	ServerSignedKey []byte
	// Relay side: the per-session X25519 private key and the client's key
	// (zero if the client sent none).
	serverPriv smpcrypto.PrivateKey
	ClientKey  smpcrypto.PublicKey

	// Secret is X25519(client key, relay session key) when the client sent a
	// key; nil otherwise. Proxies use it to encrypt forwarded commands.
	Secret []byte
	// ProxyClient is the client hello's proxyServer flag: the client is a
	// relay acting as a sending proxy (v ≥ 14).
	ProxyClient bool
	// Service is the service the client announced (v ≥ 16), and ServiceID
	// the id the relay gave it; both empty for ordinary clients.
	Service   *smp.HelloService
	ServiceID []byte
	// Client side of a service session: the per-session Ed25519 key that
	// makes service signatures, and the service fingerprint.
	ServiceKey         smpcrypto.PrivateKey
	ServiceFingerprint []byte

	// Observe, when set before the session is first used, is called with
	// every block content sent (block nil) and every block received, with
	// the block as read from TLS (still encrypted when block encryption is
	// on). Conformance probes check a relay's bytes with it.
	Observe func(sent bool, block, content []byte)

	rmu, wmu sync.Mutex
	snd, rcv *smpcrypto.ChainKey // nil when block encryption is off
	// held is the pooled buffer the last ReadBlock's content lives in; it
	// goes back to the pool when the next ReadBlock starts. Between blocks
	// (an idle connection) a session holds no block buffer.
	held  *[]byte
	first [1]byte
}

// blockPool holds BlockSize buffers for block reading, writing and
// encryption, shared by all sessions.
var blockPool = sync.Pool{New: func() any { b := make([]byte, BlockSize); return &b }}

func getBlock() *[]byte { return blockPool.Get().(*[]byte) }

func putBlock(b *[]byte) {
	*b = (*b)[:BlockSize]
	blockPool.Put(b)
}

// BlockSize is the size of every block on the wire (SMP-BLOCK-1).
const BlockSize = 16384

// Errors of block I/O, matched with errors.Is.
var (
	// ErrBlock is a block that does not unpad or decrypt (SMP-BLOCK-2).
	ErrBlock = errors.New("transport: bad block")
	// ErrLargeMsg is content that does not fit a block.
	ErrLargeMsg = errors.New("transport: content does not fit in a block")
)

// Encrypted reports whether blocks are encrypted with the v11 chains.
func (s *Session) Encrypted() bool { return s.snd != nil }

// Conn returns the TLS connection under the session.
func (s *Session) Conn() *TLSConn { return s.conn }

// ServerPrivateKey is the relay's per-session X25519 key (relay side only).
func (s *Session) ServerPrivateKey() smpcrypto.PrivateKey { return s.serverPriv }

// Close closes the connection.
func (s *Session) Close() error { return s.conn.Close() }

// MaxContent is the largest block content this session can send.
func (s *Session) MaxContent() int {
	if s.snd != nil {
		return BlockSize - smpcrypto.TagSize - 2
	}
	return BlockSize - 2
}

// WriteBlock sends one block holding content: padded, and encrypted with
// the next send key of the chain when block encryption is on (SMP-CHAIN-3).
func (s *Session) WriteBlock(content []byte) error {
	if len(content) > s.MaxContent() {
		return fmt.Errorf("%w: %d bytes", ErrLargeMsg, len(content))
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	p := getBlock()
	defer putBlock(p)
	return s.writeLocked(*p, copy((*p)[2:], content))
}

// writeLocked sends the n content bytes at p[2:]: it pads them in place to
// a block, or to a block less the tag, which it then encrypts. The caller
// holds s.wmu.
func (s *Session) writeLocked(p []byte, n int) error {
	if n > s.MaxContent() {
		return fmt.Errorf("%w: %d bytes", ErrLargeMsg, n)
	}
	if s.Observe != nil {
		s.Observe(true, nil, p[2:2+n])
	}
	size := BlockSize
	if s.snd != nil {
		size -= smpcrypto.TagSize
	}
	p = p[:size]
	binary.BigEndian.PutUint16(p, uint16(n))
	if fill := p[2+n:]; len(fill) > 0 {
		fill[0] = wire.PadByte
		for i := 1; i < len(fill); i *= 2 {
			copy(fill[i:], fill[:i])
		}
	}
	block := p
	if s.snd != nil {
		next, key, nonce := s.snd.Step()
		*s.snd = next
		out := getBlock()
		defer putBlock(out)
		var err error
		if block, err = smpcrypto.AppendSeal((*out)[:0], key[:], nonce, p); err != nil {
			return err
		}
	}
	if _, err := s.conn.Write(block); err != nil {
		return fmt.Errorf("write block: %w", err)
	}
	return nil
}

// ReadBlock receives one block and returns its content. The returned slice
// is valid until the next ReadBlock. A block that does not unpad or decrypt
// gives an error wrapping ErrBlock; with encryption on, the stream cannot
// continue after that.
func (s *Session) ReadBlock() ([]byte, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.held != nil {
		putBlock(s.held)
		s.held = nil
	}
	// Wait for the first byte before taking a buffer, so that idle
	// connections hold none.
	if _, err := io.ReadFull(s.conn, s.first[:]); err != nil {
		return nil, err
	}
	b := getBlock()
	(*b)[0] = s.first[0]
	if _, err := io.ReadFull(s.conn, (*b)[1:]); err != nil {
		putBlock(b)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if s.rcv == nil {
		s.held = b
		c, err := wire.Unpad(*b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBlock, err)
		}
		if s.Observe != nil {
			s.Observe(false, *b, c)
		}
		return c, nil
	}
	next, key, nonce := s.rcv.Step()
	*s.rcv = next
	plain := getBlock()
	p, err := smpcrypto.AppendOpen((*plain)[:0], key[:], nonce, *b)
	s.held = plain
	if err != nil {
		putBlock(b)
		return nil, fmt.Errorf("%w: %v", ErrBlock, err)
	}
	c, err := wire.Unpad(p)
	if err == nil && s.Observe != nil {
		s.Observe(false, *b, c)
	}
	putBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlock, err)
	}
	return c, nil
}

// WriteTransmissions sends encoded transmissions, packed into as few blocks
// as the batching rules allow (SMP-BATCH-2).
func (s *Session) WriteTransmissions(txs [][]byte) error {
	groups, err := smp.BatchGroups(txs)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLargeMsg, err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	p := getBlock()
	defer putBlock(p)
	for _, g := range groups {
		c, err := smp.AppendBlockContent((*p)[:2], g)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrLargeMsg, err)
		}
		if err := s.writeLocked(c[:cap(c)], len(c)-2); err != nil {
			return err
		}
	}
	return nil
}

// ReadTransmissions reads one block and returns the transmissions in it,
// still encoded. A block whose content is not a valid batch gives a
// *smp.ProtocolError BLOCK.
func (s *Session) ReadTransmissions() ([][]byte, error) {
	c, err := s.ReadBlock()
	if err != nil {
		return nil, err
	}
	return smp.ParseBlockContent(c)
}

// RawSession returns a session over c that reads and writes plain blocks,
// without the SMP handshake: for probes that send hellos of their own.
func RawSession(c *TLSConn) *Session { return &Session{conn: c, SessionID: c.SessionID()} }
