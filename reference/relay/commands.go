package relay

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"runtime"
	"time"

	"golang.org/x/crypto/sha3"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
)

// hooks let tests change the relay at a few points, to build the faulty
// relays that prove the conformance suite finds faults. Relays made by New
// have none; the faults themselves live in test files.
type hooks struct {
	tls    func(*tls.Config)
	verify func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error)
	exec   func(c *conn, env *cmdEnv, rc *received) ([]out, bool)
	reply  func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response

	wireHooks // hooks.go
}

// cmdEnv is what a command is checked and executed against: the
// connection's own session, or the proxy–relay session with the version a
// forwarded command carries (SMP-PROXY-7 step 6).
type cmdEnv struct {
	v         smp.Version
	sessionID []byte
	serverDH  smpcrypto.PrivateKey // the relay's session key, for authenticators
	auth      *smp.AuthSecrets     // the session's X25519 agreements; nil: none cached
	authBuf   []byte               // scratch for the authorized bytes of verify
	svc       *service             // nil outside service sessions
	forwarded bool
}

// out is one response or event to frame.
type out struct {
	corrID, entityID []byte
	rsp              smp.Response
}

func errOut(corrID, entityID []byte, t smp.ErrorType) out {
	return out{corrID, entityID, smp.RspERR{Err: t}}
}

// received is a transmission that passed framing, parsing, the credential
// rules and verification, with the queue it names (nil for commands without
// one).
type received struct {
	t   smp.Transmission
	cmd smp.Command
	q   *store.Queue
}

// env is the connection's own command environment, made once: the reader
// goroutine is its only user, as it is of the authenticator cache.
func (c *conn) env() *cmdEnv {
	if c.cmdEnv == nil {
		priv := c.sess.ServerPrivateKey()
		c.cmdEnv = &cmdEnv{v: c.v, sessionID: c.sess.SessionID, serverDH: priv, svc: c.svc, auth: smp.NewAuthSecrets(priv)}
	}
	return c.cmdEnv
}

