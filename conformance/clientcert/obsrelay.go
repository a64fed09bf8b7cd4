package clientcert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// obsRelay is the runner's own minimal relay: enough of §6–§9 of
// spec/smp.md for two agents to connect and talk (NEW, SUB, KEY, SKEY,
// SEND, ACK, OFF, DEL, PING), recording every transmission with the
// verdict on its authorization. It exists to see what a client sends,
// which the reference relay does not expose; it is not a relay to trust.
type obsRelay struct {
	creds  *transport.Credentials
	ln     net.Listener
	Server smp.Server
	// peer reports whether a remote address is one of the reference
	// peer's own connections (their transmissions are not judged).
	peer func(remote string) bool

	mu  sync.Mutex
	txs []obsTx
	sni []string
	// shimMsgs are the ids of the MSGs delivered to the shim.
	shimMsgs [][]byte
	// quota, when set, is how many messages a queue holds (SMP-QUOTA-1);
	// hold stops deliveries on every queue until release.
	quota int
	hold  bool
	// versions offered in the hello (zero: every version), the version
	// last agreed, and the kinds of authorization the shim used.
	versions smp.VersionRange
	version  smp.Version
	kinds    map[string]int

	queues map[string]*oQueue // by recipient id
	bySnd  map[string]*oQueue
	conns  map[*oConn]bool
	nconn  int
	closed bool
	wg     sync.WaitGroup
}

// obsTx is one transmission the relay received.
type obsTx struct {
	conn   int
	peer   bool
	corrID []byte
	entity []byte
	cmd    smp.Command // nil when it did not parse
	auth   string      // "none", "ok" or "bad"
	// party is who the key that verified it belongs to: "recipient" or
	// "sender" (empty when unverified).
	party string
	// secures is set for KEY and SKEY that secured a queue.
	secures bool
}

type oQueue struct {
	rid, sid []byte
	rcvKey   smpcrypto.PublicKey
	secret   []byte
	sndKey   *smpcrypto.PublicKey
	mode     *smp.QueueMode
	msgs     []oMsg
	sub      *oConn
	inflight bool // the head was delivered and awaits ACK (SMP-DLV-1)
	off      bool
}

type oMsg struct {
	quota  bool // a QUOTA marker (SMP-MSG-3)
	id     []byte
	ts     int64
	notify bool
	body   []byte
}

type oConn struct {
	id   int
	peer bool
	sess *transport.Session
	wmu  sync.Mutex
}

func startObsRelay(peer func(string) bool, versions smp.VersionRange) (*obsRelay, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	o := &obsRelay{creds: creds, ln: ln, peer: peer, versions: versions, queues: map[string]*oQueue{}, bySnd: map[string]*oQueue{}, conns: map[*oConn]bool{},
		Server: smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: creds.Identity()}}
	cfg := transport.ServerTLSConfig(creds).Clone()
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if o.peer == nil || !o.peer(h.Conn.RemoteAddr().String()) {
			o.mu.Lock()
			o.sni = append(o.sni, h.ServerName)
			o.mu.Unlock()
		}
		return nil, nil // go on with the connection's own config
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				defer c.Close()
				o.serve(c, cfg)
			}()
		}
	}()
	return o, nil
}

func (o *obsRelay) close() {
	o.mu.Lock()
	o.closed = true
	for c := range o.conns {
		c.sess.Close()
	}
	o.mu.Unlock()
	o.ln.Close()
	o.wg.Wait()
}

func (o *obsRelay) serve(raw net.Conn, cfg *tls.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tc := transport.TLSServer(raw, cfg)
	if err := tc.Handshake(ctx); err != nil {
		cancel()
		return
	}
	sess, err := transport.ServerHandshake(ctx, tc, transport.ServerConfig{Credentials: o.creds, Versions: o.versions})
	cancel()
	if err != nil {
		return
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.nconn++
	o.version = sess.Version
	c := &oConn{id: o.nconn, peer: o.peer != nil && o.peer(raw.RemoteAddr().String()), sess: sess}
	o.conns[c] = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.conns, c)
		for _, q := range o.queues {
			if q.sub == c {
				q.sub, q.inflight = nil, false // SMP-SUBS-4
			}
		}
		o.mu.Unlock()
	}()
	for {
		txs, err := sess.ReadTransmissions()
		if err != nil {
			return
		}
		for _, raw := range txs {
			o.handle(c, bytes.Clone(raw))
		}
	}
}

