package relaybench

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// The baseline and the floor speak a minimal store-and-forward protocol over
// TLS in 16 KiB blocks, one block per step as SMP has: SEND → OK to the
// sender, MSG to the recipient, ACK → OK. They write the same log records
// as the relay's store (a message record, then a deletion record).
//
// Block content (after decryption in the floor), big-endian:
//
//	op(1) pair(4) corr(4) len(2) body(len) [signature(64) on SEND and ACK, floor only]
//
// Ops from clients: 'H' hello (body: 32-byte secret ‖ 32-byte session id,
// always plain), 'R' register a queue (body: sender key ‖ recipient key ‖
// 32-byte body secret; the registering connection is the recipient),
// 'S' SEND (body: message), 'A' ACK (body: 24-byte message id). From the
// server: 'O' OK, 'M' MSG (body: id(24) ‖ message, the message encrypted
// as SMP encrypts MSG bodies in the floor).
const (
	hdrSize   = 11
	plainSize = smp.BlockSize - smpcrypto.TagSize // content room of an encrypted block
	msgIDSize = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blocks is the block I/O of one connection, either end.
type blocks struct {
	c        net.Conn
	crypto   bool
	snd, rcv smpcrypto.ChainKey
	wmu      sync.Mutex
	wplain   []byte // content being built, padded
	wblock   []byte
	rblock   []byte
	rplain   []byte
	count    atomic.Uint64 // blocks sent and received
}

func newBlocks(c net.Conn) *blocks {
	return &blocks{c: c, wplain: make([]byte, smp.BlockSize), wblock: make([]byte, 0, smp.BlockSize),
		rblock: make([]byte, smp.BlockSize), rplain: make([]byte, 0, smp.BlockSize)}
}

// startCrypto switches block encryption on, as SMP's chains do.
func (b *blocks) startCrypto(sessionID, secret []byte, server bool) {
	ck1, ck2 := smpcrypto.ChainInit(sessionID, secret)
	if !server {
		ck1, ck2 = ck2, ck1
	}
	b.snd, b.rcv, b.crypto = ck1, ck2, true
}

// writeLocked pads the n content bytes at b.wplain[2:], encrypts them in
// the floor and sends the block; the caller holds b.wmu.
func (b *blocks) writeLocked(n int) error {
	size := smp.BlockSize
	if b.crypto {
		size = plainSize
	}
	p := b.wplain[:size]
	binary.BigEndian.PutUint16(p, uint16(n))
	if fill := p[2+n:]; len(fill) > 0 {
		fill[0] = '#'
		for i := 1; i < len(fill); i *= 2 {
			copy(fill[i:], fill[:i])
		}
	}
	out := p
	if b.crypto {
		next, key, nonce := b.snd.Step()
		b.snd = next
		var err error
		if out, err = smpcrypto.AppendSeal(b.wblock[:0], key[:], nonce, p); err != nil {
			return err
		}
	}
	_, err := b.c.Write(out)
	b.count.Add(1)
	return err
}

// read returns the next block's content, valid until the next read.
func (b *blocks) read() ([]byte, error) {
	if _, err := io.ReadFull(b.c, b.rblock); err != nil {
		return nil, err
	}
	b.count.Add(1)
	p := b.rblock
	if b.crypto {
		next, key, nonce := b.rcv.Step()
		b.rcv = next
		var err error
		if p, err = smpcrypto.AppendOpen(b.rplain[:0], key[:], nonce, b.rblock); err != nil {
			return nil, err
		}
	}
	n := int(binary.BigEndian.Uint16(p))
	if n > len(p)-2 {
		return nil, errors.New("bad block")
	}
	return p[2 : 2+n], nil
}

// putHdr writes a header at the start of content (b.wplain[2:]).
func putHdr(p []byte, op byte, pair, corr uint32, n int) {
	p[0] = op
	binary.BigEndian.PutUint32(p[1:], pair)
	binary.BigEndian.PutUint32(p[5:], corr)
	binary.BigEndian.PutUint16(p[9:], uint16(n))
}

func parseHdr(c []byte) (op byte, pair, corr uint32, body, rest []byte, err error) {
	if len(c) < hdrSize {
		return 0, 0, 0, nil, nil, errors.New("short block")
	}
	n := int(binary.BigEndian.Uint16(c[9:]))
	if hdrSize+n > len(c) {
		return 0, 0, 0, nil, nil, errors.New("bad length")
	}
	return c[0], binary.BigEndian.Uint32(c[1:]), binary.BigEndian.Uint32(c[5:]), c[hdrSize : hdrSize+n], c[hdrSize+n:], nil
}

// ---- server ----

type plainServer struct {
	log   *diskLog
	floor bool
	mu    sync.Mutex
	qs    map[uint32]*pqueue
}

type pqueue struct {
	mu       sync.Mutex
	rcv      *pconn
	sndKey   ed25519.PublicKey
	rcvKey   ed25519.PublicKey
	secret   []byte
	rid      [24]byte
	msgs     []pmsg
	inflight bool
	free     [][]byte // body buffers for reuse
}

type pmsg struct {
	id   [msgIDSize]byte
	ts   int64
	body []byte
}

type pconn struct {
	*blocks
	srv *plainServer
	rec []byte // log record scratch
	mb  []byte // MSG body scratch
}

func newPlainServer(log *diskLog, floor bool) *plainServer {
	return &plainServer{log: log, floor: floor, qs: map[uint32]*pqueue{}}
}

func (s *plainServer) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			pc := &pconn{blocks: newBlocks(c), srv: s}
			pc.run()
		}()
	}
}

