package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/client"
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
	// Dir holds the agent's state file; it survives restarts.
	Dir string
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
	EventMsg    EventKind = "MSG"    // a message arrived; Ack it to send a receipt
	EventRcvd   EventKind = "RCVD"   // the peer received our message MsgID
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
	// Invitation is, for REQ, the requester's invitation link: accept the
	// request with Join(ctx, Invitation, info).
	Invitation string
}

// Agent manages graph-chat connections.
type Agent struct {
	cfg    Config
	events chan Event

	mu      sync.Mutex
	st      *state
	clients map[string]*client.Client
	closed  bool
	wg      sync.WaitGroup
}

// state is everything persisted (GC-RATCHET-2).
type state struct {
	Conns map[string]*Conn `json:"conns"`
}

// Conn is one connection's persisted state.
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
	// Seen maps the hash of recently decrypted ratchet ciphertexts to the
	// receiving queue they came on: a copy on another queue is redundancy,
	// a copy on the same queue a replay.
	Seen map[string]string `json:"seen,omitempty"`
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
	Standard bool             `json:"standard"`
	Received map[int64][]byte `json:"received"` // message id → hash, until acknowledged
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

// New starts an agent with the state in cfg.Dir and subscribes its queues.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Client.PingInterval == 0 {
		cfg.Client.PingInterval = -1
	}
	a := &Agent{cfg: cfg, events: make(chan Event, 4096), clients: map[string]*client.Client{}, st: &state{Conns: map[string]*Conn{}}}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(a.path())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, a.st); err != nil {
			return nil, fmt.Errorf("agent: state file: %w", err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.st.Conns {
		for _, q := range append([]*RcvQueue{c.Rcv, c.NextRcv, c.OldRcv}, c.ExtraRcv...) {
			if q != nil {
				if err := a.subscribe(ctx, q); err != nil {
					return nil, err
				}
			}
		}
	}
	return a, nil
}

func (a *Agent) path() string { return filepath.Join(a.cfg.Dir, "agent-state.json") }

// save writes the state atomically: a crash leaves the old or the new file.
func (a *Agent) save() error {
	b, err := json.Marshal(a.st)
	if err != nil {
		return err
	}
	tmp := a.path() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, a.path())
}

// Events delivers the agent's events.
func (a *Agent) Events() <-chan Event { return a.events }

// Close disconnects from the relays; the state stays on disk.
func (a *Agent) Close() error {
	a.mu.Lock()
	a.closed = true
	for _, cl := range a.clients {
		cl.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
	return nil
}

func (a *Agent) emit(e Event) {
	select {
	case a.events <- e:
	default: // a user that does not read events loses them, not the agent
	}
}

// relay returns the connection to a relay, dialling it and starting its
// event loop on first use. Called with a.mu held.
func (a *Agent) relay(ctx context.Context, srv smp.Server) (*client.Client, error) {
	if a.closed {
		return nil, ErrClosed
	}
	key := srv.String()
	if cl := a.clients[key]; cl != nil {
		select {
		case <-cl.Done():
		default:
			return cl, nil
		}
	}
	cl, err := client.Dial(ctx, srv, a.cfg.Client)
	if err != nil {
		return nil, err
	}
	a.clients[key] = cl
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for ev := range cl.Events() {
			if m, ok := ev.Response.(smp.RspMSG); ok {
				a.receive(srv, ev.EntityID, m)
			}
		}
	}()
	return cl, nil
}

func (a *Agent) do(ctx context.Context, srv smp.Server, req client.Request) (smp.Response, error) {
	cl, err := a.relay(ctx, srv)
	if err != nil {
		return nil, err
	}
	return cl.Do(ctx, req)
}

func (a *Agent) subscribe(ctx context.Context, q *RcvQueue) error {
	_, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdSUB{}})
	return err
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
	return a.newQueue(ctx, smp.QueueMessaging)
}

