package transport

// This file recovers the SMP session id: the verify_data of the client's TLS
// Finished message ("tls-unique", SMP-TLS-4), which SMP uses for TLS 1.3 too.
// crypto/tls exposes it only for TLS 1.2 (ConnectionState.TLSUnique), so for
// TLS 1.3 we rebuild it from pieces the standard library does expose:
//
//   - a per-connection Config.KeyLogWriter hands us the client handshake
//     traffic secret (CLIENT_HANDSHAKE_TRAFFIC_SECRET);
//   - a net.Conn wrapper keeps the raw records the client sends during the
//     handshake (written by a client, read by a server);
//   - the client's encrypted handshake records are decrypted with the key and
//     iv derived from that secret (RFC 8446 §7.3) and the Finished message
//     (handshake type 20) is read out of the plaintext.
//
// Both ends compute the same value; the tests check it against a Finished
// recomputed from the transcript (RFC 8446 §4.4.4).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// maxCapture bounds how many raw bytes a connection keeps while its handshake
// runs. A client's handshake flight is a few KiB (more with a certificate
// chain); anything beyond this is not a handshake we can bind.
const maxCapture = 256 << 10

const (
	recordTypeChangeCipherSpec = 20
	recordTypeAlert            = 21
	recordTypeHandshake        = 22
	recordTypeApplicationData  = 23
	handshakeTypeClientHello   = 1
	handshakeTypeFinished      = 20
)

// ErrSessionID is matched by every failure to recover the session id.
var ErrSessionID = errors.New("transport: cannot recover tls-unique")

// recorder wraps the raw connection under crypto/tls and keeps the bytes the
// client sends until the handshake is over.
type recorder struct {
	net.Conn
	client bool // this end is the TLS client: keep written bytes, else read ones

	mu      sync.Mutex
	on      bool
	sent    []byte // the client's raw records
	secrets map[string][]byte
	user    io.Writer // the caller's own KeyLogWriter, if any
}

func newRecorder(c net.Conn, client bool, user io.Writer) *recorder {
	return &recorder{Conn: c, client: client, on: true, secrets: map[string][]byte{}, user: user}
}

func (r *recorder) keep(p []byte) {
	r.mu.Lock()
	if r.on && len(r.sent)+len(p) <= maxCapture {
		r.sent = append(r.sent, p...)
	}
	r.mu.Unlock()
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if !r.client && n > 0 {
		r.keep(p[:n])
	}
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.client {
		r.keep(p)
	}
	return r.Conn.Write(p)
}

// Write receives key log lines ("LABEL <client random> <secret>", one line
// per call) from crypto/tls for this connection only.
func (r *recorder) writeKeyLog(line []byte) (int, error) {
	f := strings.Fields(string(line))
	if len(f) == 3 {
		if s, err := hex.DecodeString(f[2]); err == nil {
			r.mu.Lock()
			r.secrets[f[0]] = s
			r.mu.Unlock()
		}
	}
	if r.user != nil {
		return r.user.Write(line)
	}
	return len(line), nil
}

type keyLogFunc func([]byte) (int, error)

func (f keyLogFunc) Write(p []byte) (int, error) { return f(p) }

// stop ends capturing and returns what was captured.
func (r *recorder) stop() (sent []byte, clientHS []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	sent, r.sent = r.sent, nil
	return sent, r.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
}

// sessionIDFromState returns tls-unique for a finished handshake.
func sessionIDFromState(st tls.ConnectionState, sent, clientHS []byte) ([]byte, error) {
	switch st.Version {
	case tls.VersionTLS12:
		// In a full TLS 1.2 handshake the first Finished is the client's.
		if len(st.TLSUnique) == 0 || st.DidResume {
			return nil, fmt.Errorf("%w: TLS 1.2 without a full handshake", ErrSessionID)
		}
		return bytes.Clone(st.TLSUnique), nil
	case tls.VersionTLS13:
		if clientHS == nil {
			return nil, fmt.Errorf("%w: no client handshake traffic secret was logged", ErrSessionID)
		}
		return clientFinished13(st.CipherSuite, clientHS, sent)
	default:
		return nil, fmt.Errorf("%w: TLS version %#04x", ErrSessionID, st.Version)
	}
}

