package relaybench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// event is what a connection's reader hands to a pair's loop.
type event struct {
	kind byte // 'O' OK, 'M' MSG, 'E' error
	id   [msgIDSize]byte
	at   time.Time
	err  error
}

// pair is one queue with its sender and recipient connections.
type pair struct {
	idx      uint32
	snd, rcv loadConn
	ev       chan event
	// plain protocol keys
	sndEd, rcvEd ed25519.PrivateKey
	// SMP keys and ids
	sk, rk   smpcrypto.PrivateKey
	rid, sid []byte
	// X25519 agreements of sk and rk with the relay's session keys of
	// the sender's and recipient's connections (nil for Ed25519 keys)
	sndSecret, rcvSecret []byte
}

// cacheSecrets makes the agreements that X25519 authenticators use, once
// per queue key and session, as the relay keeps them (smp.AuthSecrets).
func (p *pair) cacheSecrets() error {
	snd, rcv := p.snd.(*smpClient), p.rcv.(*smpClient)
	var err error
	if p.sk.Alg == smpcrypto.X25519 {
		if p.sndSecret, err = p.sk.DH(snd.sess.ServerKey); err != nil {
			return err
		}
	}
	if p.rk.Alg == smpcrypto.X25519 {
		if p.rcvSecret, err = p.rk.DH(rcv.sess.ServerKey); err != nil {
			return err
		}
	}
	return nil
}

// loadConn is one client connection of the load generator.
type loadConn interface {
	// run reads until the connection ends, routing events to pairs.
	run(pairs []*pair)
	send(p *pair, corr uint32, body []byte) error
	ack(p *pair, corr uint32, id [msgIDSize]byte) error
	close()
	// blockCount is the number of blocks sent and received so far.
	blockCount() uint64
}

// ---- plain protocol client (baseline and floor) ----

type plainClient struct {
	*blocks
	floor bool
}

func dialPlain(addr string, identity []byte, floor bool) (*plainClient, error) {
	c, err := tls.Dial("tcp", addr, transport.ClientTLSConfig(identity, false, nil))
	if err != nil {
		return nil, err
	}
	pc := &plainClient{blocks: newBlocks(c), floor: floor}
	var secret [64]byte
	rand.Read(secret[:])
	if err := pc.write('H', 0, 0, secret[:], nil); err != nil {
		c.Close()
		return nil, err
	}
	if floor {
		pc.startCrypto(secret[32:], secret[:32], false)
	}
	return pc, nil
}

func (pc *plainClient) write(op byte, pair, corr uint32, body []byte, key ed25519.PrivateKey) error {
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	p := pc.wplain[2:]
	copy(p[hdrSize:], body)
	putHdr(p, op, pair, corr, len(body))
	n := hdrSize + len(body)
	if pc.floor && key != nil {
		n += copy(p[n:], ed25519.Sign(key, p[:n]))
	}
	return pc.writeLocked(n)
}

// register makes the queue of p; rcv must be p's recipient connection.
func (pc *plainClient) register(p *pair) error {
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	_, rk, _ := ed25519.GenerateKey(rand.Reader)
	p.sndEd, p.rcvEd = sk, rk
	body := make([]byte, 0, 96)
	body = append(body, sk.Public().(ed25519.PublicKey)...)
	body = append(body, rk.Public().(ed25519.PublicKey)...)
	var secret [32]byte
	rand.Read(secret[:])
	body = append(body, secret[:]...)
	if err := pc.write('R', p.idx, 0, body, nil); err != nil {
		return err
	}
	c, err := pc.read()
	if err != nil {
		return err
	}
	if op, _, _, _, _, err := parseHdr(c); err != nil || op != 'O' {
		return fmt.Errorf("register: %c %v", op, err)
	}
	return nil
}

func (pc *plainClient) send(p *pair, corr uint32, body []byte) error {
	return pc.write('S', p.idx, corr, body, p.sndEd)
}

func (pc *plainClient) ack(p *pair, corr uint32, id [msgIDSize]byte) error {
	return pc.write('A', p.idx, corr, id[:], p.rcvEd)
}