// out is a transmission to write: to its connection, after the lock.
type oOut struct {
	c              *oConn
	corrID, entity []byte
	rsp            smp.Response
}

func (o *obsRelay) handle(c *oConn, raw []byte) {
	v := c.sess.Version
	t, err := smp.ParseTransmission(v, raw)
	if err != nil {
		return
	}
	o.mu.Lock()
	outs := o.exec(c, t)
	for _, x := range outs {
		if m, ok := x.rsp.(smp.RspMSG); ok && !x.c.peer {
			o.shimMsgs = append(o.shimMsgs, bytes.Clone(m.MsgID))
		}
	}
	o.mu.Unlock()
	for _, x := range outs {
		x.c.write(v, x.corrID, x.entity, x.rsp)
	}
}

func (c *oConn) write(v smp.Version, corrID, entity []byte, rsp smp.Response) {
	b, err := smp.EncodeResponse(v, rsp)
	if err != nil {
		return
	}
	t := smp.Transmission{CorrID: corrID, EntityID: entity, Command: b}
	if v < smp.VersionAuthCmds {
		t.SessionID = c.sess.SessionID // on the wire before v7 (SMP-TX-1)
	}
	tx, err := smp.EncodeTransmission(v, t)
	if err != nil {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sess.WriteTransmissions([][]byte{tx})
}

var errObsAuth = errors.New("auth")

// exec runs one command with o.mu held and records it.
func (o *obsRelay) exec(c *oConn, t smp.Transmission) []oOut {
	rec := obsTx{conn: c.id, peer: c.peer, corrID: bytes.Clone(t.CorrID), entity: bytes.Clone(t.EntityID), auth: "none"}
	cmd, err := smp.ParseCommand(c.sess.Version, t.Command)
	reply := func(r smp.Response) []oOut { return []oOut{{c, t.CorrID, t.EntityID, r}} }
	if err != nil {
		o.txs = append(o.txs, rec)
		return reply(smp.RspERR{Err: smp.CMDSyntax})
	}
	rec.cmd = cmd
	if !c.peer {
		if k, err := smp.AuthKindOf(t.Auth); err == nil {
			if o.kinds == nil {
				o.kinds = map[string]int{}
			}
			o.kinds[fmt.Sprint(k)]++
		}
	}
	authorized := t.AuthorizedBytes(c.sess.SessionID)
	verify := func(k smpcrypto.PublicKey, party string) bool {
		if len(t.Auth) == 0 {
			return false
		}
		if smp.VerifyAuth(k, c.sess.ServerPrivateKey(), t.Auth, t.CorrID, authorized) {
			rec.auth, rec.party = "ok", party
			return true
		}
		rec.auth = "bad"
		return false
	}
	defer func() { o.txs = append(o.txs, rec) }()
	if len(t.Auth) > 0 {
		rec.auth = "bad"
	}
	authErr := reply(smp.RspERR{Err: smp.AUTH})
	switch cmd := cmd.(type) {
	case smp.CmdPING:
		return reply(smp.RspPONG{})
	case smp.CmdNEW:
		if !verify(cmd.RcvAuthKey, "recipient") {
			return authErr
		}
		dh, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
		if err != nil {
			return reply(smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}})
		}
		secret, err := dh.DH(cmd.RcvDHKey)
		if err != nil {
			return authErr
		}
		q := &oQueue{rid: randomBytes(24), sid: randomBytes(24), rcvKey: cmd.RcvAuthKey, secret: secret}
		if cmd.QueueReq != nil {
			m := cmd.QueueReq.Mode
			q.mode = &m
		}
		o.queues[string(q.rid)], o.bySnd[string(q.sid)] = q, q
		if cmd.SubMode == smp.SubModeSubscribe {
			q.sub = c
		}
		return reply(smp.RspIDS{RcvID: q.rid, SndID: q.sid, RcvDHKey: dh.Public(), Mode: q.mode})
	case smp.CmdSKEY, smp.CmdSEND:
		q := o.bySnd[string(t.EntityID)]
		if q == nil {
			return authErr
		}
		if sk, ok := cmd.(smp.CmdSKEY); ok {
			if !verify(sk.SenderKey, "sender") || (q.sndKey != nil && !bytes.Equal(q.sndKey.SPKI(), sk.SenderKey.SPKI())) {
				return authErr
			}
			rec.secures = q.sndKey == nil
			k := sk.SenderKey
			q.sndKey = &k
			return reply(smp.RspOK{})
		}
		switch {
		case q.sndKey == nil && len(t.Auth) != 0:
			return authErr
		case q.sndKey != nil && !verify(*q.sndKey, "sender"):
			return authErr
		case q.off:
			return authErr
		}
		send := cmd.(smp.CmdSEND)
		if o.quota > 0 && len(q.msgs) >= o.quota {
			if !q.msgs[len(q.msgs)-1].quota {
				q.msgs = append(q.msgs, oMsg{quota: true, id: randomBytes(24), ts: time.Now().Unix()})
			}
			return reply(smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrQUOTA}})
		}
		q.msgs = append(q.msgs, oMsg{id: randomBytes(24), ts: time.Now().Unix(), notify: send.Notify, body: bytes.Clone(send.Body)})
		outs := reply(smp.RspOK{})
		if len(q.msgs) == 1 && q.sub != nil && !q.inflight && !o.hold {
			q.inflight = true
			outs = append(outs, oOut{q.sub, nil, q.rid, q.deliver()})
		}
		return outs
	}
	q := o.queues[string(t.EntityID)]
	if q == nil || !verify(q.rcvKey, "recipient") {
		return authErr
	}
	switch cmd := cmd.(type) {
	case smp.CmdSUB:
		q.sub, q.inflight = c, false
		outs := reply(smp.RspOK{})
		if len(q.msgs) > 0 && !o.hold {
			q.inflight = true
			outs = append(outs, oOut{c, nil, q.rid, q.deliver()})
		}
		return outs
	case smp.CmdKEY:
		if q.sndKey != nil && !bytes.Equal(q.sndKey.SPKI(), cmd.SenderKey.SPKI()) {
			return authErr
		}
		rec.secures = q.sndKey == nil
		k := cmd.SenderKey
		q.sndKey = &k
		return reply(smp.RspOK{})
	case smp.CmdACK:
		if len(q.msgs) == 0 || !q.inflight || !bytes.Equal(q.msgs[0].id, cmd.MsgID) {
			return reply(smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrNOMSG}})
		}
		q.msgs, q.inflight = q.msgs[1:], false
		if len(q.msgs) > 0 && q.sub == c && !o.hold {
			q.inflight = true
			return reply(q.deliver())
		}
		return reply(smp.RspOK{})
	case smp.CmdOFF:
		q.off = true
		return reply(smp.RspOK{})
	case smp.CmdDEL:
		delete(o.queues, string(q.rid))
		delete(o.bySnd, string(q.sid))
		return reply(smp.RspOK{})
	}
	return reply(smp.RspERR{Err: smp.CMDProhibited})
}

