package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Per-queue layer sizes and versions (GC-QUEUE-3).
const (
	confirmationPadded = 15904
	messagePadded      = 16000
	connInfoPadded     = 14832 // ratchet body of a confirmation (GC-RATCHET-6)
	agentMsgPadded     = 15840 // ratchet body of a message
	clientVersion      = 4     // SMP client version of our queues
)

// Config configures an agent.
type Config struct {
	// Dir holds the agent's database, agent.db (docs/db.md), unless DB is
	// set; it survives restarts.
	Dir string
	// Passphrase encrypts the database (argon2id, then Adiantum pages).
	// An empty one is refused unless DBOptions.AllowEmptyPassphrase.
	Passphrase string
	// DBOptions tune opening the database (KDF cost, a fault-injecting
	// file system in tests).
	DBOptions *db.Options
	// DB, if set, is an open database the agent shares (the chat library
	// keeps its tables in it); Dir and Passphrase are then unused and
	// Close leaves it open.
	DB *db.DB
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// connection attempts to a relay that is down (default 100 ms, 30 s).
	ReconnectMin, ReconnectMax time.Duration
	// Relay is where the agent creates its receiving queues.
	Relay smp.Server
	// Client options for relay connections.
	Client client.Config
	// Rand is the randomness (default crypto/rand).
	Rand io.Reader
	// Drop, if set, is asked about every received message before it is
	// processed; true drops it (acknowledged to the relay, never seen by
	// the agent). Tests use it to lose messages in transit.
	Drop func(connID string, body []byte) bool
}

// EventKind names what happened.
type EventKind string

// Event kinds, named as in the upstream agent protocol.
const (
	EventConf   EventKind = "CONF"   // the joiner's info arrived; Allow the connection
	EventInfo   EventKind = "INFO"   // the initiator's info arrived
	EventCon    EventKind = "CON"    // the connection is established
	EventMsg    EventKind = "MSG"    // a message arrived; Ack it (with a receipt) or AckWithoutReceipt
	EventRcvd   EventKind = "RCVD"   // the peer received our message MsgID
	EventSent   EventKind = "SENT"   // a relay accepted our message MsgID (SendReportSent only)
	EventReq    EventKind = "REQ"    // a request to a contact address; Join its Invitation
	EventSwitch EventKind = "SWITCH" // a queue rotation finished
	EventRSync  EventKind = "RSYNC"  // the ratchets were re-agreed (GC-RESYNC-1)
	EventErr    EventKind = "ERR"    // a message was rejected; the state is unchanged
)

// Event is something the agent tells its user.
type Event struct {
	ConnID string
	Kind   EventKind
	MsgID  int64  // MSG: the sender's message id; RCVD: our message id
	Body   []byte // CONF, INFO, REQ: the peer's connection info; MSG: the message
	Err    error  // ERR
	// Integrity is, for MSG and RCVD, how the agent message fits the
	// sender's numbering and hash chain (GC-ENV-7).
	Integrity MsgIntegrity
	// Receipt is, for RCVD, whether the hash the receipt carries is the
	// one of the message we sent (upstream MsgReceiptStatus).
	Receipt ReceiptStatus `json:",omitempty"`
	// Invitation is, for REQ, the requester's invitation link: accept the
	// request with Join(ctx, Invitation, info).
	Invitation string
}

// ReceiptStatus is the result of checking a receipt (GC-ENV-8), named as
// upstream encodes it.
type ReceiptStatus string

const (
	ReceiptOK      ReceiptStatus = "ok"         // the hash is the sent message's
	ReceiptBadHash ReceiptStatus = "badMsgHash" // another hash
)

// Agent manages graph-chat connections.
type Agent struct {
	cfg    Config
	db     *db.DB
	ownDB  bool
	pool   *relayPool
	events *eventLog
	ctx    context.Context // ends at Close, once receivers and senders stopped
	cancel context.CancelFunc
	// closing ends when Close starts: no new message is taken from the
	// outbox, and waiting for a relay stops.
	closing     context.Context
	stopClosing context.CancelFunc

	mu      sync.Mutex // the maps below; never held across I/O
	conns   map[string]*Conn
	locks   map[string]*sync.Mutex // per connection (conns.go)
	rcv     map[string]rcvEntry    // queueKey of each receiving queue
	rcvKeys map[string][]string    // connection → its keys in rcv
	senders map[string]chan struct{}
	retries map[string]time.Duration
	sent    map[int64]bool   // outbox rows accepted by their relays, to delete
	after   map[string]int64 // queueKey → the last outbox row sent in this run
	flush   chan struct{}    // asks the flusher to delete them
	closed  bool
	rwg     sync.WaitGroup // receivers: Close lets them finish and ACK
	dwg     sync.WaitGroup // senders: Close lets a SEND under way finish
	wg      sync.WaitGroup // everything else
}

// Conn is one connection's persisted state (GC-RATCHET-2): one row of
// agent_conns.
type Conn struct {
	ID      string `json:"id"`
	Role    string `json:"role"`   // initiator | joiner
	Status  string `json:"status"` // new, joined, confirmed, allowed, ready
	Version uint16 `json:"agent_version"`
	E2EVer  uint16 `json:"e2e_version"`
	X3DH1   []byte `json:"x3dh1,omitempty"` // initiator's X448 scalars until the confirmation
	X3DH2   []byte `json:"x3dh2,omitempty"`
	Rcv     *RcvQueue
	Snd     *SndQueue
	// Queue rotation (GC-ROTATE-1): the recipient's new queue until QTEST
	// arrives on it, the old one until it is deleted, and the sender's new
	// queue until QUSE.
	NextRcv *RcvQueue `json:"next_rcv,omitempty"`
	OldRcv  *RcvQueue `json:"old_rcv,omitempty"`
	NextSnd *SndQueue `json:"next_snd,omitempty"`
	// Redundancy (GC-REDUNDANCY-1): further queues each way, on other
	// relays; Adding marks a QADD that adds rather than replaces.
	ExtraRcv []*RcvQueue `json:"extra_rcv,omitempty"`
	ExtraSnd []*SndQueue `json:"extra_snd,omitempty"`
	Adding   bool        `json:"adding,omitempty"`
	// Ratchet resynchronisation: our new X3DH scalars while we wait for the
	// peer's, and the hashes of ratchet keys already processed.
	SyncKey1 []byte   `json:"sync_key1,omitempty"`
	SyncKey2 []byte   `json:"sync_key2,omitempty"`
	SyncSeen [][]byte `json:"sync_seen,omitempty"`
	Ratchet  *ratchet.State
	Skipped  map[string]map[uint32]ratchet.MessageKey `json:"skipped"` // header key in hex
	SndMsgID int64                                    `json:"snd_msg_id"`
	PrevHash []byte                                   `json:"prev_hash"`
	// RcvLastID and RcvPrevHash are the sender's id and the hash of the
	// last agent message received, starting with its confirmation (GC-ENV-7).
	RcvLastID   int64  `json:"rcv_last_id"`
	RcvPrevHash []byte `json:"rcv_prev_hash"`
	Hello       struct{ Sent, Got bool }
	// Standard is true for an invitation made for the standard procedure
	// (its queue URI without q=m, GC-DUPLEX-5). The forms each party uses
	// follow the modes of the queues, not this flag.
	Standard bool `json:"standard"`

	op *op // the operation under way (conns.go)
}