// processBlock handles the transmissions of one block (spec §9.9): the
// errors of framing, parsing and verification are sent first in their own
// batch, then the responses of the commands in the order received.
func (c *conn) processBlock(raws [][]byte) {
	env := c.env()
	c.r.stats.commands.Add(int64(len(raws)))
	var errs [][]byte
	var ok []received
	for _, raw := range raws {
		rc, fail := c.r.receive(env, raw)
		if fail != nil {
			c.r.stats.commandErrors.Add(1)
			errs = append(errs, c.encodeTx(fail.corrID, fail.entityID, fail.rsp))
			continue
		}
		ok = append(ok, rc)
	}
	c.r.stats.countBatch(ok)
	c.send(errs)
	type result struct {
		rc   received
		outs []out
		seq  uint64
	}
	results := make([]result, 0, len(ok))
	var seq uint64
	for _, rc := range ok {
		outs, s := c.exec(env, rc)
		results = append(results, result{rc, outs, s})
		seq = max(seq, s)
		if s == 0 && hasMSG(outs) {
			// SUB or GET may deliver a message whose SEND still waits
			// for its fsync: deliver it only once it is durable too.
			seq = max(seq, c.r.store.Written())
		}
	}
	if c.delivering {
		// A message push started an idle subscriber's writer: let it run
		// now, on this thread, rather than after this reader has answered
		// and read on (or once another thread wakes to steal it). Under
		// paced load that wait was most of the relay's SEND → MSG tail;
		// the writer still does the write, so a subscriber that does not
		// read blocks only its own writer.
		c.delivering = false
		runtime.Gosched()
	}
	encode := func(err error) [][]byte {
		var rsps [][]byte
		for _, res := range results {
			outs := res.outs
			if err != nil && res.seq > 0 {
				outs = []out{errOut(res.rc.t.CorrID, res.rc.t.EntityID, smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"})}
			}
			for _, o := range outs {
				rsps = append(rsps, c.encodeTx(o.corrID, o.entityID, o.rsp))
			}
		}
		return rsps
	}
	if seq == 0 {
		c.send(encode(nil))
		return
	}
	// Group commit: the block's writes are answered only once an fsync
	// covers them. The writer waits for it, outside r.qmu, while this
	// reader goes on with the next block, so the writes of every
	// connection pending meanwhile share the fsync. The ids are copied:
	// the reader may reuse the block they came from.
	for i := range results {
		res := &results[i]
		res.rc.t.CorrID, res.rc.t.EntityID = bytes.Clone(res.rc.t.CorrID), bytes.Clone(res.rc.t.EntityID)
		for j := range res.outs {
			o := &res.outs[j]
			o.corrID, o.entityID = bytes.Clone(o.corrID), bytes.Clone(o.entityID)
		}
	}
	c.sendFill(seq, func() [][]byte { return encode(c.r.durable(seq)) })
}

func hasMSG(outs []out) bool {
	for _, o := range outs {
		if _, ok := o.rsp.(pendingMSG); ok {
			return true
		}
	}
	return false
}

// durable waits until the store's records up to seq are durable (0: no
// write to wait for). Never call it under r.qmu.
func (r *Relay) durable(seq uint64) error {
	if seq == 0 {
		return nil
	}
	err := r.store.Durable(seq)
	if err != nil {
		r.log.Error("store fsync", "err", err)
	}
	return err
}

// pendingMSG is a MSG response before its body is sealed: commands return
// it from under r.qmu, and encodeTx seals it outside (SMP-MSG-1).
type pendingMSG struct {
	q *store.Queue
	m *store.Message
}

func (pendingMSG) Tag() string { return "MSG" }

// receive frames, parses and verifies one transmission. A failure comes back
// as the error response to send.
func (r *Relay) receive(env *cmdEnv, raw []byte) (received, *out) {
	t, err := smp.ParseTransmission(env.v, raw)
	if err != nil {
		// SMP-TX-5: nothing of the transmission can be trusted.
		o := errOut(nil, nil, smp.BLOCK)
		return received{}, &o
	}
	fail := func(err error) *out {
		e, ok := smp.ErrorTypeOf(err)
		if !ok {
			e = smp.ErrorType{Kind: smp.ErrINTERNAL}
		}
		o := errOut(t.CorrID, t.EntityID, e)
		return &o
	}
	if err := t.CheckSession(env.v, env.sessionID); err != nil {
		o := errOut(t.CorrID, nil, smp.SESSION) // SMP-TX-4
		return received{}, &o
	}
	if _, err := smp.AuthKindOf(t.Auth); err != nil {
		o := errOut(t.CorrID, nil, smp.BLOCK) // SMP-AUTH-3
		return received{}, &o
	}
	cmd, err := smp.ParseCommand(env.v, t.Command)
	if err != nil {
		return received{}, fail(err) // SMP-PARSE-1, PARSE-2
	}
	if err := smp.CheckCredentials(cmd, len(t.Auth) > 0, t.EntityID); err != nil {
		return received{}, fail(err) // SMP-CRED-1
	}
	if env.forwarded && !forwardable(cmd) {
		return received{}, fail(smp.Errorf(smp.CMDProhibited, "%s cannot be forwarded", cmd.Tag())) // SMP-PROXY-8
	}
	q, err := r.verify(env, t, cmd)
	if r.hooks != nil && r.hooks.verify != nil {
		q, err = r.hooks.verify(r, env, t, cmd, q, err)
	}
	if err != nil {
		r.stats.authFailures.Add(1)
		r.stats.countAuthFailure(cmd, err)
		return received{}, fail(err)
	}
	return received{t: t, cmd: cmd, q: q}, nil
}

func forwardable(cmd smp.Command) bool {
	switch cmd.(type) {
	case smp.CmdSEND, smp.CmdSKEY, smp.CmdLKEY, smp.CmdLGET:
		return true
	}
	return false
}

var (
	errAuth    = smp.Errorf(smp.AUTH, "authorization failed")
	errService = smp.Errorf(smp.ErrorType{Kind: smp.ErrSERVICE}, "service authorization failed")
)

// partyRole is the service role a command's party belongs to (SMP-SVC-5);
// ok is false for PING, which any session may send.
func partyRole(p smp.Party) (smp.ServiceRole, bool) {
	switch p {
	case smp.Notifier, smp.NotifierService:
		return smp.RoleNotifier, true
	case smp.ProxyService:
		return smp.RoleProxy, true
	case smp.IdleClient:
		return 0, false
	}
	return smp.RoleMessaging, true
}

// verify applies SMP-VERIFY-1..4 and returns the queue the command names.
func (r *Relay) verify(env *cmdEnv, t smp.Transmission, cmd smp.Command) (*store.Queue, error) {
	// The authorized bytes are as long as the command; the environment's
	// buffer serves every verification of its session in turn.
	env.authBuf = smp.AppendAuthorized(env.authBuf[:0], env.sessionID, t.CorrID, t.EntityID, t.Command)
	authorized := env.authBuf
	if env.svc != nil {
		if role, ok := partyRole(cmd.Party()); ok && role != env.svc.role {
			return nil, smp.Errorf(smp.CMDProhibited, "%s in a %c service session", cmd.Tag(), env.svc.role)
		}
	}
	// SMP-SVC-3: the service signature is required exactly for NEW, SUB and
	// NSUB in service sessions.
	needSig := env.svc != nil && smp.UsesServiceAuth(cmd)
	if needSig != (t.ServiceSig != nil) {
		return nil, errService
	}
	entityMsg := authorized
	if needSig {
		if !smpcrypto.Verify(env.svc.key, authorized, t.ServiceSig) {
			return nil, errService
		}
		entityMsg = smp.ServiceAuthorized(env.svc.fingerprint, authorized)
	}
	check := func(key smpcrypto.PublicKey) bool {
		if !matches(key, t.Auth) {
			return false
		}
		if env.auth != nil {
			return env.auth.VerifyAuth(key, t.Auth, t.CorrID, entityMsg)
		}
		return smp.VerifyAuth(key, env.serverDH, t.Auth, t.CorrID, entityMsg)
	}
	checkDER := func(der []byte) bool {
		k, err := smpcrypto.ParseSPKI(der)
		return err == nil && check(k)
	}
	dummy := func() error {
		r.dummyVerify(env, t, entityMsg)
		return errAuth
	}
	var kind store.IDKind
	switch c := cmd.(type) {
	case smp.CmdNEW:
		if !check(c.RcvAuthKey) {
			return nil, dummy()
		}
		return nil, nil
	case smp.CmdPING, smp.CmdPRXY, smp.CmdPFWD, smp.CmdRFWD:
		return nil, nil
	case smp.CmdSUBS, smp.CmdNSUBS:
		// SMP-SVC-4: signed by the session's service key, for its own id.
		if env.svc == nil || !bytes.Equal(t.EntityID, env.svc.id) ||
			len(t.Auth) != smpcrypto.SignatureSize(smpcrypto.Ed25519) ||
			!smpcrypto.Verify(env.svc.key, authorized, t.Auth) {
			return nil, errService
		}
		return nil, nil
	case smp.CmdSEND, smp.CmdSKEY:
		kind = store.BySender
	case smp.CmdLKEY, smp.CmdLGET:
		kind = store.ByLink
	case smp.CmdNSUB:
		kind = store.ByNotifier
	default:
		kind = store.ByRecipient
	}
	q, err := r.store.Queue(kind, t.EntityID)
	if err != nil {
		if len(t.Auth) > 0 {
			return nil, dummy()
		}
		return nil, errAuth
	}
	switch c := cmd.(type) {
	case smp.CmdSKEY:
		return q, r.verifySecure(q, c.SenderKey, check, dummy)
	case smp.CmdLKEY:
		return q, r.verifySecure(q, c.SenderKey, check, dummy)
	case smp.CmdSEND:
		if q.SenderKey == nil {
			if len(t.Auth) > 0 {
				return nil, errAuth
			}
			return q, nil
		}
		if len(t.Auth) == 0 || !checkDER(q.SenderKey) {
			return nil, errAuth
		}
		return q, nil
	case smp.CmdLGET:
		if !isContact(q) {
			return nil, errAuth
		}
		return q, nil
	case smp.CmdNSUB:
		if q.Notifier == nil {
			return nil, dummy()
		}
		if !checkDER(q.Notifier.Key) {
			return nil, errAuth
		}
		return q, nil
	}
	// Recipient commands: any of the queue's recipient keys.
	okKey, kindSeen := false, false
	for _, der := range q.RecipientKeys {
		k, err := smpcrypto.ParseSPKI(der)
		if err != nil || !matches(k, t.Auth) {
			continue
		}
		kindSeen = true
		if check(k) {
			okKey = true
		}
	}
	switch {
	case okKey:
		return q, nil
	case !kindSeen:
		return nil, dummy()
	}
	return nil, errAuth
}

// verifySecure checks SKEY and LKEY: a messaging queue whose sender key is
// unset or the command's key, authorized with that key.
func (r *Relay) verifySecure(q *store.Queue, key smpcrypto.PublicKey, check func(smpcrypto.PublicKey) bool, dummy func() error) error {
	if q.Mode != byte(smp.QueueMessaging) || (q.SenderKey != nil && !bytes.Equal(q.SenderKey, key.SPKI())) {
		return dummy()
	}
	if !check(key) {
		return errAuth
	}
	return nil
}

// matches reports whether an authorization is of the kind a key makes
// (SMP-VERIFY-3).
func matches(key smpcrypto.PublicKey, auth []byte) bool {
	switch key.Alg {
	case smpcrypto.Ed25519, smpcrypto.Ed448:
		return len(auth) == smpcrypto.SignatureSize(key.Alg)
	case smpcrypto.X25519:
		return len(auth) == smp.AuthenticatorSize
	}
	return false
}

// dummyVerify runs one verification of the supplied kind against a fixed
// key so that a missing queue or key costs the same time as a wrong
// signature (SMP-VERIFY-4). It never uses the session's authenticator
// cache: a wrong authenticator for a key the cache does not hold costs a
// full agreement too.
func (r *Relay) dummyVerify(env *cmdEnv, t smp.Transmission, msg []byte) {
	kind, _ := smp.AuthKindOf(t.Auth)
	var key smpcrypto.PublicKey
	switch kind {
	case smp.AuthEd25519:
		key = r.dummy.ed25519
	case smp.AuthEd448:
		key = r.dummy.ed448
	case smp.AuthAuthenticator:
		key = r.dummy.x25519
	default:
		return
	}
	smp.VerifyAuth(key, env.serverDH, t.Auth, t.CorrID, msg)
}

// dummyKeys are the fixed keys of dummyVerify.
type dummyKeys struct{ ed25519, ed448, x25519 smpcrypto.PublicKey }

func newDummyKeys() dummyKeys {
	gen := func(a smpcrypto.Alg) smpcrypto.PublicKey {
		k, err := smpcrypto.GenerateKey(a, rand.Reader)
		if err != nil {
			panic("relay: dummy key: " + err.Error())
		}
		return k.Public()
	}
	return dummyKeys{gen(smpcrypto.Ed25519), gen(smpcrypto.Ed448), gen(smpcrypto.X25519)}
}

// isContact reports whether a queue is a contact queue: mode contact, or a
// legacy queue without mode and without sender key (SMP-LINK-1).
func isContact(q *store.Queue) bool {
	return q.Mode == byte(smp.QueueContact) || (q.Mode == 0 && q.SenderKey == nil)
}

// blocked is the ERR BLOCKED of a queue the operator blocked
// (SMP-QSTATE-3); nil for other queues.
func blocked(q *store.Queue) error {
	if q.Status != store.Blocked {
		return nil
	}
	return smp.Errorf(blockedError(q.BlockInfo), "queue blocked")
}

// blockedError is the ERR BLOCKED of a queue blocked with bi, notice
// included: the encoder drops it below v18 and sends AUTH below v12
// (SMP-ERR-2), so every session gets what its version allows.
func blockedError(bi store.BlockInfo) smp.ErrorType {
	info := &smp.BlockingInfo{Reason: bi.Reason}
	if info.Reason == "" {
		info.Reason = "spam"
	}
	if n := bi.Notice; n != nil {
		info.Notice = &smp.ClientNotice{}
		if n.TTL != nil {
			ttl := *n.TTL
			info.Notice.TTL = &ttl
		}
	}
	return smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: info}
}

// exec runs a verified command and returns its responses (spec §6.5) and
// the sequence number of the store's last record if it wrote any (0
// otherwise): the caller must wait for r.durable(seq) before sending them.
// It holds r.qmu, except for the proxy commands, which answer later from
// their own goroutine.
func (c *conn) exec(env *cmdEnv, rc received) ([]out, uint64) {
	switch cmd := rc.cmd.(type) {
	case smp.CmdPRXY:
		release := c.proxySlot()
		c.r.bg.Add(1)
		go func() {
			defer c.r.bg.Done()
			defer release()
			c.send([][]byte{c.encodeTx(rc.t.CorrID, nil, c.r.proxyConnect(cmd))})
		}()
		return nil, 0
	case smp.CmdPFWD:
		release := c.proxySlot()
		c.r.bg.Add(1)
		go func() {
			defer c.r.bg.Done()
			defer release()
			c.send([][]byte{c.encodeTx(rc.t.CorrID, rc.t.EntityID, c.r.proxyForward(rc.t, cmd))})
		}()
		return nil, 0
	case smp.CmdRFWD:
		return []out{{rc.t.CorrID, nil, c.forwarded(rc.t, cmd)}}, 0
	}
	c.r.qmu.Lock()
	defer c.r.qmu.Unlock()
	// Commands write to the store only under r.qmu, so a change of
	// Written is this command's (or the expiry's, which at worst makes
	// the command wait for an fsync it did not need).
	before := c.r.store.Written()
	wrote := func() uint64 {
		if w := c.r.store.Written(); w != before {
			return w
		}
		return 0
	}
	if h := c.r.hooks; h != nil && h.exec != nil {
		if outs, handled := h.exec(c, env, &rc); handled {
			return outs, wrote()
		}
	}
	outs, err := c.execLocked(env, rc)
	c.r.stats.countResult(rc.cmd, err)
	if err != nil {
		e, ok := smp.ErrorTypeOf(err)
		if !ok {
			c.r.log.Error("command failed", "tag", rc.cmd.Tag(), "err", err)
			e = smp.ErrorType{Kind: smp.ErrINTERNAL}
		}
		return append(outs, errOut(rc.t.CorrID, rc.t.EntityID, e)), wrote()
	}
	return outs, wrote()
}

func (c *conn) execLocked(env *cmdEnv, rc received) ([]out, error) {
	r := c.r
	t := rc.t
	reply := func(rsp smp.Response) []out { return []out{{t.CorrID, t.EntityID, rsp}} }
	ok := reply(smp.RspOK{})
	var q *store.Queue
	if rc.q != nil {
		// Re-read under r.qmu: the queue may have changed since verification.
		var err error
		if q, err = r.store.Queue(store.ByRecipient, rc.q.RecipientID); err != nil {
			return nil, errAuth
		}
	}
	update := func(fn func(q *store.Queue) error) error {
		nq, err := r.store.UpdateQueue(q.RecipientID, fn)
		switch {
		case errors.Is(err, store.ErrNoQueue):
			return errAuth
		case errors.Is(err, store.ErrDuplicate):
			return errAuth
		case err != nil:
			if _, isProto := smp.ErrorTypeOf(err); isProto {
				return err
			}
			r.log.Error("update queue", "err", err)
			return smp.Errorf(smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"}, "%v", err)
		}
		*q = *nq
		return nil
	}
	switch cmd := rc.cmd.(type) {
	case smp.CmdPING:
		return reply(smp.RspPONG{}), nil
	case smp.CmdNEW:
		return c.newQueue(env, t, cmd)
	case smp.CmdSUBS:
		return nil, smp.Errorf(smp.CMDProhibited, "SUBS is reserved") // SMP-CMD-SUBS-2
	case smp.CmdNSUBS:
		return reply(smp.RspSOKS{Count: r.subscribeService(c, env.svc)}), nil
	}
	if q == nil {
		return nil, smp.Errorf(smp.ErrorType{Kind: smp.ErrINTERNAL}, "%s without a queue", rc.cmd.Tag())
	}
	switch cmd := rc.cmd.(type) {
	case smp.CmdOFF:
		if err := update(func(q *store.Queue) error { q.Status = store.Off; return nil }); err != nil {
			return nil, err
		}
		return ok, nil
	case smp.CmdDEL:
		if err := r.store.DeleteQueue(q.RecipientID); err != nil {
			return nil, errAuth
		}
		r.endQueue(c, q)
		r.stats.countDeleted(q)
		return ok, nil
	case smp.CmdNSUB:
		return reply(r.subscribeNotifier(c, env, q)), nil
	case smp.CmdSEND:
		if len(cmd.Body) > smp.MaxMessageLength(env.v) {
			r.stats.msgSentLarge.Add(1)
			return nil, smp.Errorf(smp.ErrorType{Kind: smp.ErrLARGEMSG}, "body of %d bytes", len(cmd.Body))
		}
		if q.Status == store.Off {
			r.stats.msgSentAuth.Add(1)
			return nil, errAuth
		}
		if q.Status == store.Blocked {
			r.stats.msgSentBlock.Add(1) // answered by blocked below
		}
	}
	if err := blocked(q); err != nil {
		return nil, err
	}
	switch cmd := rc.cmd.(type) {
	case smp.CmdSUB:
		m, err := r.subscribe(c, q)
		if err != nil {
			return nil, err
		}
		var sid []byte
		if env.svc != nil {
			sid = env.svc.id
		}
		outs := reply(smp.RspSOK{ServiceID: sid})
		if m != nil {
			outs = append(outs, out{nil, q.RecipientID, pendingMSG{q, m}})
		}
		return outs, nil
	case smp.CmdGET:
		m, err := r.get(c, q)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return ok, nil
		}
		return reply(pendingMSG{q, m}), nil
	case smp.CmdACK:
		m, err := r.ack(c, q, cmd.MsgID)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return ok, nil
		}
		return reply(pendingMSG{q, m}), nil
	case smp.CmdKEY:
		key := cmd.SenderKey.SPKI()
		if err := update(func(q *store.Queue) error {
			if q.SenderKey != nil && !bytes.Equal(q.SenderKey, key) {
				return errAuth
			}
			q.SenderKey = key
			return nil
		}); err != nil {
			return nil, err
		}
		return ok, nil
	case smp.CmdSKEY, smp.CmdLKEY:
		var key []byte
		if k, isSKEY := cmd.(smp.CmdSKEY); isSKEY {
			key = k.SenderKey.SPKI()
		} else {
			key = cmd.(smp.CmdLKEY).SenderKey.SPKI()
		}
		if err := update(func(q *store.Queue) error {
			if q.Mode != byte(smp.QueueMessaging) || (q.SenderKey != nil && !bytes.Equal(q.SenderKey, key)) {
				return errAuth
			}
			q.SenderKey = key
			return nil
		}); err != nil {
			return nil, err
		}
		if _, isLKEY := cmd.(smp.CmdLKEY); isLKEY {
			if q.LinkID == nil {
				return nil, errAuth
			}
			return reply(smp.RspLNK{SenderID: q.SenderID, Fixed: q.LinkFixed, User: q.LinkUser}), nil
		}
		return ok, nil
	case smp.CmdLGET:
		if q.LinkID == nil || !isContact(q) {
			return nil, errAuth
		}
		return reply(smp.RspLNK{SenderID: q.SenderID, Fixed: q.LinkFixed, User: q.LinkUser}), nil
	case smp.CmdRKEY:
		if err := update(func(q *store.Queue) error {
			if q.Mode != byte(smp.QueueContact) {
				return errAuth
			}
			q.RecipientKeys = nil
			for _, k := range cmd.Keys {
				q.RecipientKeys = append(q.RecipientKeys, k.SPKI())
			}
			return nil
		}); err != nil {
			return nil, err
		}
		return ok, nil
	case smp.CmdLSET:
		if err := update(func(q *store.Queue) error {
			if q.Mode != byte(smp.QueueContact) && q.SenderKey != nil {
				return errAuth
			}
			if q.LinkID != nil && (!bytes.Equal(q.LinkID, cmd.LinkID) || !bytes.Equal(q.LinkFixed, cmd.Fixed)) {
				return errAuth
			}
			q.LinkID, q.LinkFixed, q.LinkUser = cmd.LinkID, cmd.Fixed, cmd.User
			return nil
		}); err != nil {
			return nil, err
		}
		return ok, nil
	case smp.CmdLDEL:
		if err := update(func(q *store.Queue) error {
			q.LinkID, q.LinkFixed, q.LinkUser = nil, nil, nil
			return nil
		}); err != nil {
			return nil, err
		}
		return ok, nil
	case smp.CmdNKEY:
		n, pub, err := r.newNotifier(cmd.NotifierKey, cmd.DHKey)
		if err != nil {
			return nil, err
		}
		old := q.Notifier
		if err := update(func(q *store.Queue) error { q.Notifier = n; return nil }); err != nil {
			return nil, err
		}
		if old != nil {
			r.endNotifier(c, old.ID)
		}
		r.stats.ntfCreated.Add(1)
		return reply(smp.RspNID{NotifierID: n.ID, DHKey: pub}), nil
	case smp.CmdNDEL:
		old := q.Notifier
		if old != nil {
			if err := update(func(q *store.Queue) error { q.Notifier = nil; return nil }); err != nil {
				return nil, err
			}
			r.endNotifier(c, old.ID)
			r.stats.ntfDeleted.Add(1)
		}
		return ok, nil
	case smp.CmdQUE:
		return reply(smp.RspINFO{JSON: c.queueInfo(q)}), nil
	case smp.CmdSEND:
		if q.Mode == byte(smp.QueueMessaging) && q.SenderKey != nil && q.LinkID != nil {
			// SMP-CMD-SEND-4: the first message consumes a one-time link.
			if err := update(func(q *store.Queue) error {
				q.LinkID, q.LinkFixed, q.LinkUser = nil, nil, nil
				return nil
			}); err != nil {
				return nil, err
			}
		}
		m, to, err := r.storeMessage(q, cmd.Notify, cmd.Body)
		if to != nil {
			// Sealed by the subscriber's writer, outside r.qmu, once durable.
			seq := r.store.Written()
			if to.eventFill(seq, func() [][]byte {
				r.durable(seq)
				return [][]byte{to.encodeTx(nil, q.RecipientID, msgResponse(q, m))}
			}) {
				c.delivering = true
			}
		}
		if err != nil {
			return nil, err
		}
		r.notify(q, m)
		return ok, nil
	}
	return nil, smp.Errorf(smp.ErrorType{Kind: smp.ErrINTERNAL}, "no handler for %s", rc.cmd.Tag())
}