func (pc *plainClient) run(pairs []*pair) {
	for {
		c, err := pc.read()
		if err != nil {
			return
		}
		op, idx, _, body, _, err := parseHdr(c)
		if err != nil || int(idx) >= len(pairs) {
			return
		}
		ev := event{kind: op, at: time.Now()}
		switch op {
		case 'M':
			copy(ev.id[:], body)
		case 'O':
		default:
			ev.kind, ev.err = 'E', fmt.Errorf("server answered %c", op)
		}
		pairs[idx].ev <- ev
	}
}

func (pc *plainClient) close() { pc.c.Close() }

func (pc *plainClient) blockCount() uint64 { return pc.count.Load() }

// ---- SMP client (relay) ----

// smpClient is the relay's load client. Like the relay's writer, it packs
// the transmissions of its pairs that are ready at the same time into as few
// blocks as they fit (SMP-BATCH-2): whichever pair finds no write under way
// writes its own and every transmission queued meanwhile, with no writer
// goroutine and no timer.
type smpClient struct {
	sess  *transport.Session
	v     smp.Version
	byRcv map[string]uint32

	wmu     sync.Mutex
	pending [][]byte
	spare   [][]byte
	writing bool
	werr    error
	count   atomic.Uint64 // blocks sent and received
	single  bool          // one command per block (Load.SingleCommand)
}

func dialSMP(addr string, identity []byte) (*smpClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := transport.TLSClient(raw, transport.ClientTLSConfig(identity, false, nil))
	if err := tc.Handshake(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	sess, err := transport.ClientHandshake(ctx, tc, transport.ClientConfig{KeyHash: identity})
	if err != nil {
		raw.Close()
		return nil, err
	}
	return &smpClient{sess: sess, v: sess.Version, byRcv: map[string]uint32{}}, nil
}

func corrID(idx, corr uint32) []byte {
	c := make([]byte, 24)
	binary.BigEndian.PutUint32(c, idx)
	binary.BigEndian.PutUint32(c[4:], corr)
	return c
}

// write authorizes and sends a command; secret, if set, is key's X25519
// agreement with this session's relay key (see pair.cacheSecrets).
func (sc *smpClient) write(key smpcrypto.PrivateKey, secret, corr, entity []byte, cmd smp.Command) error {
	body, err := smp.EncodeCommand(sc.v, cmd)
	if err != nil {
		return err
	}
	t := smp.Transmission{CorrID: corr, EntityID: entity, Command: body}
	switch authorized := smp.Authorized(sc.sess.SessionID, corr, entity, body); {
	case secret != nil:
		t.Auth, err = smp.SecretAuthenticator(secret, smpcrypto.NonceFromID(corr), authorized)
	case key.Alg != 0:
		t.Auth, err = smp.Authorize(key, sc.sess.ServerKey, corr, authorized)
	}
	if err != nil {
		return err
	}
	tx, err := smp.EncodeTransmission(sc.v, t)
	if err != nil {
		return err
	}
	return sc.submit(tx)
}

// submit queues tx and writes the queue unless another caller is writing
// it, in which case that caller sends tx with its own.
func (sc *smpClient) submit(tx []byte) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if sc.werr != nil {
		return sc.werr
	}
	if sc.single {
		sc.count.Add(1)
		if err := sc.sess.WriteTransmissions([][]byte{tx}); err != nil {
			sc.werr = err
		}
		return sc.werr
	}
	sc.pending = append(sc.pending, tx)
	if sc.writing {
		return nil
	}
	sc.writing = true
	for len(sc.pending) > 0 && sc.werr == nil {
		// Let the pairs woken by the same block (or still signing) queue
		// theirs first: one yield, not a timer, so an idle client loses
		// nothing and a busy one shares most blocks.
		sc.wmu.Unlock()
		runtime.Gosched()
		sc.wmu.Lock()
		batch := sc.pending
		sc.pending = sc.spare[:0]
		sc.wmu.Unlock()
		if groups, err := smp.BatchGroups(batch); err == nil {
			sc.count.Add(uint64(len(groups)))
		}
		err := sc.sess.WriteTransmissions(batch)
		sc.wmu.Lock()
		clear(batch)
		sc.spare = batch[:0]
		if err != nil {
			sc.werr = err
		}
	}
	sc.writing = false
	return sc.werr
}

