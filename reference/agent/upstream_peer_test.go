package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/wire"
)

// upstreamPeer is a test-only party that behaves as upstream's agent does
// (simplexmq Agent.hs), built from this package's envelope encoders, the
// ratchet and a bare relay client, and driven one step at a time by a
// test: it never sends HELLO unless upstream would, and it lets a test
// send agent messages with any id and previous-message hash.
type upstreamPeer struct {
	t       *testing.T
	ctx     context.Context
	relay   *relay.Loopback // where its receiving queue lives
	clients map[string]*client.Client
	msgs    chan smp.RspMSG
	pending *smp.RspMSG // the answer to an ACK
	rcv     *RcvQueue
	snd     *SndQueue
	rc      *ratchet.State
	skipped ratchet.Skipped
	x1, x2  smpcrypto.PrivateKey // X3DH keys of an invitation it made
	sndID   int64                // last agent message id sent
	// noSKEY: a misbehaving joiner that sends the empty header without
	// securing the queue first (unsigned).
	noSKEY   bool
	prevHash []byte // hash of the last agent message sent
	lastID   int64  // last agent message id received
	lastHash []byte
}

// received is one message as the peer opened it.
type received struct {
	notify bool   // the SEND notification flag
	header byte   // private header: '_' or 'K'
	key    []byte // the sender key of a 'K' header
	env    Envelope
	body   []byte       // the ratchet plaintext, for confirmations and messages
	msg    AgentMessage // parsed body
}

func newUpstreamPeer(t *testing.T, l *relay.Loopback) *upstreamPeer {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	p := &upstreamPeer{t: t, ctx: ctx, relay: l, clients: map[string]*client.Client{}, msgs: make(chan smp.RspMSG, 64), skipped: ratchet.Skipped{}}
	t.Cleanup(func() {
		for _, cl := range p.clients {
			cl.Close()
		}
	})
	return p
}

func (p *upstreamPeer) key(alg smpcrypto.Alg) smpcrypto.PrivateKey {
	k, err := smpcrypto.GenerateKey(alg, rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

func (p *upstreamPeer) do(srv smp.Server, req client.Request) smp.Response {
	p.t.Helper()
	cl := p.clients[srv.String()]
	if cl == nil {
		var err error
		if cl, err = client.Dial(p.ctx, srv, client.Config{PingInterval: -1}); err != nil {
			p.t.Fatal(err)
		}
		p.clients[srv.String()] = cl
		go func() {
			for ev := range cl.Events() {
				if m, ok := ev.Response.(smp.RspMSG); ok {
					p.msgs <- m
				}
			}
		}()
	}
	rsp, err := cl.Do(p.ctx, req)
	if err != nil {
		p.t.Fatalf("%T: %v", req.Command, err)
	}
	return rsp
}

// newQueue creates its receiving queue and describes it with mode (nil:
// no mode, as an agent from before sender-secured queues).
func (p *upstreamPeer) newQueue(mode *smp.QueueMode) QueueInfo {
	rk, dh, e2e := p.key(smpcrypto.Ed25519), p.key(smpcrypto.X25519), p.key(smpcrypto.X25519)
	rsp := p.do(p.relay.Server, client.Request{Key: rk, Command: smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dh.Public(),
		SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}})
	ids := rsp.(smp.RspIDS)
	secret, err := dh.DH(ids.RcvDHKey)
	if err != nil {
		p.t.Fatal(err)
	}
	p.rcv = &RcvQueue{Server: p.relay.Server, RcvID: ids.RcvID, SndID: ids.SndID, RcvKey: rk, RcvSecret: secret, E2E: e2e}
	return QueueInfo{ClientVersion: clientVersion, Server: p.relay.Server, SenderID: ids.SndID, DHKey: e2e.Public(), Mode: mode}
}

// invite makes a one-time invitation with a sender-securable queue, as
// upstream's createInvitation does.
func (p *upstreamPeer) invite() string {
	m := smp.QueueMessaging
	qi := p.newQueue(&m)
	p.x1, p.x2 = p.key(smpcrypto.X448), p.key(smpcrypto.X448)
	inv := Invitation{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: AgentVersionMin, Max: AgentVersionMax},
		Queues:      []smp.QueueURI{{Server: qi.Server, SenderID: qi.SenderID, Versions: smp.VersionRange{Min: 1, Max: clientVersion}, DHKey: qi.DHKey, Mode: &m}},
		E2EVersions: smp.VersionRange{Min: smp.Version(ratchet.VersionMin), Max: smp.Version(ratchet.VersionMax)}, E2EKey1: p.x1.Public(), E2EKey2: p.x2.Public()}
	return inv.String()
}