// newQueue executes NEW (SMP-CMD-NEW-2..5, SMP-NTFCRED-1).
func (c *conn) newQueue(env *cmdEnv, t smp.Transmission, cmd smp.CmdNEW) ([]out, error) {
	r := c.r
	if r.cfg.NoNewQueues || (r.cfg.Password != "" && (cmd.BasicAuth == nil || *cmd.BasicAuth != r.cfg.Password)) {
		return nil, smp.Errorf(smp.AUTH, "new queues refused")
	}
	if env.svc != nil && cmd.SubMode != smp.SubModeSubscribe {
		return nil, smp.Errorf(smp.CMDProhibited, "service NEW must subscribe")
	}
	var mode byte
	var link *smp.QueueLinkReq
	if qr := cmd.QueueReq; qr != nil {
		mode, link = byte(qr.Mode), qr.Link
	}
	if link != nil && link.SenderID != nil {
		h := sha3.Sum384(t.CorrID)
		if !bytes.Equal(link.SenderID, h[:24]) {
			return nil, smp.Errorf(smp.CMDProhibited, "sender id is not the hash of the correlation id")
		}
	}
	dh, err := smpcrypto.GenerateKey(smpcrypto.X25519, r.cfg.Rand)
	if err != nil {
		return nil, err
	}
	secret, err := dh.DH(cmd.RcvDHKey)
	if err != nil {
		return nil, smp.Errorf(smp.AUTH, "recipient DH key: %v", err)
	}
	q := store.Queue{
		RecipientKeys: [][]byte{cmd.RcvAuthKey.SPKI()},
		RcvDHSecret:   secret,
		Mode:          mode,
		Status:        store.Active,
		UpdatedAt:     r.cfg.Now().Truncate(24 * time.Hour).Unix(),
	}
	var ntfPub smpcrypto.PublicKey
	if nc := cmd.NtfCreds; nc != nil {
		if q.Notifier, ntfPub, err = r.newNotifier(nc.AuthKey, nc.DHKey); err != nil {
			return nil, err
		}
	}
	clientIDs := link != nil && link.SenderID != nil
	for attempt := 0; ; attempt++ {
		if q.RecipientID, err = r.newID(); err != nil {
			return nil, err
		}
		if clientIDs {
			q.SenderID = link.SenderID
		} else if q.SenderID, err = r.newID(); err != nil {
			return nil, err
		}
		if link != nil {
			q.LinkFixed, q.LinkUser = link.Fixed, link.User
			if link.LinkID != nil {
				q.LinkID = link.LinkID
			} else if q.LinkID, err = r.newID(); err != nil {
				return nil, err
			}
		}
		err = r.store.CreateQueue(q)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrDuplicate) {
			r.log.Error("create queue", "err", err)
			return nil, smp.Errorf(smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"}, "%v", err)
		}
		if clientIDs {
			return nil, smp.Errorf(smp.AUTH, "client id in use")
		}
		if attempt == 2 {
			return nil, smp.Errorf(smp.ErrorType{Kind: smp.ErrINTERNAL}, "id collisions")
		}
	}
	r.stats.queuesCreated.Add(1)
	if q.Notifier != nil {
		r.stats.ntfNewCreated.Add(1)
	}
	ids := smp.RspIDS{RcvID: q.RecipientID, SndID: q.SenderID, RcvDHKey: dh.Public(), LinkID: q.LinkID}
	if mode != 0 && env.v >= smp.VersionSndAuthKey {
		m := smp.QueueMode(mode)
		ids.Mode = &m
	}
	if env.v < smp.VersionShortLinks {
		ids.LinkID = nil
	}
	if env.svc != nil {
		ids.ServiceID = env.svc.id
	}
	if q.Notifier != nil {
		ids.NtfCreds = &smp.ServerNtfCreds{NotifierID: q.Notifier.ID, DHKey: ntfPub}
	}
	if cmd.SubMode == smp.SubModeSubscribe {
		if _, err := r.subscribe(c, &q); err != nil {
			return nil, err
		}
	}
	return []out{{t.CorrID, nil, ids}}, nil
}