// RcvQueue is a queue the agent receives on.
type RcvQueue struct {
	Server    smp.Server
	RcvID     []byte
	SndID     []byte
	RcvKey    smpcrypto.PrivateKey // Ed25519, authorizes recipient commands
	RcvSecret []byte               // rcvDhSecret, opens MSG bodies
	E2E       smpcrypto.PrivateKey // X25519 of the per-queue layer
	E2ESecret []byte               // set by the first confirmation
	// PeerSndKey is the sender key a confirmation carried in its private
	// header (standard procedure): the recipient secures the queue with it.
	PeerSndKey []byte
	Contact    bool // a contact address queue: every message has its own key
	// SndSecure: the relay created the queue in messaging mode and we
	// offered it so, so its sender secures it with SKEY and confirms with
	// the empty private header; a confirmation with that header to any
	// other queue is refused (upstream senderCanSecure queueMode).
	SndSecure bool `json:"snd_secure"`
}

// SndQueue is a queue the agent sends to.
type SndQueue struct {
	Server    smp.Server
	SndID     []byte
	SndKey    smpcrypto.PrivateKey // Ed25519, set with SKEY
	E2E       smpcrypto.PrivateKey // our X25519 key for this queue
	PeerE2E   smpcrypto.PublicKey  // the recipient's key from the link or queue info
	Version   uint16               // SMP client version
	Confirmed bool                 // the first envelope (with our key) was sent
	Secured   bool                 // our key secures the queue: SENDs are signed
	// SndSecure: the queue's mode is messaging (q=m), so its sender
	// secures it with SKEY (GC-QUEUE-2).
	SndSecure bool `json:"snd_secure"`
	Replaces  bool // a rotation's new queue (else an added one)
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("agent: closed")

// New opens the agent's database and starts it. It does not wait for the
// relays: each is dialled in the background, redialled with backoff while
// it is down, and all of the agent's queues there are subscribed each time
// it comes back.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Client.PingInterval == 0 {
		cfg.Client.PingInterval = -1
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 100 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	a := &Agent{cfg: cfg, db: cfg.DB, conns: map[string]*Conn{}, locks: map[string]*sync.Mutex{}, rcv: map[string]rcvEntry{},
		rcvKeys: map[string][]string{}, senders: map[string]chan struct{}{}, retries: map[string]time.Duration{}, sent: map[int64]bool{}, after: map[string]int64{}}
	if a.db == nil {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, err
		}
		d, err := db.Open(ctx, filepath.Join(cfg.Dir, "agent.db"), cfg.Passphrase, cfg.DBOptions)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		a.db, a.ownDB = d, true
	}
	fail := func(err error) (*Agent, error) {
		if a.ownDB {
			a.db.Close()
		}
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := a.db.Migrate(ctx, Schema); err != nil {
		return fail(err)
	}
	conns, err := loadConns(ctx, a.db)
	if err != nil {
		return fail(err)
	}
	senders := map[string]smp.Server{}
	for id, c := range conns {
		a.conns[id] = c
		a.locks[id] = &sync.Mutex{}
		a.index(c, false)
		for _, q := range append([]*SndQueue{c.Snd, c.NextSnd}, c.ExtraSnd...) {
			if q != nil {
				senders[queueKey(q.Server, q.SndID)] = q.Server
			}
		}
	}
	pending, err := outboxQueues(ctx, a.db)
	if err != nil {
		return fail(err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.closing, a.stopClosing = context.WithCancel(a.ctx)
	a.events = newEventLog(a.db)
	a.flush = make(chan struct{}, 1)
	a.wg.Add(1)
	go a.flusher()
	a.pool = newRelayPool(cfg.Client, cfg.ReconnectMin, cfg.ReconnectMax)
	a.pool.subs, a.pool.event = a.subs, a.onRelayEvent
	for _, e := range a.rcv {
		a.pool.watch(e.srv)
	}
	for _, qk := range pending {
		if srv, ok := senders[qk]; ok {
			a.deliver(qk, srv)
		}
	}
	return a, nil
}

// Events delivers the agent's events. They are kept in the database until
// taken here, so an application that reads slowly loses none.
func (a *Agent) Events() <-chan Event { return a.events.out }

// Close disconnects from the relays and closes the database (unless it was
// given in Config.DB); the state stays on disk.
func (a *Agent) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.stopClosing()
	a.rwg.Wait()
	a.dwg.Wait()
	a.cancel()
	a.pool.close()
	a.wg.Wait()
	a.db.Update(context.Background(), func(tx *db.Tx) error { return a.forgetSent(tx, nil) })
	a.events.close()
	if a.ownDB {
		return a.db.Close()
	}
	return nil
}

// ConnState returns a copy of a connection's committed state.
func (a *Agent) ConnState(ctx context.Context, connID string) (*Conn, error) {
	c, err := loadConn(ctx, a.db, connID)
	if err == nil && c == nil {
		err = fmt.Errorf("agent: no connection %s", connID)
	}
	return c, err
}

func (a *Agent) do(ctx context.Context, srv smp.Server, req client.Request) (smp.Response, error) {
	return a.pool.do(ctx, srv, req)
}

func (a *Agent) key(alg smpcrypto.Alg) (smpcrypto.PrivateKey, error) {
	return smpcrypto.GenerateKey(alg, a.cfg.Rand)
}

func (a *Agent) newID() string {
	b := make([]byte, 12)
	io.ReadFull(a.cfg.Rand, b)
	return hex.EncodeToString(b)
}

// newRcvQueue creates a messaging queue on the agent's relay (NEW).
func (a *Agent) newRcvQueue(ctx context.Context) (*RcvQueue, smp.QueueURI, error) {
	return a.newQueue(ctx, a.cfg.Relay, smp.QueueMessaging)
}

// noMode asks newQueue for a queue without a mode: recipient-secured.
const noMode smp.QueueMode = 0

// newQueue creates a queue (NEW) asking for mode. Relays below v9 take no
// mode: NEW then goes without it and the queue has none, as upstream's
// encoder drops it (Protocol.hs encodeProtocol NEW); the queue's mode, and
// so the procedure, is the one the relay's IDS reports (upstream
// newRcvQueue_ takes queueMode from IDS).
func (a *Agent) newQueue(ctx context.Context, relay smp.Server, mode smp.QueueMode) (*RcvQueue, smp.QueueURI, error) {
	rk, err := a.key(smpcrypto.Ed25519)
	if err != nil {
		return nil, smp.QueueURI{}, err
	}
	dh, _ := a.key(smpcrypto.X25519)
	e2e, _ := a.key(smpcrypto.X25519)
	cl, err := a.pool.client(ctx, relay)
	if err != nil {
		return nil, smp.QueueURI{}, fmt.Errorf("agent: create queue: %w", err)
	}
	cmd := smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dh.Public(), SubMode: smp.SubModeSubscribe}
	if mode != noMode && cl.Version() >= smp.VersionSndAuthKey {
		cmd.QueueReq = &smp.QueueReq{Mode: mode}
	}
	rsp, err := cl.Do(ctx, client.Request{Key: rk, Command: cmd})
	if err != nil {
		return nil, smp.QueueURI{}, fmt.Errorf("agent: create queue: %w", err)
	}
	ids, ok := rsp.(smp.RspIDS)
	if !ok {
		return nil, smp.QueueURI{}, fmt.Errorf("agent: NEW answered %s", rsp.Tag())
	}
	secret, err := dh.DH(ids.RcvDHKey)
	if err != nil {
		return nil, smp.QueueURI{}, err
	}
	var m *smp.QueueMode
	if ids.Mode != nil {
		mm := *ids.Mode
		m = &mm
	}
	q := &RcvQueue{Server: relay, RcvID: ids.RcvID, SndID: ids.SndID, RcvKey: rk, RcvSecret: secret, E2E: e2e,
		Contact: mode == smp.QueueContact, SndSecure: messaging(m)}
	uri := smp.QueueURI{Server: relay, SenderID: ids.SndID, Versions: smp.VersionRange{Min: 1, Max: clientVersion}, DHKey: e2e.Public(), Mode: m}
	return q, uri, nil
}