func (q *oQueue) deliver() smp.Response {
	m := q.msgs[0]
	body, err := smp.SealMsgBody(q.secret, m.id, smp.RcvMessageBody{Timestamp: m.ts, Quota: m.quota, Notify: m.notify, Body: m.body})
	if err != nil {
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}}
	}
	return smp.RspMSG{MsgID: m.id, Body: body}
}

// release ends a hold: every subscribed queue with messages gets its head.
func (o *obsRelay) release() {
	o.mu.Lock()
	o.hold = false
	var outs []oOut
	for _, q := range o.queues {
		if q.sub != nil && !q.inflight && len(q.msgs) > 0 {
			q.inflight = true
			outs = append(outs, oOut{q.sub, nil, q.rid, q.deliver()})
		}
	}
	o.mu.Unlock()
	for _, x := range outs {
		x.c.write(x.c.sess.Version, x.corrID, x.entity, x.rsp)
	}
}

// queued counts the messages and QUOTA markers waiting on every queue.
func (o *obsRelay) queued() (msgs, markers int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.queues {
		for _, m := range q.msgs {
			if m.quota {
				markers++
			} else {
				msgs++
			}
		}
	}
	return msgs, markers
}

// shimTxs returns the transmissions of the shim's connections.
func (o *obsRelay) shimTxs() []obsTx {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []obsTx
	for _, x := range o.txs {
		if !x.peer {
			out = append(out, x)
		}
	}
	return out
}