func (a *Agent) newQueue(ctx context.Context, mode smp.QueueMode) (*RcvQueue, smp.QueueURI, error) {
	rk, err := a.key(smpcrypto.Ed25519)
	if err != nil {
		return nil, smp.QueueURI{}, err
	}
	dh, _ := a.key(smpcrypto.X25519)
	e2e, _ := a.key(smpcrypto.X25519)
	rsp, err := a.do(ctx, a.cfg.Relay, client.Request{Key: rk, Command: smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dh.Public(),
		SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: mode}}})
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
	q := &RcvQueue{Server: a.cfg.Relay, RcvID: ids.RcvID, SndID: ids.SndID, RcvKey: rk, RcvSecret: secret, E2E: e2e, Contact: mode == smp.QueueContact}
	m := mode
	uri := smp.QueueURI{Server: a.cfg.Relay, SenderID: ids.SndID, Versions: smp.VersionRange{Min: 1, Max: clientVersion}, DHKey: e2e.Public(), Mode: &m}
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
	a.mu.Lock()
	defer a.mu.Unlock()
	q, uri, err := a.newRcvQueue(ctx)
	if err != nil {
		return "", "", err
	}
	if proc == Standard {
		uri.Mode = nil // no "q=m": the joiner does not use SKEY
	}
	k1, _ := a.key(smpcrypto.X448)
	k2, _ := a.key(smpcrypto.X448)
	c := &Conn{ID: a.newID(), Role: "initiator", Status: "new", X3DH1: k1.Raw, X3DH2: k2.Raw, Rcv: q, Standard: proc == Standard}
	a.st.Conns[c.ID] = c
	if err := a.save(); err != nil {
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
	a.mu.Lock()
	defer a.mu.Unlock()
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
	a.st.Conns[c.ID] = c
	reply := ConnInfoReply{Queues: []QueueInfo{{ClientVersion: clientVersion, Server: ruri.Server, SenderID: ruri.SenderID, DHKey: ruri.DHKey, Mode: ruri.Mode}}, Info: info}
	jp := ratchet.Params{Version: c.E2EVer, Key1: j1.Public(), Key2: j2.Public()}
	if err := a.sendConfirmation(ctx, c, reply, &jp); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Suspend stops the connection's receiving queue from accepting messages
// (OFF); the peer's sends fail with ERR AUTH.
func (a *Agent) Suspend(ctx context.Context, connID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Rcv == nil {
		return fmt.Errorf("agent: no connection %s", connID)
	}
	_, err := a.do(ctx, c.Rcv.Server, client.Request{Key: c.Rcv.RcvKey, EntityID: c.Rcv.RcvID, Command: smp.CmdOFF{}})
	return err
}

// Delete deletes the connection's receiving queues (DEL) and forgets it.
func (a *Agent) Delete(ctx context.Context, connID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil {
		return fmt.Errorf("agent: no connection %s", connID)
	}
	for _, q := range append([]*RcvQueue{c.Rcv, c.NextRcv, c.OldRcv}, c.ExtraRcv...) {
		if q == nil {
			continue
		}
		if _, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdDEL{}}); err != nil {
			var se *client.ServerError
			if !errors.As(err, &se) || !se.Err.Equal(smp.AUTH) { // already deleted is fine
				return err
			}
		}
	}
	delete(a.st.Conns, connID)
	return a.save()
}