// Procedure selects how queues are secured (spec/graph-chat.md §3).
type Procedure int

const (
	// Fast: the invitation's queue is in messaging mode (q=m); the joiner
	// secures it with SKEY.
	Fast Procedure = iota
	// Standard: the invitation's queue has no mode; the initiator secures
	// it with KEY and the sender key the joiner's confirmation carries.
	// The reply queue is sender-secured either way (GC-DUPLEX-5).
	Standard
)

// CreateInvitation makes a connection and its one-time link (GC-LINK-1),
// for the fast procedure.
func (a *Agent) CreateInvitation(ctx context.Context) (connID, link string, err error) {
	return a.CreateInvitationWith(ctx, Fast)
}

// CreateInvitationWith makes an invitation for the given procedure.
func (a *Agent) CreateInvitationWith(ctx context.Context, proc Procedure) (connID, link string, err error) {
	mode := smp.QueueMessaging
	if proc == Standard {
		// A queue without the messaging mode, which its recipient secures
		// with KEY: the standard procedure is what upstream runs with such
		// a queue (below v9 every queue is one).
		mode = noMode
	}
	q, uri, err := a.newQueue(ctx, a.cfg.Relay, mode)
	if err != nil {
		return "", "", err
	}
	if proc == Standard {
		uri.Mode = nil // no "q=m": the joiner does not use SKEY
		q.SndSecure = false
	}
	k1, _ := a.key(smpcrypto.X448)
	k2, _ := a.key(smpcrypto.X448)
	c := &Conn{ID: a.newID(), Role: "initiator", Status: "new", X3DH1: k1.Raw, X3DH2: k2.Raw, Rcv: q, Standard: proc == Standard}
	if err := a.create(ctx, c, nil); err != nil {
		return "", "", err
	}
	inv := Invitation{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: AgentVersionMin, Max: AgentVersionMax}, Queues: []smp.QueueURI{uri},
		E2EVersions: smp.VersionRange{Min: smp.Version(ratchet.VersionMin), Max: smp.Version(ratchet.VersionMax)}, E2EKey1: k1.Public(), E2EKey2: k2.Public()}
	return c.ID, inv.String(), nil
}

// Join accepts an invitation link: it creates a reply queue and sends the
// confirmation with info. The form follows the link queue's mode alone:
// when its sender secures it (q=m), SKEY first and the empty private
// header; else the sender key travels in the confirmation (GC-QUEUE-2).
// The reply queue is always sender-securable (GC-DUPLEX-1), as upstream's
// createReplyQueue makes it.
func (a *Agent) Join(ctx context.Context, link string, info []byte) (string, error) {
	inv, err := ParseInvitation(link)
	if err != nil {
		return "", err
	}
	// Any agent version both support: the procedure's forms follow the
	// queues' modes, not the version (GC-QUEUE-2).
	av, ok := inv.AgentVersions.Intersect(smp.VersionRange{Min: AgentVersionMin, Max: AgentVersionMax})
	if !ok {
		return "", fmt.Errorf("agent: link offers agent versions %v", inv.AgentVersions)
	}
	ev, ok := inv.E2EVersions.Intersect(smp.VersionRange{Min: smp.Version(ratchet.VersionMin), Max: smp.Version(ratchet.VersionMax)})
	if !ok {
		return "", fmt.Errorf("agent: link offers ratchet versions %v", inv.E2EVersions)
	}
	uri := inv.Queues[0]
	return a.join(ctx, inv, uri, info, smp.Version(av.Max), uint16(ev.Max))
}

func (a *Agent) join(ctx context.Context, inv Invitation, uri smp.QueueURI, info []byte, av smp.Version, e2eVer uint16) (string, error) {
	standard := !messaging(uri.Mode)
	c := &Conn{ID: a.newID(), Role: "joiner", Status: "joined", Version: uint16(av), E2EVer: e2eVer, Standard: standard}
	// Ratchet (GC-X3DH-2, GC-RATCHET-1).
	j1, _ := a.key(smpcrypto.X448)
	j2, _ := a.key(smpcrypto.X448)
	dhrs, _ := a.key(smpcrypto.X448)
	init, err := ratchet.X3DHJoin(j1, j2, inv.params(c.E2EVer))
	if err != nil {
		return "", err
	}
	if c.Ratchet, err = ratchet.InitJoin(c.E2EVer, ratchet.VersionMax, inv.E2EKey2, dhrs, init); err != nil {
		return "", err
	}
	// Sending queue: secure it (SKEY), then confirm.
	sk, _ := a.key(smpcrypto.Ed25519)
	e2e, _ := a.key(smpcrypto.X25519)
	c.Snd = &SndQueue{Server: uri.Server, SndID: uri.SenderID, SndKey: sk, E2E: e2e, PeerE2E: uri.DHKey, Version: min(clientVersion, uint16(uri.Versions.Max)), SndSecure: !standard}
	if !standard {
		if _, err := a.do(ctx, uri.Server, client.Request{Key: sk, EntityID: uri.SenderID, Command: smp.CmdSKEY{SenderKey: sk.Public()}}); err != nil {
			return "", fmt.Errorf("agent: secure the initiator's queue: %w", err)
		}
		c.Snd.Secured = true
	}
	q, ruri, err := a.newRcvQueue(ctx)
	if err != nil {
		return "", err
	}
	c.Rcv = q
	reply := ConnInfoReply{Queues: []QueueInfo{{ClientVersion: clientVersion, Server: ruri.Server, SenderID: ruri.SenderID, DHKey: ruri.DHKey, Mode: ruri.Mode}}, Info: info}
	jp := ratchet.Params{Version: c.E2EVer, Key1: j1.Public(), Key2: j2.Public()}
	if err := a.create(ctx, c, func(c *Conn) error { return a.sendConfirmation(ctx, c, reply, &jp) }); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Suspend stops the connection's receiving queue from accepting messages
// (OFF); the peer's sends fail with ERR AUTH.
func (a *Agent) Suspend(ctx context.Context, connID string) error {
	c, unlock, err := a.lockConn(connID)
	if err != nil {
		return err
	}
	defer unlock()
	if c.Rcv == nil {
		return fmt.Errorf("agent: no connection %s", connID)
	}
	_, err = a.do(ctx, c.Rcv.Server, client.Request{Key: c.Rcv.RcvKey, EntityID: c.Rcv.RcvID, Command: smp.CmdOFF{}})
	return err
}

// Delete deletes the connection's receiving queues (DEL) and forgets it.
func (a *Agent) Delete(ctx context.Context, connID string) error {
	return a.update(ctx, connID, func(c *Conn) error {
		for _, q := range c.rcvQueues() {
			if _, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdDEL{}}); err != nil {
				var se *client.ServerError
				if !errors.As(err, &se) || !se.Err.Equal(smp.AUTH) { // already deleted is fine
					return err
				}
			}
		}
		c.op.deleted = true
		return nil
	})
}