// do is a synchronous request, for setting queues up before the readers run.
func (sc *smpClient) do(key smpcrypto.PrivateKey, entity []byte, cmd smp.Command) (smp.Response, error) {
	corr := make([]byte, 24)
	rand.Read(corr)
	if err := sc.write(key, nil, corr, entity, cmd); err != nil {
		return nil, err
	}
	for {
		txs, err := sc.sess.ReadTransmissions()
		if err != nil {
			return nil, err
		}
		for _, raw := range txs {
			t, err := smp.ParseTransmission(sc.v, raw)
			if err != nil || string(t.CorrID) != string(corr) {
				continue
			}
			rsp, err := smp.ParseResponse(sc.v, t.Command)
			if err != nil {
				return nil, err
			}
			if e, ok := rsp.(smp.RspERR); ok {
				return nil, fmt.Errorf("%s: ERR %s", cmd.Tag(), e.Err)
			}
			return rsp, nil
		}
	}
}

// newSMPQueue creates p's queue on rc (the recipient) and secures it with
// the sender's key, so that SEND and ACK are both authorized: Ed25519
// signatures, or X25519 authenticators with alg X25519.
func newSMPQueue(rc *smpClient, p *pair, alg smpcrypto.Alg) error {
	var err error
	if p.rk, err = smpcrypto.GenerateKey(alg, rand.Reader); err != nil {
		return err
	}
	if p.sk, err = smpcrypto.GenerateKey(alg, rand.Reader); err != nil {
		return err
	}
	dh, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	if err != nil {
		return err
	}
	rsp, err := rc.do(p.rk, nil, smp.CmdNEW{RcvAuthKey: p.rk.Public(), RcvDHKey: dh.Public(),
		SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}})
	if err != nil {
		return err
	}
	ids, ok := rsp.(smp.RspIDS)
	if !ok {
		return fmt.Errorf("NEW answered %s", rsp.Tag())
	}
	// The ids alias the session's read buffer, valid until the next read.
	p.rid, p.sid = bytes.Clone(ids.RcvID), bytes.Clone(ids.SndID)
	if _, err := rc.do(p.rk, p.rid, smp.CmdKEY{SenderKey: p.sk.Public()}); err != nil {
		return err
	}
	rc.byRcv[string(p.rid)] = p.idx
	return nil
}

func (sc *smpClient) send(p *pair, corr uint32, body []byte) error {
	return sc.write(p.sk, p.sndSecret, corrID(p.idx, corr), p.sid, smp.CmdSEND{Body: body})
}

func (sc *smpClient) ack(p *pair, corr uint32, id [msgIDSize]byte) error {
	return sc.write(p.rk, p.rcvSecret, corrID(p.idx, corr), p.rid, smp.CmdACK{MsgID: id[:]})
}

func (sc *smpClient) run(pairs []*pair) {
	for {
		txs, err := sc.sess.ReadTransmissions()
		if err != nil {
			return
		}
		sc.count.Add(1)
		now := time.Now()
		for _, raw := range txs {
			t, err := smp.ParseTransmission(sc.v, raw)
			if err != nil {
				return
			}
			if len(t.CorrID) == 0 {
				idx, ok := sc.byRcv[string(t.EntityID)]
				rsp, err := smp.ParseResponse(sc.v, t.Command)
				if !ok || err != nil {
					continue
				}
				if m, isMsg := rsp.(smp.RspMSG); isMsg && len(m.MsgID) == msgIDSize {
					ev := event{kind: 'M', at: now}
					copy(ev.id[:], m.MsgID)
					pairs[idx].ev <- ev
				}
				continue
			}
			if len(t.CorrID) != 24 {
				continue
			}
			idx := binary.BigEndian.Uint32(t.CorrID)
			if int(idx) >= len(pairs) {
				continue
			}
			ev := event{kind: 'O', at: now}
			if string(t.Command) != "OK" {
				ev.kind, ev.err = 'E', errors.New(string(t.Command))
				if m, err := smp.ParseResponse(sc.v, t.Command); err == nil {
					if msg, isMsg := m.(smp.RspMSG); isMsg {
						// ACK answered with the next message (more than one queued).
						ev = event{kind: 'M', at: now}
						copy(ev.id[:], msg.MsgID)
					}
				}
			}
			pairs[idx].ev <- ev
		}
	}
}

func (sc *smpClient) close() { sc.sess.Close() }

func (sc *smpClient) blockCount() uint64 { return sc.count.Load() }