func (pc *pconn) run() {
	s := pc.srv
	for {
		content, err := pc.read()
		if err != nil {
			return
		}
		op, pair, corr, body, rest, err := parseHdr(content)
		if err != nil {
			return
		}
		signed := content[:hdrSize+len(body)]
		switch op {
		case 'H':
			if len(body) != 64 {
				return
			}
			if s.floor {
				pc.startCrypto(body[32:], body[:32], true)
			}
		case 'R':
			if len(body) != 96 {
				return
			}
			q := &pqueue{rcv: pc, sndKey: ed25519.PublicKey(clone(body[:32])), rcvKey: ed25519.PublicKey(clone(body[32:64])), secret: clone(body[64:])}
			rand.Read(q.rid[:])
			s.mu.Lock()
			s.qs[pair] = q
			s.mu.Unlock()
			pc.reply('O', pair, corr)
		case 'S':
			q := s.queue(pair)
			if q == nil || (s.floor && (len(rest) < ed25519.SignatureSize || !ed25519.Verify(q.sndKey, signed, rest[:ed25519.SignatureSize]))) {
				return
			}
			pc.send(q, pair, corr, body)
		case 'A':
			q := s.queue(pair)
			if q == nil || len(body) != msgIDSize || (s.floor && (len(rest) < ed25519.SignatureSize || !ed25519.Verify(q.rcvKey, signed, rest[:ed25519.SignatureSize]))) {
				return
			}
			pc.ack(q, pair, corr, body)
		default:
			return
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func (s *plainServer) queue(pair uint32) *pqueue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.qs[pair]
}

func (pc *pconn) reply(op byte, pair, corr uint32) error {
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	putHdr(pc.wplain[2:], op, pair, corr, 0)
	return pc.writeLocked(hdrSize)
}

// send stores a message (its record as the relay's store writes it), hands
// it to the recipient if nothing is in flight, then answers OK.
func (pc *pconn) send(q *pqueue, pair, corr uint32, body []byte) {
	var m pmsg
	rand.Read(m.id[:])
	m.ts = time.Now().Unix()
	// op, short rid, short id, ts, notify, quota, large body: as store.encodeAddMessage.
	r := append(pc.rec[:0], 1, 24)
	r = append(r, q.rid[:]...)
	r = append(r, msgIDSize)
	r = append(r, m.id[:]...)
	r = binary.BigEndian.AppendUint64(r, uint64(m.ts))
	r = append(r, 'T', 'F')
	r = binary.BigEndian.AppendUint16(r, uint16(len(body)))
	r = append(r, body...)
	pc.rec = r
	if err := pc.srv.log.append(r); err != nil {
		return
	}
	q.mu.Lock()
	var buf []byte
	if n := len(q.free); n > 0 {
		buf, q.free = q.free[n-1], q.free[:n-1]
	}
	m.body = append(buf[:0], body...)
	q.msgs = append(q.msgs, m)
	deliver := !q.inflight
	q.inflight = true
	q.mu.Unlock()
	if deliver {
		q.rcv.deliver(q, pair)
	}
	pc.reply('O', pair, corr)
}

func (pc *pconn) ack(q *pqueue, pair, corr uint32, id []byte) {
	q.mu.Lock()
	if !q.inflight || len(q.msgs) == 0 || string(q.msgs[0].id[:]) != string(id) {
		q.mu.Unlock()
		pc.reply('E', pair, corr)
		return
	}
	q.mu.Unlock()
	r := append(pc.rec[:0], 2, 24)
	r = append(r, q.rid[:]...)
	r = append(r, msgIDSize)
	r = append(r, id...)
	pc.rec = r
	if err := pc.srv.log.append(r); err != nil {
		return
	}
	q.mu.Lock()
	q.free = append(q.free, q.msgs[0].body)
	q.msgs = append(q.msgs[:0], q.msgs[1:]...)
	more := len(q.msgs) > 0
	q.inflight = more
	q.mu.Unlock()
	if more {
		pc.deliver(q, pair)
	}
	pc.reply('O', pair, corr)
}

// deliver sends the queue's head as MSG; in the floor the body is sealed
// as SMP seals MSG bodies (SMP-MSG-2).
func (pc *pconn) deliver(q *pqueue, pair uint32) {
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	q.mu.Lock()
	m := q.msgs[0]
	p := pc.wplain[2:]
	copy(p[hdrSize:], m.id[:])
	n := msgIDSize
	if pc.srv.floor {
		// ts, flags, space, body: the MSG plaintext of SMP-MSG-1.
		plain := binary.BigEndian.AppendUint64(pc.mb[:0], uint64(m.ts))
		plain = append(plain, 'T', ' ')
		plain = append(plain, m.body...)
		pc.mb = plain
		out, err := smpcrypto.AppendSealPadded(p[hdrSize+n:hdrSize+n], q.secret, smpcrypto.NonceFromID(m.id[:]), plain, smp.MsgBodyPadded)
		if err != nil {
			q.mu.Unlock()
			return
		}
		n += len(out)
	} else {
		n += copy(p[hdrSize+n:], m.body)
	}
	q.mu.Unlock()
	putHdr(p, 'M', pair, 0, n)
	pc.writeLocked(hdrSize + n)
}

// ---- disk ----

// diskLog appends records as the relay's store does (u32 length ‖ CRC-32C ‖
// payload, one write per record). With fsync each, group commit makes the
// writes pending at the moment of an fsync share it; serial commit fsyncs
// every record on its own under the log's lock, as the relay's store does today.
type diskLog struct {
	mu       sync.Mutex
	cond     sync.Cond
	f        *os.File
	each     bool
	group    bool
	buf      []byte
	spare    []byte
	appended uint64
	synced   uint64
	syncing  bool
	err      error
}

func openLog(dir string, each, group bool) (*diskLog, error) {
	f, err := os.OpenFile(filepath.Join(dir, "messages.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l := &diskLog{f: f, each: each, group: group}
	l.cond.L = &l.mu
	return l, nil
}

func (l *diskLog) close() error { return l.f.Close() }

func appendRecord(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

func (l *diskLog) append(payload []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.each || !l.group {
		l.buf = appendRecord(l.buf[:0], payload)
		if _, err := l.f.Write(l.buf); err != nil {
			return err
		}
		if l.each {
			return l.f.Sync()
		}
		return nil
	}
	l.buf = appendRecord(l.buf, payload)
	l.appended++
	mine := l.appended
	for l.synced < mine {
		if l.syncing {
			l.cond.Wait()
			continue
		}
		l.syncing = true
		buf, upto := l.buf, l.appended
		l.buf = l.spare[:0]
		l.mu.Unlock()
		_, err := l.f.Write(buf)
		if err == nil {
			err = l.f.Sync()
		}
		l.mu.Lock()
		l.spare = buf[:0]
		l.synced, l.syncing = upto, false
		if err != nil {
			l.err = err
		}
		l.cond.Broadcast()
	}
	if l.err != nil {
		return fmt.Errorf("log: %w", l.err)
	}
	return nil
}

func dialBareTLS(addr string, identity []byte) (*tls.Conn, error) {
	c, err := tls.Dial("tcp", addr, transport.ClientTLSConfig(identity, false, nil))
	if err != nil {
		return nil, err
	}
	if err := c.Handshake(); err != nil {
		return nil, err
	}
	b := make([]byte, smp.BlockSize)
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	return c, nil
}