// CreateContact makes a contact address: a long-lived queue that anyone
// with the link can send connection requests to (REQ events).
func (a *Agent) CreateContact(ctx context.Context) (connID, link string, err error) {
	q, uri, err := a.newQueue(ctx, a.cfg.Relay, smp.QueueContact)
	if err != nil {
		return "", "", err
	}
	c := &Conn{ID: a.newID(), Role: "contact", Status: "contact", Rcv: q}
	if err := a.create(ctx, c, nil); err != nil {
		return "", "", err
	}
	return c.ID, Contact{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: AgentVersionMin, Max: AgentVersionMax}, Queues: []smp.QueueURI{uri}}.String(), nil
}

// JoinContact sends a connection request to a contact address: a new
// invitation of ours with info, protected by the per-queue layer only
// (an "I" envelope, GC-ENV-1). The owner accepts by joining it; we then
// get CONF as for any invitation.
func (a *Agent) JoinContact(ctx context.Context, link string, info []byte) (string, error) {
	ct, err := ParseContact(link)
	if err != nil {
		return "", err
	}
	av, ok := ct.AgentVersions.Intersect(smp.VersionRange{Min: AgentVersionMin, Max: AgentVersionMax})
	if !ok {
		return "", fmt.Errorf("agent: contact offers agent versions %v", ct.AgentVersions)
	}
	connID, inv, err := a.CreateInvitation(ctx)
	if err != nil {
		return "", err
	}
	env, err := EncodeEnvelope(EnvInvitation{AgentVersion: uint16(av.Max), ConnReq: inv, ConnInfo: info})
	if err != nil {
		return "", err
	}
	q := ct.Queues[0]
	once, _ := a.key(smpcrypto.X25519)
	secret, err := once.DH(q.DHKey)
	if err != nil {
		return "", err
	}
	var nonce smpcrypto.Nonce
	io.ReadFull(a.cfg.Rand, nonce[:])
	k := once.Public()
	ce := smp.ClientMsgEnvelope{Version: min(clientVersion, uint16(q.Versions.Max)), DHKey: &k, Nonce: nonce}
	if ce.Body, err = smpcrypto.SealPadded(secret, nonce, append([]byte{'_'}, env...), confirmationPadded); err != nil {
		return "", err
	}
	body, err := smp.EncodeClientMsgEnvelope(ce)
	if err != nil {
		return "", err
	}
	if _, err := a.do(ctx, q.Server, client.Request{EntityID: q.SenderID, Command: smp.CmdSEND{Notify: true, Body: body}}); err != nil {
		return "", fmt.Errorf("agent: send the request: %w", err)
	}
	return connID, nil
}

// Allow answers a CONF, as upstream's ICAllowSecure and
// connectReplyQueues do: the initiator secures its own queue with KEY when
// the joiner's confirmation carried a sender key (GC-DUPLEX-5), secures the
// reply queue with SKEY when its mode lets the sender do so, and sends its
// own connection info. Sent to a sender-securable queue, that confirmation
// establishes the connection (CON, no HELLO); else the joiner secures the
// reply queue and HELLOs follow (GC-DUPLEX-3).
func (a *Agent) Allow(ctx context.Context, connID string, info []byte) error {
	return a.update(ctx, connID, func(c *Conn) error { return a.allow(ctx, c, info) })
}

func (a *Agent) allow(ctx context.Context, c *Conn, info []byte) error {
	if c.Status != "confirmed" {
		return fmt.Errorf("agent: connection %s is not waiting for approval", c.ID)
	}
	if c.Rcv.PeerSndKey != nil {
		if err := a.secureOwnQueue(ctx, c.Rcv); err != nil {
			return err
		}
	}
	if c.Snd.SndSecure && !c.Snd.Secured {
		if _, err := a.do(ctx, c.Snd.Server, client.Request{Key: c.Snd.SndKey, EntityID: c.Snd.SndID, Command: smp.CmdSKEY{SenderKey: c.Snd.SndKey.Public()}}); err != nil {
			return fmt.Errorf("agent: secure the reply queue: %w", err)
		}
		c.Snd.Secured = true
	}
	c.Status = "allowed"
	if err := a.sendConfirmation(ctx, c, ConnInfo{Info: info}, nil); err != nil {
		return err
	}
	if !c.Snd.SndSecure {
		return nil // wait for the joiner's HELLO
	}
	c.Status = "ready"
	// CON once the relay accepted the confirmation (upstream: once it is
	// sent); messages sent meanwhile follow it on the same queue.
	c.emitWhenSent(Event{ConnID: c.ID, Kind: EventCon})
	return nil
}

// secureOwnQueue secures a receiving queue with KEY and the sender key its
// confirmation carried (standard procedure, GC-DUPLEX-5).
func (a *Agent) secureOwnQueue(ctx context.Context, q *RcvQueue) error {
	k, err := smpcrypto.ParseSPKI(q.PeerSndKey)
	if err != nil {
		return fmt.Errorf("agent: the confirmation carried no sender key: %w", err)
	}
	if _, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdKEY{SenderKey: k}}); err != nil {
		return fmt.Errorf("agent: secure our queue: %w", err)
	}
	return nil
}