// join accepts an invitation as upstream's joinConn does: SKEY when the
// queue is sender-securable, a reply queue described with replyMode, and
// the confirmation.
func (p *upstreamPeer) join(link string, replyMode *smp.QueueMode, info string) {
	p.t.Helper()
	inv, err := ParseInvitation(link)
	if err != nil {
		p.t.Fatal(err)
	}
	v := uint16(ratchet.VersionMax)
	j1, j2, dhrs := p.key(smpcrypto.X448), p.key(smpcrypto.X448), p.key(smpcrypto.X448)
	init, err := ratchet.X3DHJoin(j1, j2, inv.params(v))
	if err != nil {
		p.t.Fatal(err)
	}
	if p.rc, err = ratchet.InitJoin(v, ratchet.VersionMax, inv.E2EKey2, dhrs, init); err != nil {
		p.t.Fatal(err)
	}
	uri := inv.Queues[0]
	p.snd = &SndQueue{Server: uri.Server, SndID: uri.SenderID, SndKey: p.key(smpcrypto.Ed25519), E2E: p.key(smpcrypto.X25519), PeerE2E: uri.DHKey,
		Version: clientVersion, SndSecure: messaging(uri.Mode)}
	if p.snd.SndSecure && !p.noSKEY {
		p.do(uri.Server, client.Request{Key: p.snd.SndKey, EntityID: uri.SenderID, Command: smp.CmdSKEY{SenderKey: p.snd.SndKey.Public()}})
	}
	qi := p.newQueue(replyMode)
	p.sendConfirmation(ConnInfoReply{Queues: []QueueInfo{qi}, Info: []byte(info)}, &ratchet.Params{Version: v, Key1: j1.Public(), Key2: j2.Public()})
}

// acceptConfirmation processes the joiner's confirmation as upstream's
// initiator does (smpConfirmation), then allows it (connectReplyQueues):
// SKEY on a sender-securable reply queue and its own confirmation.
// With legacy, it acts as an agent from before sender-secured queues: no
// SKEY, its sender key in a K header.
func (p *upstreamPeer) acceptConfirmation(info string, legacy bool) (received, ConnInfoReply) {
	p.t.Helper()
	r := p.recvRaw()
	conf, ok := r.env.(EnvConfirmation)
	if !ok || conf.E2E == nil {
		p.t.Fatalf("want the joiner's confirmation, got %T", r.env)
	}
	init, err := ratchet.X3DHInit(p.x1, p.x2, *conf.E2E)
	if err != nil {
		p.t.Fatal(err)
	}
	p.rc = ratchet.InitInitiator(conf.E2E.Version, ratchet.VersionMax, p.x2, init)
	p.decrypt(&r, conf.EncConnInfo)
	reply, ok := r.msg.(ConnInfoReply)
	if !ok {
		p.t.Fatalf("confirmation holds %T", r.msg)
	}
	p.lastID, p.lastHash = 1, hash(r.body)
	qi := reply.Queues[0]
	p.snd = &SndQueue{Server: qi.Server, SndID: qi.SenderID, SndKey: p.key(smpcrypto.Ed25519), E2E: p.key(smpcrypto.X25519), PeerE2E: qi.DHKey,
		Version: min(clientVersion, qi.ClientVersion), SndSecure: messaging(qi.Mode) && !legacy}
	if p.snd.SndSecure {
		p.do(qi.Server, client.Request{Key: p.snd.SndKey, EntityID: qi.SenderID, Command: smp.CmdSKEY{SenderKey: p.snd.SndKey.Public()}})
	}
	p.sendConfirmation(ConnInfo{Info: []byte(info)}, nil)
	return r, reply
}