// newNotifier makes notifier credentials (SMP-CMD-NKEY-2): a fresh id and
// relay key pair, and the secret shared with the recipient's key.
func (r *Relay) newNotifier(key, dhKey smpcrypto.PublicKey) (*store.Notifier, smpcrypto.PublicKey, error) {
	id, err := r.newID()
	if err != nil {
		return nil, smpcrypto.PublicKey{}, err
	}
	dh, err := smpcrypto.GenerateKey(smpcrypto.X25519, r.cfg.Rand)
	if err != nil {
		return nil, smpcrypto.PublicKey{}, err
	}
	secret, err := dh.DH(dhKey)
	if err != nil {
		return nil, smpcrypto.PublicKey{}, smp.Errorf(smp.AUTH, "notifier DH key: %v", err)
	}
	return &store.Notifier{ID: id, Key: key.SPKI(), DHSecret: secret}, dh.Public(), nil
}

// msgResponse encrypts a stored message for its recipient (SMP-MSG-1, MSG-2).
func msgResponse(q *store.Queue, m *store.Message) smp.Response {
	body, err := smp.AppendSealMsgBody(getMsgBody(), q.RcvDHSecret, m.ID, smp.RcvMessageBody{
		Timestamp: m.Timestamp, Quota: m.Quota, Notify: m.Notify, Body: m.Body,
	})
	if err != nil {
		// Bodies were length-checked at SEND; this cannot happen.
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}}
	}
	return smp.RspMSG{MsgID: m.ID, Body: body}
}