// sendConfirmation ratchet-encrypts an agent message into a confirmation
// envelope and sends it with the per-queue key (GC-ENV-1, GC-QUEUE-1).
func (a *Agent) sendConfirmation(ctx context.Context, c *Conn, m AgentMessage, params *ratchet.Params) error {
	body, err := EncodeAgentMessage(m)
	if err != nil {
		return err
	}
	c.SndMsgID++
	c.PrevHash = hash(body)
	enc, err := c.Ratchet.Encrypt(body, connInfoPadded)
	if err != nil {
		return err
	}
	env, err := EncodeEnvelope(EnvConfirmation{AgentVersion: c.Version, E2E: params, EncConnInfo: enc})
	if err != nil {
		return err
	}
	c.queue(c.Snd, env, true, 0)
	return nil
}

// Send sends a message on a ready connection; it returns its message id,
// which the peer's receipt names.
// The message is committed to the database, ratchet-encrypted, before Send
// returns; it is delivered to the relays in the background, in order, as
// soon as they accept it.
func (a *Agent) Send(ctx context.Context, connID string, body []byte) (int64, error) {
	var id int64
	err := a.update(ctx, connID, func(c *Conn) error {
		if c.Status != "ready" {
			return fmt.Errorf("agent: connection %s is not ready", connID)
		}
		var err error
		id, err = a.sendMessage(ctx, c, AMsg{Body: body})
		return err
	})
	return id, err
}

// SendReportSent is Send, and SENT with the message id follows once a
// relay accepted the message. Upstream's agent reports SENT for every
// message; here it is asked for, as the chat waits for it only before
// deleting a connection it said goodbye on (x.direct.del, x.grp.leave,
// x.grp.mem.del, x.grp.del: upstream deletes such a connection once its
// pending messages are delivered, and no receipt comes for them).
func (a *Agent) SendReportSent(ctx context.Context, connID string, body []byte) (int64, error) {
	var id int64
	err := a.update(ctx, connID, func(c *Conn) error {
		if c.Status != "ready" {
			return fmt.Errorf("agent: connection %s is not ready", connID)
		}
		var err error
		if id, err = a.sendMessage(ctx, c, AMsg{Body: body}); err != nil {
			return err
		}
		c.emitWhenSent(Event{ConnID: c.ID, Kind: EventSent, MsgID: id})
		return nil
	})
	return id, err
}

// Ack acknowledges a received message: the agent sends a receipt.
func (a *Agent) Ack(ctx context.Context, connID string, msgID int64) error {
	return a.ack(ctx, connID, msgID, true)
}

// AckWithoutReceipt acknowledges a received message without a receipt:
// the sender gets no RCVD for it. Upstream's ackMessage takes the
// receipt's info as a Maybe, Nothing for this; its chat asks for a
// receipt only for some messages (spec/chat.md, CH-RCPT-1).
func (a *Agent) AckWithoutReceipt(ctx context.Context, connID string, msgID int64) error {
	return a.ack(ctx, connID, msgID, false)
}