// suite13 describes a TLS 1.3 cipher suite's record protection.
type suite13 struct {
	hash   func() hash.Hash
	keyLen int
	aead   func(key []byte) (cipher.AEAD, error)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var suites13 = map[uint16]suite13{
	tls.TLS_AES_128_GCM_SHA256:       {sha256.New, 16, gcm},
	tls.TLS_AES_256_GCM_SHA384:       {sha512.New384, 32, gcm},
	tls.TLS_CHACHA20_POLY1305_SHA256: {sha256.New, 32, chacha20poly1305.New},
}

// expandLabel is HKDF-Expand-Label of RFC 8446 §7.1.
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full)+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h, secret, string(info), n)
}

// handshakeOpener decrypts one direction's handshake-epoch records.
type handshakeOpener struct {
	aead cipher.AEAD
	iv   []byte
	seq  uint64
}

func newHandshakeOpener(suite uint16, secret []byte) (*handshakeOpener, error) {
	s, ok := suites13[suite]
	if !ok {
		return nil, fmt.Errorf("%w: unknown TLS 1.3 cipher suite %#04x", ErrSessionID, suite)
	}
	key, err := expandLabel(s.hash, secret, "key", nil, s.keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(s.hash, secret, "iv", nil, 12)
	if err != nil {
		return nil, err
	}
	a, err := s.aead(key)
	if err != nil {
		return nil, err
	}
	return &handshakeOpener{aead: a, iv: iv}, nil
}

// open decrypts one protected record (header included) and returns the inner
// content type and content (RFC 8446 §5.2-5.3).
func (o *handshakeOpener) open(record []byte) (byte, []byte, error) {
	nonce := bytes.Clone(o.iv)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], o.seq)
	for i := range seq {
		nonce[len(nonce)-8+i] ^= seq[i]
	}
	o.seq++
	pt, err := o.aead.Open(nil, nonce, record[5:], record[:5])
	if err != nil {
		return 0, nil, fmt.Errorf("%w: record %d does not decrypt", ErrSessionID, o.seq-1)
	}
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fmt.Errorf("%w: record with no content type", ErrSessionID)
	}
	return pt[i], pt[:i], nil
}

// records splits raw TLS bytes into whole records (header included).
func records(raw []byte) [][]byte {
	var out [][]byte
	for len(raw) >= 5 {
		n := 5 + int(binary.BigEndian.Uint16(raw[3:5]))
		if n > len(raw) {
			break
		}
		out = append(out, raw[:n])
		raw = raw[n:]
	}
	return out
}

// clientHandshake13 decrypts the client's encrypted handshake records and
// returns the handshake messages they hold, in order, until and including
// Finished.
func clientHandshake13(suite uint16, secret, sent []byte) ([][]byte, error) {
	o, err := newHandshakeOpener(suite, secret)
	if err != nil {
		return nil, err
	}
	var buf []byte
	var msgs [][]byte
	for _, rec := range records(sent) {
		if rec[0] != recordTypeApplicationData {
			continue // plaintext ClientHello(s), the compatibility ChangeCipherSpec
		}
		typ, content, err := o.open(rec)
		if err != nil {
			return nil, err
		}
		if typ != recordTypeHandshake {
			return nil, fmt.Errorf("%w: content type %d before the client Finished", ErrSessionID, typ)
		}
		buf = append(buf, content...)
		for len(buf) >= 4 {
			n := 4 + (int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3]))
			if n > len(buf) {
				break
			}
			msgs = append(msgs, buf[:n:n])
			if buf[0] == handshakeTypeFinished {
				return msgs, nil
			}
			buf = buf[n:]
		}
	}
	return nil, fmt.Errorf("%w: no client Finished among %d captured bytes", ErrSessionID, len(sent))
}

// clientFinished13 returns the verify_data of the client's TLS 1.3 Finished.
func clientFinished13(suite uint16, secret, sent []byte) ([]byte, error) {
	msgs, err := clientHandshake13(suite, secret, sent)
	if err != nil {
		return nil, err
	}
	fin := msgs[len(msgs)-1]
	return bytes.Clone(fin[4:]), nil
}