func (p *upstreamPeer) sendConfirmation(m AgentMessage, params *ratchet.Params) {
	p.t.Helper()
	body, err := EncodeAgentMessage(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sndID++
	p.prevHash = hash(body)
	enc, err := p.rc.Encrypt(body, connInfoPadded)
	if err != nil {
		p.t.Fatal(err)
	}
	env, err := EncodeEnvelope(EnvConfirmation{AgentVersion: AgentVersionMax, E2E: params, EncConnInfo: enc})
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendEnvelope(env, true, true)
}

// sendMsg sends the next agent message in the chain.
func (p *upstreamPeer) sendMsg(m AMessage, notify bool) {
	p.t.Helper()
	p.sendMsgAs(p.sndID+1, p.prevHash, m, notify)
}

// sendMsgAs sends an agent message with the given id and previous hash;
// the chain then continues from it.
func (p *upstreamPeer) sendMsgAs(id int64, prev []byte, m AMessage, notify bool) {
	p.t.Helper()
	body, err := EncodeAgentMessage(Message{SndMsgID: id, PrevMsgHash: prev, Msg: m})
	if err != nil {
		p.t.Fatal(err)
	}
	p.sndID, p.prevHash = id, hash(body)
	enc, err := p.rc.Encrypt(body, agentMsgPadded)
	if err != nil {
		p.t.Fatal(err)
	}
	env, err := EncodeEnvelope(EnvMessage{AgentVersion: AgentVersionMax, EncMessage: enc})
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendEnvelope(env, false, notify)
}

// sendEnvelope applies the per-queue layer as upstream's sendConfirmation
// and sendAgentMessage (Client.hs) do: a confirmation carries the e2e key
// and, to a queue its sender secures, the empty private header and a
// signature; else the sender key in the header, unsigned.
func (p *upstreamPeer) sendEnvelope(env []byte, confirmation, notify bool) {
	p.t.Helper()
	q := p.snd
	secret, err := q.E2E.DH(q.PeerE2E)
	if err != nil {
		p.t.Fatal(err)
	}
	var nonce smpcrypto.Nonce
	io.ReadFull(rand.Reader, nonce[:])
	ce := smp.ClientMsgEnvelope{Version: q.Version, Nonce: nonce}
	plain, pad := append([]byte{'_'}, env...), messagePadded
	key := q.SndKey
	if confirmation {
		k := q.E2E.Public()
		ce.DHKey, pad = &k, confirmationPadded
		if !q.SndSecure {
			b := wire.NewBuilder([]byte{'K'})
			b.Short(q.SndKey.Public().SPKI())
			hdr, _ := b.Bytes()
			plain, key = append(hdr, env...), smpcrypto.PrivateKey{}
		} else if p.noSKEY {
			key = smpcrypto.PrivateKey{}
		}
	}
	if ce.Body, err = smpcrypto.SealPadded(secret, nonce, plain, pad); err != nil {
		p.t.Fatal(err)
	}
	body, err := smp.EncodeClientMsgEnvelope(ce)
	if err != nil {
		p.t.Fatal(err)
	}
	p.do(q.Server, client.Request{Key: key, EntityID: q.SndID, Command: smp.CmdSEND{Notify: notify, Body: body}})
}

// recvRaw takes the next message on its queue, opens the relay and
// per-queue layers and acknowledges it.
func (p *upstreamPeer) recvRaw() received {
	p.t.Helper()
	var m smp.RspMSG
	if p.pending != nil {
		m, p.pending = *p.pending, nil
	} else {
		select {
		case m = <-p.msgs:
		case <-time.After(10 * time.Second):
			p.t.Fatal("the peer got no message")
		}
	}
	q := p.rcv
	rb, err := smp.OpenMsgBody(q.RcvSecret, m.MsgID, m.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	ce, err := smp.ParseClientMsgEnvelope(rb.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	if ce.DHKey != nil {
		if q.E2ESecret, err = q.E2E.DH(*ce.DHKey); err != nil {
			p.t.Fatal(err)
		}
	}
	plain, err := smpcrypto.OpenPadded(q.E2ESecret, ce.Nonce, ce.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	r := received{notify: rb.Notify, header: plain[0]}
	rest := plain[1:]
	if r.header == 'K' {
		wp := wire.NewParser(rest)
		r.key = bytes.Clone(wp.Short())
		rest = wp.Rest()
	}
	if r.env, err = ParseEnvelope(rest); err != nil {
		p.t.Fatal(err)
	}
	rsp := p.do(q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdACK{MsgID: m.MsgID}})
	if next, ok := rsp.(smp.RspMSG); ok {
		p.pending = &next
	}
	return r
}

func (p *upstreamPeer) decrypt(r *received, enc []byte) {
	p.t.Helper()
	body, err := p.rc.Decrypt(rand.Reader, p.skipped, enc)
	if err != nil {
		p.t.Fatal(err)
	}
	r.body = body
	if r.msg, err = ParseAgentMessage(body); err != nil {
		p.t.Fatal(err)
	}
}

// recv takes the next agent message and checks its id and chain.
func (p *upstreamPeer) recv() (received, Message) {
	p.t.Helper()
	r := p.recvRaw()
	env, ok := r.env.(EnvMessage)
	if !ok {
		p.t.Fatalf("want a message, got %T", r.env)
	}
	p.decrypt(&r, env.EncMessage)
	m, ok := r.msg.(Message)
	if !ok {
		p.t.Fatalf("want M, got %T", r.msg)
	}
	if in := checkIntegrity(p.lastID, m.SndMsgID, p.lastHash, m.PrevMsgHash); !in.OK() {
		p.t.Fatalf("message %d (%s): %s", m.SndMsgID, m.Msg.tag(), in)
	}
	p.lastID, p.lastHash = m.SndMsgID, hash(r.body)
	return r, m
}

// quiet checks that nothing more arrives for a while.
func (p *upstreamPeer) quiet() {
	p.t.Helper()
	if p.pending != nil {
		p.t.Fatal("an unexpected message arrived")
	}
	select {
	case <-p.msgs:
		p.t.Fatal("an unexpected message arrived")
	case <-time.After(300 * time.Millisecond):
	}
}

func startLoopback(t *testing.T) *relay.Loopback {
	t.Helper()
	l, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func startAgent(t *testing.T, srv smp.Server) *Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := New(ctx, Config{Dir: t.TempDir(), Relay: srv, Passphrase: "test", DBOptions: dbtest.Options()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// await returns the next event of one of kinds; an ERR fails the test
// unless asked for.
func await(t *testing.T, a *Agent, kinds ...EventKind) Event {
	t.Helper()
	for {
		select {
		case ev := <-a.Events():
			for _, k := range kinds {
				if ev.Kind == k {
					return ev
				}
			}
			if ev.Kind == EventErr {
				t.Fatalf("agent error: %v", ev.Err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", kinds)
		}
	}
}

// noEvent checks that the agent says nothing more for a while.
func noEvent(t *testing.T, a *Agent) {
	t.Helper()
	select {
	case ev := <-a.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

// conn returns a connection's committed state.
func (a *Agent) conn(id string) *Conn {
	c, err := a.ConnState(context.Background(), id)
	if err != nil {
		panic(err)
	}
	return c
}

func messagingMode() *smp.QueueMode {
	m := smp.QueueMessaging
	return &m
}

// connectUpstreamJoiner runs the fast procedure with the peer as joiner:
// upstream's initiator reports CON once its confirmation is sent to the
// sender-securable reply queue, its joiner on that confirmation, and
// neither sends HELLO (Agent.hs runSmpQueueMsgDelivery AM_CONN_INFO,
// smpConfirmation).
func connectUpstreamJoiner(t *testing.T) (*Agent, string, *upstreamPeer) {
	r1, r2 := startLoopback(t), startLoopback(t)
	alice, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.join(link, messagingMode(), "peer's profile")
	if conf := await(t, alice, EventConf); string(conf.Body) != "peer's profile" {
		t.Fatalf("CONF %q", conf.Body)
	}
	if err := alice.Allow(ctx, aConn, []byte("alice's profile")); err != nil {
		t.Fatal(err)
	}
	await(t, alice, EventCon)
	r := p.recvRaw()
	conf, ok := r.env.(EnvConfirmation)
	if !ok || conf.E2E != nil {
		t.Fatalf("want the initiator's confirmation, got %+v", r.env)
	}
	if r.header != '_' || !r.notify {
		t.Fatalf("initiator's confirmation: header %q, notify %v; want '_' (SKEY'd reply queue), notify on", r.header, r.notify)
	}
	p.decrypt(&r, conf.EncConnInfo)
	if info, ok := r.msg.(ConnInfo); !ok || string(info.Info) != "alice's profile" {
		t.Fatalf("initiator's confirmation holds %+v", r.msg)
	}
	p.lastID, p.lastHash = 1, hash(r.body)
	return alice, aConn, p // the peer reports CON here
}

// GC-DUPLEX-3: with sender-secured queues there is no HELLO; both sides
// converse at once, with an upstream peer as joiner.
func TestUpstreamJoinerFastProcedure(t *testing.T) {
	alice, aConn, p := connectUpstreamJoiner(t)
	ctx := context.Background()
	p.quiet() // no HELLO from alice
	// The peer sends first, as soon as it has CON.
	p.sendMsg(AMsg{Body: []byte("hi alice")}, true)
	m := await(t, alice, EventMsg)
	if string(m.Body) != "hi alice" || m.MsgID != 2 || !m.Integrity.OK() {
		t.Fatalf("MSG %+v", m)
	}
	id, err := alice.Send(ctx, aConn, []byte("hi peer"))
	if err != nil {
		t.Fatal(err)
	}
	r, msg := p.recv()
	if b, ok := msg.Msg.(AMsg); !ok || string(b.Body) != "hi peer" || msg.SndMsgID != id || id != 2 || !r.notify {
		t.Fatalf("peer got %+v (notify %v), want A_MSG 2 with notification", msg, r.notify)
	}
	// GC-QUEUE-5: alice's receipt goes with the notification flag off
	// (upstream ackMessage'.sendRcpt), naming the peer's message and hash.
	if err := alice.Ack(ctx, aConn, m.MsgID); err != nil {
		t.Fatal(err)
	}
	r, msg = p.recv()
	rc, ok := msg.Msg.(ARcvd)
	if !ok || r.notify || rc.Receipts[0].AgentMsgID != 2 {
		t.Fatalf("peer got %+v (notify %v), want A_RCVD for 2 without notification", msg, r.notify)
	}
	// The peer's receipt for alice's message.
	p.sendMsg(ARcvd{Receipts: []Receipt{{AgentMsgID: id, MsgHash: hash(r.body), Info: []byte{}}}}, false)
	if ev := await(t, alice, EventRcvd); ev.MsgID != id || !ev.Integrity.OK() {
		t.Fatalf("RCVD %+v", ev)
	}
	// A HELLO on the established connection is prohibited, as upstream's
	// helloMsg answers "hello: active".
	p.sendMsg(Hello{}, true)
	if ev := await(t, alice, EventErr, EventCon); ev.Kind != EventErr {
		t.Fatalf("HELLO on an established connection: %+v", ev)
	}
}

// GC-DUPLEX-1, GC-DUPLEX-3: our joiner against an upstream initiator
// secures the link's queue, offers a sender-securable reply queue, reports
// CON on the initiator's confirmation and sends no HELLO.
func TestUpstreamInitiatorFastProcedure(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	bob, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	ctx := context.Background()
	link := p.invite()
	bConn, err := bob.Join(ctx, link, []byte("bob's profile"))
	if err != nil {
		t.Fatal(err)
	}
	r, reply := p.acceptConfirmation("peer's profile", false)
	if r.header != '_' || string(reply.Info) != "bob's profile" {
		t.Fatalf("joiner's confirmation: header %q, info %q", r.header, reply.Info)
	}
	if !messaging(reply.Queues[0].Mode) {
		t.Fatalf("reply queue offered with mode %v, want messaging (upstream createReplyQueue)", reply.Queues[0].Mode)
	}
	if q, err := r2.Store().Queue(store.ByRecipient, p.rcv.RcvID); err != nil || !bytes.Equal(q.SenderKey, bob.conn(bConn).Snd.SndKey.Public().SPKI()) {
		t.Fatalf("the link's queue is not secured with bob's SKEY: %v", err)
	}
	if info := await(t, bob, EventInfo); string(info.Body) != "peer's profile" {
		t.Fatalf("INFO %q", info.Body)
	}
	await(t, bob, EventCon)
	p.quiet() // no HELLO from bob
	id, err := bob.Send(ctx, bConn, []byte("hi peer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, msg := p.recv(); msg.SndMsgID != id || id != 2 {
		t.Fatalf("peer got %+v, want bob's A_MSG 2", msg)
	}
	p.sendMsg(AMsg{Body: []byte("hi bob")}, true)
	if m := await(t, bob, EventMsg); string(m.Body) != "hi bob" || m.MsgID != 2 || !m.Integrity.OK() {
		t.Fatalf("MSG %+v", m)
	}
}

// GC-DUPLEX-5, GC-QUEUE-2: in the standard procedure our initiator secures
// its own queue with the joiner's key (KEY) and, the reply queue being
// sender-securable, secures it with SKEY and sends the empty private
// header, as upstream's ICAllowSecure and connectReplyQueues do.
func TestUpstreamJoinerStandardProcedure(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	alice, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitationWith(ctx, Standard)
	if err != nil {
		t.Fatal(err)
	}
	p.join(link, messagingMode(), "peer")
	if p.snd.SndSecure {
		t.Fatal("a standard link's queue offered as sender-securable")
	}
	await(t, alice, EventConf)
	if err := alice.Allow(ctx, aConn, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	await(t, alice, EventCon)
	c := alice.conn(aConn)
	// At the relays: alice's queue holds the peer's key (her KEY), and the
	// peer's reply queue alice's, though the peer never sent KEY: SKEY.
	if q, err := r1.Store().Queue(store.ByRecipient, c.Rcv.RcvID); err != nil || !bytes.Equal(q.SenderKey, p.snd.SndKey.Public().SPKI()) {
		t.Fatalf("alice's queue not secured with the joiner's key: %v", err)
	}
	if q, err := r2.Store().Queue(store.ByRecipient, p.rcv.RcvID); err != nil || !bytes.Equal(q.SenderKey, c.Snd.SndKey.Public().SPKI()) {
		t.Fatalf("the reply queue not secured with alice's SKEY: %v", err)
	}
	r := p.recvRaw()
	if _, ok := r.env.(EnvConfirmation); !ok || r.header != '_' {
		t.Fatalf("alice's confirmation: %T with header %q, want the empty header", r.env, r.header)
	}
	p.decrypt(&r, r.env.(EnvConfirmation).EncConnInfo)
	p.lastID, p.lastHash = 1, hash(r.body)
	p.quiet()
	if _, err := alice.Send(ctx, aConn, []byte("m")); err != nil {
		t.Fatal(err)
	}
	p.recv()
	p.sendMsg(AMsg{Body: []byte("r")}, true)
	await(t, alice, EventMsg)
}

// GC-DUPLEX-3: a joiner that offers its reply queue without a mode (an
// agent from before sender-secured queues) gets the initiator's sender key
// in a K header, secures the queue itself and HELLOs; our initiator
// answers HELLO and reports CON (upstream ICDuplexSecure, helloMsg).
func TestUpstreamJoinerWithoutModeHELLO(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	alice, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.join(link, nil, "old peer")
	await(t, alice, EventConf)
	if err := alice.Allow(ctx, aConn, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	r := p.recvRaw()
	if r.header != 'K' {
		t.Fatalf("confirmation to a reply queue without a mode has header %q, want K", r.header)
	}
	p.decrypt(&r, r.env.(EnvConfirmation).EncConnInfo)
	p.lastID, p.lastHash = 1, hash(r.body)
	noEvent(t, alice) // no CON before the HELLOs
	k, err := smpcrypto.ParseSPKI(r.key)
	if err != nil {
		t.Fatal(err)
	}
	p.do(p.rcv.Server, client.Request{Key: p.rcv.RcvKey, EntityID: p.rcv.RcvID, Command: smp.CmdKEY{SenderKey: k}})
	p.sendMsg(Hello{}, true)
	await(t, alice, EventCon)
	if r, msg := p.recv(); msg.Msg.tag() != "H" || !r.notify {
		t.Fatalf("want HELLO with notification, got %+v", msg)
	}
	if _, err := alice.Send(ctx, aConn, []byte("m")); err != nil {
		t.Fatal(err)
	}
	p.recv()
}

// GC-ENV-7: a skipped id, a wrong previous hash, a duplicate id and a
// lower id are delivered and reported as upstream's checkMsgIntegrity
// reports them.
func TestIntegrityReportedAsUpstream(t *testing.T) {
	alice, _, p := connectUpstreamJoiner(t)
	send := func(id int64, prev []byte, body, want string) {
		t.Helper()
		p.sendMsgAs(id, prev, AMsg{Body: []byte(body)}, true)
		m := await(t, alice, EventMsg)
		if string(m.Body) != body || m.MsgID != id || m.Integrity.String() != want {
			t.Fatalf("message %d: %+v, integrity %s, want %s", id, m, m.Integrity, want)
		}
	}
	send(2, p.prevHash, "in order", "OK")
	send(5, p.prevHash, "after a gap", "ERR NO_ID 3 4")
	send(6, []byte("not the previous hash"), "bad hash", "ERR HASH")
	send(6, p.prevHash, "same id", "ERR DUPLICATE")
	send(3, p.prevHash, "lower id", "ERR ID 3")
	send(4, p.prevHash, "next after the lower", "OK")
}

// GC-DUPLEX-3: our joiner, given the initiator's sender key in a K header
// (an initiator from before sender-secured queues), secures its reply
// queue with KEY and sends HELLO, and reports CON on the answering HELLO
// (upstream ICDuplexSecure, helloMsg).
func TestUpstreamInitiatorKHeaderHELLO(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	bob, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	ctx := context.Background()
	bConn, err := bob.Join(ctx, p.invite(), []byte("bob"))
	if err != nil {
		t.Fatal(err)
	}
	p.acceptConfirmation("old peer", true)
	await(t, bob, EventInfo)
	r, msg := p.recv()
	if msg.Msg.tag() != "H" || !r.notify || msg.SndMsgID != 2 {
		t.Fatalf("want bob's HELLO 2 with notification, got %+v", msg)
	}
	if q, err := r1.Store().Queue(store.ByRecipient, bob.conn(bConn).Rcv.RcvID); err != nil || !bytes.Equal(q.SenderKey, p.snd.SndKey.Public().SPKI()) {
		t.Fatalf("bob's reply queue not secured with the initiator's key: %v", err)
	}
	noEvent(t, bob) // no CON before the answer
	p.sendMsg(Hello{}, true)
	await(t, bob, EventCon)
	p.sendMsg(AMsg{Body: []byte("hi bob")}, true)
	if m := await(t, bob, EventMsg); !m.Integrity.OK() || m.MsgID != 3 {
		t.Fatalf("MSG %+v", m)
	}
	if _, err := bob.Send(ctx, bConn, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	p.recv()
}

// GC-QUEUE-2: the form follows the queue's mode, not the agent version: a
// link offering only agent versions 2-5 with a sender-securable queue is
// joined with SKEY and the empty header all the same.
func TestJoinOldAgentVersionByMode(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	bob, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	inv, err := ParseInvitation(p.invite())
	if err != nil {
		t.Fatal(err)
	}
	inv.AgentVersions = smp.VersionRange{Min: 2, Max: 5}
	if _, err := bob.Join(context.Background(), inv.String(), []byte("bob")); err != nil {
		t.Fatal(err)
	}
	r, _ := p.acceptConfirmation("peer", false)
	if conf := r.env.(EnvConfirmation); r.header != '_' || conf.AgentVersion != 5 {
		t.Fatalf("confirmation: header %q, agent version %d; want '_' at 5", r.header, conf.AgentVersion)
	}
	await(t, bob, EventCon)
}

// GC-DUPLEX-7, GC-QUEUE-4: a standard invitation's queue is created without
// the messaging mode (SKEY refused), and a confirmation with the empty
// private header on a queue not offered as sender-securable is rejected
// (upstream processClientMsg: "handshake: missing sender key").
func TestEmptyHeaderOnStandardQueueRejected(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	alice, p := startAgent(t, r1.Server), newUpstreamPeer(t, r2)
	_, link, err := alice.CreateInvitationWith(context.Background(), Standard)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ParseInvitation(link)
	if err != nil {
		t.Fatal(err)
	}
	// The queue was created without the sender-securable mode (upstream
	// standard procedure): its sender cannot secure it.
	uri := inv.Queues[0]
	cl, err := client.Dial(context.Background(), uri.Server, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sk, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	var se *client.ServerError
	if _, err := cl.Do(context.Background(), client.Request{Key: sk, EntityID: uri.SenderID, Command: smp.CmdSKEY{SenderKey: sk.Public()}}); !errors.As(err, &se) || !se.Err.Equal(smp.AUTH) {
		t.Fatalf("SKEY on a standard invitation's queue: %v, want ERR AUTH", err)
	}
	inv.Queues[0].Mode = messagingMode() // the peer pretends it was offered q=m
	p.noSKEY = true
	p.join(inv.String(), messagingMode(), "peer")
	if ev := await(t, alice, EventErr, EventConf); ev.Kind != EventErr {
		t.Fatalf("an empty-header confirmation on a standard queue accepted: %+v", ev)
	} else {
		t.Logf("rejected: %v", ev.Err)
	}
}