func (a *Agent) ack(ctx context.Context, connID string, msgID int64, receipt bool) error {
	return a.update(ctx, connID, func(c *Conn) error {
		h, err := unackedHash(ctx, a.db, c.ID, msgID)
		if err != nil {
			return err
		}
		if h == nil {
			return fmt.Errorf("agent: no message %d to acknowledge", msgID)
		}
		c.op.acked = append(c.op.acked, msgID)
		if !receipt {
			return nil
		}
		_, err = a.sendMessage(ctx, c, ARcvd{Receipts: []Receipt{{AgentMsgID: msgID, MsgHash: h, Info: []byte{}}}})
		return err
	})
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// sendMessage numbers, chains, encrypts and sends an agent message
// (GC-ENV-3). Called with a.mu held.
func (a *Agent) sendMessage(ctx context.Context, c *Conn, m AMessage) (int64, error) {
	return a.sendMessageTo(ctx, c, m, append([]*SndQueue{c.Snd}, c.ExtraSnd...))
}

// sendMessageTo sends an agent message to the given queues; it succeeds
// when any of them accepts it.
func (a *Agent) sendMessageTo(ctx context.Context, c *Conn, m AMessage, queues []*SndQueue) (int64, error) {
	c.SndMsgID++
	msg := Message{SndMsgID: c.SndMsgID, PrevMsgHash: c.PrevHash, Msg: m}
	body, err := EncodeAgentMessage(msg)
	if err != nil {
		return 0, err
	}
	c.PrevHash = hash(body)
	if _, ok := m.(AMsg); ok {
		c.op.sentMsg = append(c.op.sentMsg, unacked{msg.SndMsgID, c.PrevHash})
	}
	enc, err := c.Ratchet.Encrypt(body, agentMsgPadded)
	if err != nil {
		return 0, err
	}
	env, err := EncodeEnvelope(EnvMessage{AgentVersion: c.Version, EncMessage: enc})
	if err != nil {
		return 0, err
	}
	// The same ratchet ciphertext goes to every active queue
	// (GC-REDUNDANCY-1): it is delivered if any relay accepts it.
	for _, q := range queues {
		c.queue(q, env, notifies(m), msg.SndMsgID)
	}
	return msg.SndMsgID, nil
}

// notifies reports whether a message's SEND sets the notification flag
// (GC-QUEUE-5), as upstream chooses it: on for what the peer's user or
// handshake waits for, off for receipts and queue management.
func notifies(m AMessage) bool {
	switch m.(type) {
	case Hello, AMsg, EReady:
		return true
	}
	return false // A_RCVD (ackMessage'), A_QCONT, QADD, QKEY, QUSE, QTEST
}

func (c *Conn) skipped() ratchet.Skipped {
	s := ratchet.Skipped{}
	for hk, keys := range c.Skipped {
		k, _ := hex.DecodeString(hk)
		s[string(k)] = keys
	}
	return s
}

func (c *Conn) setSkipped(s ratchet.Skipped) {
	c.Skipped = map[string]map[uint32]ratchet.MessageKey{}
	for hk, keys := range s {
		c.Skipped[hex.EncodeToString([]byte(hk))] = keys
	}
}

// process opens the layers of a message and acts on it.
func (a *Agent) process(ctx context.Context, c *Conn, q *RcvQueue, m smp.RspMSG) error {
	rb, err := smp.OpenMsgBody(q.RcvSecret, m.MsgID, m.Body)
	if err != nil {
		return fmt.Errorf("agent: relay layer: %w", err)
	}
	if rb.Quota {
		return nil
	}
	if a.cfg.Drop != nil && a.cfg.Drop(c.ID, rb.Body) {
		return nil
	}
	ce, err := smp.ParseClientMsgEnvelope(rb.Body)
	if err != nil {
		return err
	}
	if ce.DHKey != nil && q.Contact {
		// Every request to a contact address has its own key.
		secret, err := q.E2E.DH(*ce.DHKey)
		if err != nil {
			return err
		}
		plain, err := smpcrypto.OpenPadded(secret, ce.Nonce, ce.Body)
		if err != nil {
			return fmt.Errorf("agent: per-queue layer: %w", err)
		}
		if len(plain) == 0 || plain[0] != '_' {
			return errors.New("agent: private header of a request")
		}
		env, err := ParseEnvelope(plain[1:])
		if err != nil {
			return err
		}
		inv, ok := env.(EnvInvitation)
		if !ok {
			return fmt.Errorf("agent: %T sent to a contact address", env)
		}
		if _, err := ParseInvitation(inv.ConnReq); err != nil {
			return err
		}
		c.emit(Event{ConnID: c.ID, Kind: EventReq, Body: inv.ConnInfo, Invitation: inv.ConnReq})
		return nil
	}
	if ce.DHKey != nil {
		if q.E2ESecret != nil {
			// The queue has its key: open with it, as upstream does. A
			// confirmation that opens is a redelivery (its ACK was lost);
			// any other keyed envelope is refused (GC-QUEUE-4).
			_, _, env, err := openQueueLayer(q.E2ESecret, ce)
			if err != nil {
				return err
			}
			if _, ok := env.(EnvConfirmation); ok {
				return nil
			}
			return errors.New("agent: prohibited: msg: public header")
		}
		// Decrypt first; the key is the queue's only once the confirmation
		// it carries was processed (upstream processClientMsg,
		// setRcvQueueConfirmedE2E): a keyed envelope that does not open,
		// or is refused, leaves the queue waiting for the real one.
		secret, err := q.E2E.DH(*ce.DHKey)
		if err != nil {
			return err
		}
		hdr, sndKey, env, err := openQueueLayer(secret, ce)
		if err != nil {
			return err
		}
		conf, ok := env.(EnvConfirmation)
		if !ok {
			return errors.New("agent: prohibited: handshake: incorrect state")
		}
		if hdr == '_' && !q.SndSecure {
			// Not offered as sender-securable: the confirmation must carry
			// the sender key.
			return errors.New("agent: prohibited: handshake: missing sender key")
		}
		if hdr == 'K' {
			q.PeerSndKey = sndKey
		}
		if err := a.onConfirmation(ctx, c, conf); err != nil {
			q.PeerSndKey = nil
			return err
		}
		q.E2ESecret = secret
		return nil
	}
	if q.E2ESecret == nil {
		return errors.New("agent: prohibited: msg: no keys")
	}
	hdr, _, env, err := openQueueLayer(q.E2ESecret, ce)
	if err != nil {
		return err
	}
	if hdr != '_' {
		return errors.New("agent: prohibited: msg: bad client msg")
	}
	switch e := env.(type) {
	case EnvRatchetKey:
		return a.onRatchetKey(ctx, c, e)
	case EnvMessage:
		return a.onMessage(ctx, c, q, e)
	}
	return fmt.Errorf("agent: prohibited: msg: bad client msg (%T)", env)
}

// openQueueLayer opens the per-queue layer (GC-QUEUE-2): the private
// header ('_' or 'K' with the sender key) and the envelope.
func openQueueLayer(secret []byte, ce smp.ClientMsgEnvelope) (hdr byte, sndKey []byte, env Envelope, err error) {
	plain, err := smpcrypto.OpenPadded(secret, ce.Nonce, ce.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("agent: per-queue layer: %w", err)
	}
	if len(plain) == 0 || (plain[0] != '_' && plain[0] != 'K') {
		return 0, nil, nil, errors.New("agent: private header")
	}
	hdr, envBytes := plain[0], plain[1:]
	if hdr == 'K' {
		p := wire.NewParser(envBytes)
		key := p.Short()
		if p.Err() != nil {
			return 0, nil, nil, fmt.Errorf("agent: private header: %w", p.Err())
		}
		sndKey = bytes.Clone(key)
		envBytes = p.Rest()
	}
	env, err = ParseEnvelope(envBytes)
	if err != nil {
		return 0, nil, nil, err
	}
	return hdr, sndKey, env, nil
}

func (a *Agent) decrypt(c *Conn, enc []byte) (AgentMessage, []byte, error) {
	sk := c.skipped()
	body, err := c.Ratchet.Decrypt(a.cfg.Rand, sk, enc)
	if errors.Is(err, ratchet.ErrCommitted) {
		// Some failures advance the ratchet, as upstream's do (GC-RATCHET-8):
		// keep that state, or the two ends diverge. The receive operation
		// commits it with the error event.
		c.setSkipped(sk)
	}
	if err != nil {
		return nil, nil, err
	}
	c.setSkipped(sk)
	m, err := ParseAgentMessage(body)
	return m, body, err
}

func (a *Agent) onConfirmation(ctx context.Context, c *Conn, e EnvConfirmation) error {
	switch {
	case c.Role == "initiator" && c.Status == "new":
		if e.E2E == nil {
			return errors.New("agent: confirmation without ratchet parameters")
		}
		k1, err1 := smpcrypto.NewPrivateKey(smpcrypto.X448, c.X3DH1)
		k2, err2 := smpcrypto.NewPrivateKey(smpcrypto.X448, c.X3DH2)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		init, err := ratchet.X3DHInit(k1, k2, *e.E2E)
		if err != nil {
			return err
		}
		rc := ratchet.InitInitiator(e.E2E.Version, ratchet.VersionMax, k2, init)
		old := c.Ratchet
		c.Ratchet = rc
		m, body, err := a.decrypt(c, e.EncConnInfo)
		if err != nil {
			c.Ratchet = old
			return err
		}
		reply, ok := m.(ConnInfoReply)
		if !ok || len(reply.Queues) == 0 {
			c.Ratchet = old
			return fmt.Errorf("agent: confirmation holds %T", m)
		}
		qi := reply.Queues[0]
		sk, _ := a.key(smpcrypto.Ed25519)
		e2e, _ := a.key(smpcrypto.X25519)
		c.Snd = &SndQueue{Server: qi.Server, SndID: qi.SenderID, SndKey: sk, E2E: e2e, PeerE2E: qi.DHKey, Version: min(clientVersion, qi.ClientVersion), SndSecure: messaging(qi.Mode)}
		c.Version, c.E2EVer = e.AgentVersion, e.E2E.Version
		// The confirmation is message 1 and starts the chain (GC-ENV-3).
		c.RcvLastID, c.RcvPrevHash = 1, hash(body)
		c.X3DH1, c.X3DH2 = nil, nil
		c.Status = "confirmed"
		c.emit(Event{ConnID: c.ID, Kind: EventConf, Body: reply.Info})
		return nil
	case c.Role == "joiner" && c.Status == "joined":
		m, body, err := a.decrypt(c, e.EncConnInfo)
		if err != nil {
			return err
		}
		info, ok := m.(ConnInfo)
		if !ok {
			return fmt.Errorf("agent: confirmation holds %T", m)
		}
		c.RcvLastID, c.RcvPrevHash = 1, hash(body)
		c.emit(Event{ConnID: c.ID, Kind: EventInfo, Body: info.Info})
		if c.Rcv.PeerSndKey == nil {
			// The empty private header: the initiator secured our
			// sender-securable reply queue with SKEY, and the connection
			// is established without HELLO (upstream smpConfirmation).
			c.Status = "ready"
			c.emit(Event{ConnID: c.ID, Kind: EventCon})
			return nil
		}
		// The initiator's sender key: secure the reply queue with it, then
		// HELLO (upstream ICDuplexSecure).
		if err := a.secureOwnQueue(ctx, c.Rcv); err != nil {
			return err
		}
		c.Status = "allowed"
		c.Hello.Sent = true
		_, err = a.sendMessage(ctx, c, Hello{})
		return err
	}
	return errors.New("agent: unexpected confirmation")
}

func (a *Agent) onMessage(ctx context.Context, c *Conn, q *RcvQueue, e EnvMessage) error {
	if c.Ratchet == nil {
		return errors.New("agent: message before the ratchet")
	}
	ctHash := hash(e.EncMessage)
	qk := queueKey(q.Server, q.RcvID)
	m, body, err := a.decrypt(c, e.EncMessage)
	if err != nil {
		if errors.Is(err, ratchet.ErrDuplicate) || errors.Is(err, ratchet.ErrEarlier) {
			// A copy of a message decrypted before: from another queue it
			// is redundancy (GC-REDUNDANCY-1), from the same one a replay.
			from, seen, serr := seenOn(ctx, a.db, c.ID, ctHash)
			if serr != nil {
				return serr
			}
			if seen && from != qk {
				return nil
			}
		}
		return err
	}
	if c.op.recv != nil {
		c.op.recv.ctHash = ctHash
	}
	msg, ok := m.(Message)
	if !ok {
		return fmt.Errorf("agent: unexpected %T", m)
	}
	integrity := checkIntegrity(c.RcvLastID, msg.SndMsgID, c.RcvPrevHash, msg.PrevMsgHash)
	c.RcvLastID, c.RcvPrevHash = msg.SndMsgID, hash(body)
	switch b := msg.Msg.(type) {
	case Hello:
		if c.Status == "ready" {
			// HELLO only follows a confirmation with a sender key; a
			// connection already established does not expect one.
			return errors.New("agent: prohibited: hello: active")
		}
		c.Hello.Got = true
		if !c.Hello.Sent {
			c.Hello.Sent = true
			if _, err := a.sendMessage(ctx, c, Hello{}); err != nil {
				return err
			}
		}
		c.Status = "ready"
		c.emit(Event{ConnID: c.ID, Kind: EventCon})
	case AMsg:
		c.op.unacked = append(c.op.unacked, unacked{msg.SndMsgID, hash(body)})
		c.emit(Event{ConnID: c.ID, Kind: EventMsg, MsgID: msg.SndMsgID, Body: b.Body, Integrity: integrity})
	case ARcvd:
		return a.onReceipts(ctx, c, b, integrity)
	case QAdd:
		return a.onQAdd(ctx, c, b)
	case QKey:
		return a.onQKey(ctx, c, b)
	case QUse:
		return a.onQUse(ctx, c, b)
	case QTest:
		return a.onQTest(ctx, c, q)
	case EReady:
		c.emit(Event{ConnID: c.ID, Kind: EventRSync, MsgID: b.LastMsgID})
		return nil
	default:
		return nil
	}
	return nil
}

// onReceipts checks each receipt against the hash of the message it names
// (GC-ENV-8), as upstream's messagesRcvd and clientReceipt do: a receipt
// for no sent message is an error; one for a message already receipted
// OK is dropped; else RCVD reports OK or a bad hash, and the status is
// kept.
func (a *Agent) onReceipts(ctx context.Context, c *Conn, m ARcvd, integrity MsgIntegrity) error {
	for _, r := range m.Receipts {
		h, st, found, err := sentReceipt(ctx, a.db, c.ID, r.AgentMsgID)
		if err != nil {
			return err
		}
		if !found {
			c.emit(Event{ConnID: c.ID, Kind: EventErr, MsgID: r.AgentMsgID, Err: fmt.Errorf("agent: receipt for message %d, which is no message we sent", r.AgentMsgID)})
			continue
		}
		if ReceiptStatus(st) == ReceiptOK {
			continue
		}
		status := ReceiptOK
		if !bytes.Equal(h, r.MsgHash) {
			status = ReceiptBadHash
		}
		c.op.rcpts = append(c.op.rcpts, rcpt{r.AgentMsgID, status})
		c.emit(Event{ConnID: c.ID, Kind: EventRcvd, MsgID: r.AgentMsgID, Integrity: integrity, Receipt: status})
	}
	return nil
}

// Rotate moves the connection's receiving queue to another relay
// (GC-ROTATE-1): QADD with the new queue, QKEY back with the sender's keys,
// KEY and QUSE, then QTEST on the new queue, after which the old queue is
// deleted. The SWITCH event reports the end on both sides.
func (a *Agent) Rotate(ctx context.Context, connID string, relay smp.Server) error {
	return a.update(ctx, connID, func(c *Conn) error {
		if c.Status != "ready" || c.NextRcv != nil {
			return fmt.Errorf("agent: connection %s cannot rotate now", connID)
		}
		return a.addQueue(ctx, c, relay, true)
	})
}

// AddQueue adds a further receiving queue on another relay
// (GC-REDUNDANCY-1): the peer then sends every message to both, and the
// connection survives the loss of either relay.
func (a *Agent) AddQueue(ctx context.Context, connID string, relay smp.Server) error {
	return a.update(ctx, connID, func(c *Conn) error {
		if c.Status != "ready" || c.NextRcv != nil {
			return fmt.Errorf("agent: connection %s cannot add a queue now", connID)
		}
		return a.addQueue(ctx, c, relay, false)
	})
}

func (a *Agent) addQueue(ctx context.Context, c *Conn, relay smp.Server, replace bool) error {
	q, uri, err := a.newQueue(ctx, relay, smp.QueueMessaging)
	if err != nil {
		return err
	}
	c.NextRcv, c.Adding = q, !replace
	entry := QAddEntry{URI: uri}
	if replace {
		entry.Replaced = &SndQAddr{Server: c.Rcv.Server, SenderID: c.Rcv.SndID}
	}
	_, err = a.sendMessage(ctx, c, QAdd{Queues: []QAddEntry{entry}})
	return err
}

// onQAdd (sender): prepare the new queue and answer QKEY.
func (a *Agent) onQAdd(ctx context.Context, c *Conn, m QAdd) error {
	e := m.Queues[0]
	sk, _ := a.key(smpcrypto.Ed25519)
	e2e, _ := a.key(smpcrypto.X25519)
	c.NextSnd = &SndQueue{Server: e.URI.Server, SndID: e.URI.SenderID, SndKey: sk, E2E: e2e, PeerE2E: e.URI.DHKey,
		Version: min(clientVersion, uint16(e.URI.Versions.Max)), Confirmed: true, Replaces: e.Replaced != nil}
	info := QueueInfo{ClientVersion: c.NextSnd.Version, Server: e.URI.Server, SenderID: e.URI.SenderID, DHKey: e2e.Public(), Mode: e.URI.Mode}
	_, err := a.sendMessage(ctx, c, QKey{Queues: []QKeyEntry{{Info: info, SenderKey: sk.Public()}}})
	return err
}

// onQKey (recipient): secure the new queue with the sender's key, take its
// per-queue key, answer QUSE.
func (a *Agent) onQKey(ctx context.Context, c *Conn, m QKey) error {
	q := c.NextRcv
	if q == nil {
		return errors.New("agent: QKEY without a queue being added")
	}
	e := m.Queues[0]
	if !bytes.Equal(e.Info.SenderID, q.SndID) {
		return errors.New("agent: QKEY for another queue")
	}
	secret, err := q.E2E.DH(e.Info.DHKey)
	if err != nil {
		return err
	}
	if _, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdKEY{SenderKey: e.SenderKey}}); err != nil {
		return fmt.Errorf("agent: secure the new queue: %w", err)
	}
	q.E2ESecret = secret
	_, err = a.sendMessage(ctx, c, QUse{Queues: []QUseEntry{{Addr: SndQAddr{Server: q.Server, SenderID: q.SndID}, Ready: true}}})
	return err
}