// CreateContact makes a contact address: a long-lived queue that anyone
// with the link can send connection requests to (REQ events).
func (a *Agent) CreateContact(ctx context.Context) (connID, link string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q, uri, err := a.newQueue(ctx, smp.QueueContact)
	if err != nil {
		return "", "", err
	}
	c := &Conn{ID: a.newID(), Role: "contact", Status: "contact", Rcv: q}
	a.st.Conns[c.ID] = c
	if err := a.save(); err != nil {
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
	a.mu.Lock()
	defer a.mu.Unlock()
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
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Status != "confirmed" {
		return fmt.Errorf("agent: connection %s is not waiting for approval", connID)
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
	if err := a.save(); err != nil {
		return err
	}
	a.emit(Event{ConnID: c.ID, Kind: EventCon})
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
	if err := a.save(); err != nil {
		return err
	}
	return a.sendEnvelope(ctx, c, env)
}

// Send sends a message on a ready connection; it returns its message id,
// which the peer's receipt names.
func (a *Agent) Send(ctx context.Context, connID string, body []byte) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Status != "ready" {
		return 0, fmt.Errorf("agent: connection %s is not ready", connID)
	}
	return a.sendMessage(ctx, c, AMsg{Body: body})
}

// Ack acknowledges a received message: the agent sends a receipt.
func (a *Agent) Ack(ctx context.Context, connID string, msgID int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil {
		return fmt.Errorf("agent: no connection %s", connID)
	}
	h, ok := c.Received[msgID]
	if !ok {
		return fmt.Errorf("agent: no message %d to acknowledge", msgID)
	}
	delete(c.Received, msgID)
	_, err := a.sendMessage(ctx, c, ARcvd{Receipts: []Receipt{{AgentMsgID: msgID, MsgHash: h, Info: []byte{}}}})
	return err
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
	enc, err := c.Ratchet.Encrypt(body, agentMsgPadded)
	if err != nil {
		return 0, err
	}
	env, err := EncodeEnvelope(EnvMessage{AgentVersion: c.Version, EncMessage: enc})
	if err != nil {
		return 0, err
	}
	if err := a.save(); err != nil {
		return 0, err
	}
	// The same ratchet ciphertext goes to every active queue
	// (GC-REDUNDANCY-1): it is delivered if any relay accepts it.
	var errs []error
	for _, q := range queues {
		if err := a.sendEnvelopeTo(ctx, q, env, notifies(m)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(queues) {
		return msg.SndMsgID, errors.Join(errs...)
	}
	return msg.SndMsgID, nil
}

// sendEnvelope applies the per-queue layer and sends (GC-QUEUE-1..3). The
// first envelope on a queue carries our key and the confirmation padding.
func (a *Agent) sendEnvelope(ctx context.Context, c *Conn, env []byte) error {
	return a.sendEnvelopeTo(ctx, c.Snd, env, true)
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

func (a *Agent) sendEnvelopeTo(ctx context.Context, q *SndQueue, env []byte, notify bool) error {
	secret, err := q.E2E.DH(q.PeerE2E)
	if err != nil {
		return err
	}
	var nonce smpcrypto.Nonce
	if _, err := io.ReadFull(a.cfg.Rand, nonce[:]); err != nil {
		return err
	}
	ce := smp.ClientMsgEnvelope{Version: q.Version, Nonce: nonce}
	pad := messagePadded
	if !q.Confirmed {
		k := q.E2E.Public()
		ce.DHKey = &k
		pad = confirmationPadded
	}
	// Private header (GC-QUEUE-2): our sender key when the recipient is to
	// secure the queue with it, else '_'.
	plain := append([]byte{'_'}, env...)
	if !q.Secured && !q.Confirmed {
		b := wire.NewBuilder([]byte{'K'})
		b.Short(q.SndKey.Public().SPKI())
		hdr, _ := b.Bytes()
		plain = append(hdr, env...)
	}
	if ce.Body, err = smpcrypto.SealPadded(secret, nonce, plain, pad); err != nil {
		return err
	}
	body, err := smp.EncodeClientMsgEnvelope(ce)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req := client.Request{EntityID: q.SndID, Command: smp.CmdSEND{Notify: notify, Body: body}}
		if q.Secured || q.Confirmed {
			// Unsecured until our first envelope has been answered by the
			// recipient securing the queue (standard) or SKEY (fast).
			req.Key = q.SndKey
		}
		_, err = a.do(ctx, q.Server, req)
		var se *client.ServerError
		if errors.As(err, &se) && se.Err.Kind == smp.ErrQUOTA && attempt < 200 {
			// The recipient is behind; upstream waits for A_QCONT, this
			// agent retries.
			a.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			a.mu.Lock()
			continue
		}
		break
	}
	if err != nil {
		return fmt.Errorf("agent: send: %w", err)
	}
	if !q.Confirmed {
		q.Confirmed = true
		return a.save()
	}
	return nil
}

// receive processes one MSG and acknowledges it to the relay.
func (a *Agent) receive(srv smp.Server, rcvID []byte, m smp.RspMSG) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var c *Conn
	var q *RcvQueue
	for _, x := range a.st.Conns {
		for _, rq := range append([]*RcvQueue{x.Rcv, x.NextRcv, x.OldRcv}, x.ExtraRcv...) {
			if rq != nil && bytes.Equal(rq.RcvID, rcvID) && rq.Server.String() == srv.String() {
				c, q = x, rq
			}
		}
	}
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if err := a.process(ctx, c, q, m); err != nil {
			a.emit(Event{ConnID: c.ID, Kind: EventErr, Err: err})
		}
		// The answer to ACK is the next message, if the queue has one.
		rsp, err := a.do(ctx, q.Server, client.Request{Key: q.RcvKey, EntityID: q.RcvID, Command: smp.CmdACK{MsgID: m.MsgID}})
		next, ok := rsp.(smp.RspMSG)
		if err != nil || !ok {
			return
		}
		m = next
	}
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
		a.emit(Event{ConnID: c.ID, Kind: EventReq, Body: inv.ConnInfo, Invitation: inv.ConnReq})
		return nil
	}
	if ce.DHKey != nil {
		secret, err := q.E2E.DH(*ce.DHKey)
		if err != nil {
			return err
		}
		if q.E2ESecret != nil && !bytes.Equal(secret, q.E2ESecret) {
			return errors.New("agent: a second confirmation key on the queue (GC-QUEUE-4)")
		}
		q.E2ESecret = secret
	}
	if q.E2ESecret == nil {
		return errors.New("agent: message before the confirmation")
	}
	plain, err := smpcrypto.OpenPadded(q.E2ESecret, ce.Nonce, ce.Body)
	if err != nil {
		return fmt.Errorf("agent: per-queue layer: %w", err)
	}
	if len(plain) == 0 || (plain[0] != '_' && plain[0] != 'K') {
		return errors.New("agent: private header")
	}
	envBytes := plain[1:]
	if plain[0] == 'K' {
		p := wire.NewParser(envBytes)
		key := p.Short()
		if p.Err() != nil {
			return p.Err()
		}
		q.PeerSndKey = bytes.Clone(key)
		envBytes = p.Rest()
	}
	env, err := ParseEnvelope(envBytes)
	if err != nil {
		return err
	}
	switch e := env.(type) {
	case EnvRatchetKey:
		return a.onRatchetKey(ctx, c, e)
	case EnvConfirmation:
		return a.onConfirmation(ctx, c, e)
	case EnvMessage:
		return a.onMessage(ctx, c, q, e)
	}
	return fmt.Errorf("agent: unexpected %T", env)
}