// queueInfo is the INFO JSON of QUE (SMP-RSP-INFO-1).
func (c *conn) queueInfo(q *store.Queue) []byte {
	type subInfo struct {
		Thread    string `json:"qSubThread"`
		Delivered string `json:"qDelivered,omitempty"`
	}
	type msgInfo struct {
		ID   string `json:"msgId"`
		TS   string `json:"msgTs"`
		Type string `json:"msgType"`
	}
	info := struct {
		Snd  bool     `json:"qiSnd"`
		Ntf  bool     `json:"qiNtf"`
		Sub  *subInfo `json:"qiSub,omitempty"`
		Size int      `json:"qiSize"`
		Msg  *msgInfo `json:"qiMsg,omitempty"`
	}{Snd: q.SenderKey != nil, Ntf: q.Notifier != nil}
	if s := c.queues[string(q.RecipientID)]; s != nil {
		si := &subInfo{Thread: "noSub"}
		if s.get {
			si.Thread = "prohibitSub"
		}
		if s.delivered != nil {
			si.Delivered = base64.StdEncoding.EncodeToString(s.delivered)
		}
		info.Sub = si
	}
	info.Size, _ = c.r.store.Size(q.RecipientID)
	if m, ok := c.r.store.Head(q.RecipientID); ok {
		mi := &msgInfo{ID: base64.StdEncoding.EncodeToString(m.ID), TS: time.Unix(m.Timestamp, 0).UTC().Format(time.RFC3339), Type: "message"}
		if m.Quota {
			mi.Type = "quota"
		}
		info.Msg = mi
	}
	b, _ := json.Marshal(info)
	return b
}