// onQUse (sender): switch to the new queue and test it.
func (a *Agent) onQUse(ctx context.Context, c *Conn, m QUse) error {
	if c.NextSnd == nil || !m.Queues[0].Ready {
		return errors.New("agent: QUSE without a queue being added")
	}
	nq := c.NextSnd
	nq.Secured = true
	if nq.Replaces {
		c.Snd, c.NextSnd = nq, nil
	} else {
		c.ExtraSnd, c.NextSnd = append(c.ExtraSnd, nq), nil
	}
	// QTEST goes to the new queue only.
	if _, err := a.sendMessageTo(ctx, c, QTest{Addrs: []SndQAddr{{Server: nq.Server, SenderID: nq.SndID}}}, []*SndQueue{nq}); err != nil {
		return err
	}
	c.emit(Event{ConnID: c.ID, Kind: EventSwitch})
	return nil
}

// onQTest (recipient): the new queue works; the old one is deleted once
// what was sent to it before the switch has arrived.
func (a *Agent) onQTest(ctx context.Context, c *Conn, q *RcvQueue) error {
	if c.NextRcv == nil || q != c.NextRcv {
		return errors.New("agent: QTEST not on the new queue")
	}
	if c.Adding {
		c.ExtraRcv, c.NextRcv, c.Adding = append(c.ExtraRcv, c.NextRcv), nil, false
		c.emit(Event{ConnID: c.ID, Kind: EventSwitch})
		return nil
	}
	c.OldRcv, c.Rcv, c.NextRcv = c.Rcv, c.NextRcv, nil
	c.emit(Event{ConnID: c.ID, Kind: EventSwitch})
	old := c.OldRcv.RcvID
	if !a.track() {
		return nil
	}
	go func() {
		defer a.wg.Done()
		select {
		case <-time.After(time.Second):
		case <-a.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		defer cancel()
		a.update(ctx, c.ID, func(c *Conn) error {
			q := c.OldRcv
			if q == nil || !bytes.Equal(q.RcvID, old) {
				return nil
			}
			if _, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdDEL{}}); err != nil {
				return err
			}
			c.OldRcv = nil
			return nil
		})
	}()
	return nil
}