func (a *Agent) decrypt(c *Conn, enc []byte) (AgentMessage, []byte, error) {
	sk := c.skipped()
	body, err := c.Ratchet.Decrypt(a.cfg.Rand, sk, enc)
	if errors.Is(err, ratchet.ErrCommitted) {
		// Some failures advance the ratchet, as upstream's do (GC-RATCHET-8):
		// keep that state, or the two ends diverge.
		c.setSkipped(sk)
		if serr := a.save(); serr != nil {
			return nil, nil, errors.Join(err, serr)
		}
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
		if c.Rcv.PeerSndKey == nil && c.Standard {
			// Our queue was not offered as sender-securable: the joiner
			// must send its key (upstream: "handshake: missing sender key").
			c.Ratchet = old
			return errors.New("agent: prohibited: handshake: missing sender key")
		}
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
		if err := a.save(); err != nil {
			return err
		}
		a.emit(Event{ConnID: c.ID, Kind: EventConf, Body: reply.Info})
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
		a.emit(Event{ConnID: c.ID, Kind: EventInfo, Body: info.Info})
		if c.Rcv.PeerSndKey == nil {
			// The empty private header: the initiator secured our
			// sender-securable reply queue with SKEY, and the connection
			// is established without HELLO (upstream smpConfirmation).
			c.Status = "ready"
			if err := a.save(); err != nil {
				return err
			}
			a.emit(Event{ConnID: c.ID, Kind: EventCon})
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
	ctHash := hex.EncodeToString(hash(e.EncMessage))
	qid := hex.EncodeToString(q.RcvID)
	m, body, err := a.decrypt(c, e.EncMessage)
	if err != nil {
		if from, seen := c.Seen[ctHash]; seen && from != qid && (errors.Is(err, ratchet.ErrDuplicate) || errors.Is(err, ratchet.ErrEarlier)) {
			return nil // a redundant copy from another queue
		}
		return err
	}
	if c.Seen == nil || len(c.Seen) > 2048 {
		c.Seen = map[string]string{}
	}
	c.Seen[ctHash] = qid
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
			if err := a.save(); err != nil {
				return err
			}
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
		if err := a.save(); err != nil {
			return err
		}
		a.emit(Event{ConnID: c.ID, Kind: EventCon})
	case AMsg:
		if c.Received == nil {
			c.Received = map[int64][]byte{}
		}
		c.Received[msg.SndMsgID] = hash(body)
		if err := a.save(); err != nil {
			return err
		}
		a.emit(Event{ConnID: c.ID, Kind: EventMsg, MsgID: msg.SndMsgID, Body: b.Body, Integrity: integrity})
	case ARcvd:
		if err := a.save(); err != nil {
			return err
		}
		for _, r := range b.Receipts {
			a.emit(Event{ConnID: c.ID, Kind: EventRcvd, MsgID: r.AgentMsgID, Integrity: integrity})
		}
	case QAdd:
		return a.onQAdd(ctx, c, b)
	case QKey:
		return a.onQKey(ctx, c, b)
	case QUse:
		return a.onQUse(ctx, c, b)
	case QTest:
		return a.onQTest(ctx, c, q)
	case EReady:
		a.emit(Event{ConnID: c.ID, Kind: EventRSync, MsgID: b.LastMsgID})
		return a.save()
	default:
		return a.save()
	}
	return nil
}

// Rotate moves the connection's receiving queue to another relay
// (GC-ROTATE-1): QADD with the new queue, QKEY back with the sender's keys,
// KEY and QUSE, then QTEST on the new queue, after which the old queue is
// deleted. The SWITCH event reports the end on both sides.
func (a *Agent) Rotate(ctx context.Context, connID string, relay smp.Server) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Status != "ready" || c.NextRcv != nil {
		return fmt.Errorf("agent: connection %s cannot rotate now", connID)
	}
	return a.addQueue(ctx, c, relay, true)
}

