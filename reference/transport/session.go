package transport

import (
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
	rbuf     []byte
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
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.Observe != nil {
		s.Observe(true, nil, content)
	}
	block, err := s.seal(content)
	if err != nil {
		return err
	}
	if _, err := s.conn.Write(block); err != nil {
		return fmt.Errorf("write block: %w", err)
	}
	return nil
}

func (s *Session) seal(content []byte) ([]byte, error) {
	if s.snd == nil {
		b, err := wire.Pad(content, BlockSize)
		if err != nil {
			return nil, fmt.Errorf("%w: %d bytes", ErrLargeMsg, len(content))
		}
		return b, nil
	}
	if len(content) > s.MaxContent() {
		return nil, fmt.Errorf("%w: %d bytes", ErrLargeMsg, len(content))
	}
	next, key, nonce := s.snd.Step()
	*s.snd = next
	return smpcrypto.SealPadded(key[:], nonce, content, BlockSize-smpcrypto.TagSize)
}

// ReadBlock receives one block and returns its content. The returned slice
// is valid until the next ReadBlock. A block that does not unpad or decrypt
// gives an error wrapping ErrBlock; with encryption on, the stream cannot
// continue after that.
func (s *Session) ReadBlock() ([]byte, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.rbuf == nil {
		s.rbuf = make([]byte, BlockSize)
	}
	if _, err := io.ReadFull(s.conn, s.rbuf); err != nil {
		return nil, err
	}
	c, err := s.open(s.rbuf)
	if err == nil && s.Observe != nil {
		s.Observe(false, s.rbuf, c)
	}
	return c, err
}

func (s *Session) open(block []byte) ([]byte, error) {
	if s.rcv == nil {
		c, err := wire.Unpad(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBlock, err)
		}
		return c, nil
	}
	next, key, nonce := s.rcv.Step()
	*s.rcv = next
	c, err := smpcrypto.OpenPadded(key[:], nonce, block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlock, err)
	}
	return c, nil
}

// WriteTransmissions sends encoded transmissions, packed into as few blocks
// as the batching rules allow (SMP-BATCH-2).
func (s *Session) WriteTransmissions(txs [][]byte) error {
	contents, err := smp.Batch(txs)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLargeMsg, err)
	}
	for _, c := range contents {
		if err := s.WriteBlock(c); err != nil {
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