// SyncRatchet starts ratchet resynchronisation (GC-RESYNC-1) after the
// ratchets diverged (for example a party restored an old state): new X3DH
// keys go to the peer in an R envelope protected by the per-queue layer
// only; when both parties have the other's keys, both start new ratchets.
func (a *Agent) SyncRatchet(ctx context.Context, connID string) error {
	return a.update(ctx, connID, func(c *Conn) error {
		if c.Snd == nil || c.Ratchet == nil {
			return fmt.Errorf("agent: connection %s has no ratchet to synchronise", connID)
		}
		return a.sendRatchetKey(ctx, c)
	})
}

func (a *Agent) sendRatchetKey(ctx context.Context, c *Conn) error {
	k1, _ := a.key(smpcrypto.X448)
	k2, _ := a.key(smpcrypto.X448)
	c.SyncKey1, c.SyncKey2 = k1.Raw, k2.Raw
	info, _ := EncodeAgentMessage(RatchetInfo{Info: []byte{}})
	// The ratchet key takes a message id and continues the hash chain,
	// as upstream's enqueueRatchetKey stores it (GC-ENV-3).
	c.SndMsgID++
	c.PrevHash = hash(info)
	env, err := EncodeEnvelope(EnvRatchetKey{AgentVersion: c.Version, E2E: ratchet.Params{Version: c.E2EVer, Key1: k1.Public(), Key2: k2.Public()}, Info: info})
	if err != nil {
		return err
	}
	c.queue(c.Snd, env, true, 0)
	return nil
}

func ratchetKeyHash(k1, k2 smpcrypto.PublicKey) []byte {
	return hash(append(bytes.Clone(k1.Raw), k2.Raw...))
}

// onRatchetKey handles the peer's new X3DH keys: reply with ours if we did
// not start, then start new ratchets; the party whose keys hash higher
// starts as the joiner and sends EREADY.
func (a *Agent) onRatchetKey(ctx context.Context, c *Conn, e EnvRatchetKey) error {
	h := ratchetKeyHash(e.E2E.Key1, e.E2E.Key2)
	for _, seen := range c.SyncSeen {
		if bytes.Equal(seen, h) {
			return nil // a repeated key
		}
	}
	c.SyncSeen = append(c.SyncSeen, h)
	if c.SyncKey1 == nil {
		if err := a.sendRatchetKey(ctx, c); err != nil {
			return err
		}
	}
	k1, err1 := smpcrypto.NewPrivateKey(smpcrypto.X448, c.SyncKey1)
	k2, err2 := smpcrypto.NewPrivateKey(smpcrypto.X448, c.SyncKey2)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	c.SyncKey1, c.SyncKey2 = nil, nil
	v := e.E2E.Version
	if bytes.Compare(ratchetKeyHash(k1.Public(), k2.Public()), h) <= 0 {
		init, err := ratchet.X3DHInit(k1, k2, e.E2E)
		if err != nil {
			return err
		}
		c.Ratchet = ratchet.InitInitiator(v, ratchet.VersionMax, k2, init)
		c.Skipped = nil
		return nil
	}
	init, err := ratchet.X3DHJoin(k1, k2, e.E2E)
	if err != nil {
		return err
	}
	dhrs, _ := a.key(smpcrypto.X448)
	if c.Ratchet, err = ratchet.InitJoin(v, ratchet.VersionMax, e.E2E.Key2, dhrs, init); err != nil {
		return err
	}
	c.Skipped = nil
	// EREADY names the last message id received (upstream
	// lastExternalSndId).
	_, err = a.sendMessage(ctx, c, EReady{LastMsgID: c.RcvLastID})
	if err == nil {
		c.emit(Event{ConnID: c.ID, Kind: EventRSync})
	}
	return err
}