// AddQueue adds a further receiving queue on another relay
// (GC-REDUNDANCY-1): the peer then sends every message to both, and the
// connection survives the loss of either relay.
func (a *Agent) AddQueue(ctx context.Context, connID string, relay smp.Server) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Status != "ready" || c.NextRcv != nil {
		return fmt.Errorf("agent: connection %s cannot add a queue now", connID)
	}
	return a.addQueue(ctx, c, relay, false)
}

func (a *Agent) addQueue(ctx context.Context, c *Conn, relay smp.Server, replace bool) error {
	saved := a.cfg.Relay
	a.cfg.Relay = relay
	q, uri, err := a.newRcvQueue(ctx)
	a.cfg.Relay = saved
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
	a.emit(Event{ConnID: c.ID, Kind: EventSwitch})
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
		if err := a.save(); err != nil {
			return err
		}
		a.emit(Event{ConnID: c.ID, Kind: EventSwitch})
		return nil
	}
	c.OldRcv, c.Rcv, c.NextRcv = c.Rcv, c.NextRcv, nil
	if err := a.save(); err != nil {
		return err
	}
	a.emit(Event{ConnID: c.ID, Kind: EventSwitch})
	old := c.OldRcv
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		time.Sleep(time.Second)
		a.mu.Lock()
		defer a.mu.Unlock()
		if c.OldRcv != old || a.closed {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := a.do(ctx, old.Server, client.Request{Key: old.RcvKey, EntityID: old.RcvID, Command: smp.CmdDEL{}}); err == nil {
			c.OldRcv = nil
			a.save()
		}
	}()
	return nil
}

// SyncRatchet starts ratchet resynchronisation (GC-RESYNC-1) after the
// ratchets diverged (for example a party restored an old state): new X3DH
// keys go to the peer in an R envelope protected by the per-queue layer
// only; when both parties have the other's keys, both start new ratchets.
func (a *Agent) SyncRatchet(ctx context.Context, connID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.Conns[connID]
	if c == nil || c.Snd == nil || c.Ratchet == nil {
		return fmt.Errorf("agent: connection %s has no ratchet to synchronise", connID)
	}
	return a.sendRatchetKey(ctx, c)
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
	if err := a.save(); err != nil {
		return err
	}
	return a.sendEnvelope(ctx, c, env)
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
		return a.save()
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
		a.emit(Event{ConnID: c.ID, Kind: EventRSync})
	}
	return err
}
