package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"sync"

	"golang.org/x/crypto/sha3"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Command, response, verification and handshake mutants: at least one per
// MUST-bearing subsection of spec/smp.md (mutantSpec names what each one
// violates; the mutant test requires a MUST case citing one of those ids
// to fail).

type execFn = func(c *conn, env *cmdEnv, rc *received) ([]out, bool)

func onExec(fn execFn) func() *hooks { return func() *hooks { return &hooks{exec: fn} } }

func onReply(fn func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response) func() *hooks {
	return func() *hooks { return &hooks{reply: fn} }
}

func onVerify(fn func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error)) func() *hooks {
	return func() *hooks { return &hooks{verify: fn} }
}

func onBlock(fn func(c *conn, content []byte) []byte) func() *hooks {
	return func() *hooks {
		var h hooks
		h.block = fn
		return &h
	}
}

func onHandshake(fn func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error)) func() *hooks {
	return func() *hooks {
		var h hooks
		h.handshake = fn
		return &h
	}
}

// runCmd executes rc as the relay would, errors as ERR responses.
func runCmd(c *conn, env *cmdEnv, rc *received) []out {
	outs, err := c.execLocked(env, *rc)
	if err != nil {
		e, _ := smp.ErrorTypeOf(err)
		outs = append(outs, errOut(rc.t.CorrID, rc.t.EntityID, e))
	}
	return outs
}

// mapErr replaces one error in responses by another.
func mapErr(from, to smp.ErrorType) func() *hooks {
	return onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if e, ok := rsp.(smp.RspERR); ok && e.Err.Equal(from) {
			return smp.RspERR{Err: to}
		}
		return rsp
	})
}

// rewriteBlock lets fn change each received transmission (still encoded)
// before the relay parses the block.
func rewriteBlock(fn func(c *conn, tx *smp.Transmission) bool) func() *hooks {
	return onBlock(func(c *conn, content []byte) []byte {
		txs, err := smp.ParseBlockContent(content)
		if err != nil {
			return content
		}
		changed := false
		for i, raw := range txs {
			tx, err := smp.ParseTransmission(c.v, raw)
			if err != nil || !fn(c, &tx) {
				continue
			}
			if b, err := smp.EncodeTransmission(c.v, tx); err == nil {
				txs[i], changed = b, true
			}
		}
		if !changed {
			return content
		}
		b, err := smp.EncodeBlockContent(txs)
		if err != nil {
			return content
		}
		return b
	})
}

func isTag(tx *smp.Transmission, tag string) bool {
	t, _, _ := bytes.Cut(tx.Command, []byte(" "))
	return string(t) == tag
}

const mutantPassword = "mutant-password"

var cmdMutants = []mutant{
	// 1.1 versions
	{"v9-as-v8", "speaks v8 encodings in sessions agreed at v9", onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		s, err := transport.ServerHandshake(ctx, c, cfg)
		if err == nil && s.Version == smp.VersionSndAuthKey {
			s.Version = smp.VersionSendingProxy
		}
		return s, err
	})},
	{"offers-beyond-18", "offers and accepts versions above 18", onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		if cfg.Versions == (smp.VersionRange{}) {
			cfg.Versions = smp.SupportedRange
		}
		cfg.Versions.Max = 250
		return transport.ServerHandshake(ctx, c, cfg)
	})},
	// 2.1 encodings
	{"bool-lenient", "reads an invalid Bool byte at the end of NEW as true", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if isTag(tx, "NEW") && len(tx.Command) > 0 && tx.Command[len(tx.Command)-1] == 'X' {
			tx.Command[len(tx.Command)-1] = 'T'
			return true
		}
		return false
	})},
	// 3.1 keys, 3.2 signatures
	{"ed448-refused", "refuses Ed448 recipient keys", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && n.RcvAuthKey.Alg == smpcrypto.Ed448 {
			return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.CMDSyntax)}, true
		}
		return nil, false
	})},
	{"ed448-unverified", "accepts any 114-byte signature on recipient commands", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if err != nil && len(t.Auth) == 114 && cmd.Party() == smp.Recipient {
			if q, serr := r.store.Queue(store.ByRecipient, t.EntityID); serr == nil {
				return q, nil
			}
		}
		return q, err
	})},
	// 3.3 box, 3.6 authenticators
	{"box-wrong-key", "gives a relay DH key in IDS other than the one it encrypts with", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if ids, ok := rsp.(smp.RspIDS); ok {
			k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
			ids.RcvDHKey = k.Public()
			return ids
		}
		return rsp
	})},
	{"x25519-any-auth", "accepts any 80-byte authenticator on recipient commands", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if err != nil && len(t.Auth) == smp.AuthenticatorSize && cmd.Party() == smp.Recipient {
			if q, serr := r.store.Queue(store.ByRecipient, t.EntityID); serr == nil {
				return q, nil
			}
		}
		return q, err
	})},
	// 3.5 signed keys, 7.8 PKEY
	{"pkey-bad-signature", "passes on the destination's signed key with a corrupted signature in PKEY", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if p, ok := rsp.(smp.RspPKEY); ok {
			sk := bytes.Clone(p.Key.SignedKey)
			sk[len(sk)-1] ^= 1
			p.Key.SignedKey = sk
			return p
		}
		return rsp
	})},
	// 4.1 blocks, 4.2 batches
	{"batch-error-closes", "closes the connection after answering a malformed batch", onBlock(func(c *conn, content []byte) []byte {
		if _, err := smp.ParseBlockContent(content); err != nil {
			c.close()
		}
		return content
	})},
	{"batch-drop-last", "ignores the last transmission of a batch of several", onBlock(func(c *conn, content []byte) []byte {
		txs, err := smp.ParseBlockContent(content)
		if err != nil || len(txs) < 2 {
			return content
		}
		b, _ := smp.EncodeBlockContent(txs[:len(txs)-1])
		return b
	})},
	// 4.4 transmissions, 4.5 authorization
	{"session-unchecked", "does not compare the v6 session field with the session id", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if c.v == smp.VersionMin && !bytes.Equal(tx.SessionID, c.sess.SessionID) {
			tx.SessionID = c.sess.SessionID
			return true
		}
		return false
	})},
	{"auth-length-lenient", "treats an authorization of invalid length as none", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		switch len(tx.Auth) {
		case 0, 64, 80, 114:
			return false
		}
		tx.Auth, tx.ServiceSig = nil, nil
		return true
	})},
	// 4.6 response packing
	{"batch-count-off", "announces one transmission more than its response batches hold", func() *hooks {
		var h hooks
		h.write = func(c *conn, group [][]byte) error {
			contents, err := smp.Batch(group)
			if err != nil {
				return err
			}
			for _, b := range contents {
				b = bytes.Clone(b)
				b[0]++
				if err := c.sess.WriteBlock(b); err != nil {
					return err
				}
			}
			return nil
		}
		return &h
	}},
	// 5.1 TLS
	{"tls12-only", "negotiates TLS 1.2", func() *hooks {
		return &hooks{tls: func(cfg *tls.Config) { cfg.MaxVersion = tls.VersionTLS12 }}
	}},
	// 6.1 parsing, 7.13 ERR
	{"unknown-tag-syntax", "answers unknown tags ERR CMD SYNTAX", mapErr(smp.ErrorType{Kind: smp.ErrCMD, Cmd: "UNKNOWN"}, smp.CMDSyntax)},
	{"syntax-internal", "answers malformed commands ERR INTERNAL", mapErr(smp.CMDSyntax, smp.ErrorType{Kind: smp.ErrINTERNAL})},
	// 6.3 credentials
	{"cred-as-auth", "answers a missing authorization ERR AUTH instead of ERR CMD NO_AUTH", mapErr(smp.CMDNoAuth, smp.AUTH)},
	// 6.4 verification
	{"recipient-key-sends", "accepts SEND signed with the queue's recipient key", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if _, ok := cmd.(smp.CmdSEND); ok && err != nil && len(t.Auth) > 0 {
			if q, serr := r.store.Queue(store.BySender, t.EntityID); serr == nil && q.SenderKey != nil {
				return q, nil
			}
		}
		return q, err
	})},
	{"sender-key-manages", "accepts recipient commands signed with the queue's sender key", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if err != nil && cmd.Party() == smp.Recipient {
			if q, serr := r.store.Queue(store.ByRecipient, t.EntityID); serr == nil && q.SenderKey != nil {
				if k, perr := smpcrypto.ParseSPKI(q.SenderKey); perr == nil &&
					smp.VerifyAuth(k, env.serverDH, t.Auth, t.CorrID, smp.Authorized(env.sessionID, t.CorrID, t.EntityID, t.Command)) {
					return q, nil
				}
			}
		}
		return q, err
	})},
	// 6.5.1 NEW
	{"password-ignored", "creates queues without the configured password", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok {
			pw := c.r.cfg.Password
			n.BasicAuth = &pw
			rc.cmd = n
		}
		return nil, false
	})},
	{"password-ignored-legacy", "checks the NEW password only from v9", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && env.v < smp.VersionSndAuthKey {
			pw := c.r.cfg.Password
			n.BasicAuth = &pw
			rc.cmd = n
		}
		return nil, false
	})},
	{"sender-id-hash-messaging-only", "checks the sender-id hash only for messaging queues", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && n.QueueReq != nil && n.QueueReq.Mode == smp.QueueContact && n.QueueReq.Link != nil {
			qr := *n.QueueReq
			l := *qr.Link
			h := sha3.Sum384(rc.t.CorrID)
			l.SenderID = h[:24]
			qr.Link = &l
			n.QueueReq = &qr
			rc.cmd = n
		}
		return nil, false
	})},
	{"sender-id-collision", "replaces a colliding client sender id with a random one instead of refusing", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		n, ok := rc.cmd.(smp.CmdNEW)
		if !ok || n.QueueReq == nil || n.QueueReq.Link == nil {
			return nil, false
		}
		if _, err := c.r.store.Queue(store.BySender, n.QueueReq.Link.SenderID); err != nil {
			return nil, false
		}
		qr := *n.QueueReq
		l := *qr.Link
		l.SenderID = nil // the relay then makes its own ids
		qr.Link = &l
		n.QueueReq = &qr
		rc.cmd = n
		return nil, false
	})},
	// 6.5.2 SUB, 7.4 SOK
	{"sub-ok-at-16", "answers SUB and NSUB OK instead of SOK from v16", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if _, ok := rsp.(smp.RspSOK); ok && c.v >= smp.VersionServiceCerts {
			return smp.RspOK{}
		}
		return rsp
	})},
	{"sub-no-redeliver", "answers a repeated SUB on the same connection without redelivering", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdSUB); ok {
			if s := c.queues[string(rc.q.RecipientID)]; s != nil && !s.get && s.delivered != nil {
				return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspSOK{}}}, true
			}
		}
		return nil, false
	})},
	// 6.5.3 SUBS
	{"subs-accepted", "answers SUBS with SOKS 0 instead of refusing it", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdSUBS); ok {
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspSOKS{}}}, true
		}
		return nil, false
	})},
	// 6.5.4 KEY
	{"key-replaces", "lets KEY replace a sender key already set", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if k, ok := rc.cmd.(smp.CmdKEY); ok {
			c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error { q.SenderKey = k.SenderKey.SPKI(); return nil })
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	// 6.5.5 RKEY
	{"rkey-messaging", "lets RKEY replace the keys of a messaging queue", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if k, ok := rc.cmd.(smp.CmdRKEY); ok {
			c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error {
				q.RecipientKeys = nil
				for _, key := range k.Keys {
					q.RecipientKeys = append(q.RecipientKeys, key.SPKI())
				}
				return nil
			})
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	// 6.5.6 LSET, 6.5.7 LDEL
	{"lset-noop", "answers LSET OK without changing the link data", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdLSET); ok {
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	{"ldel-noop", "answers LDEL OK without removing the link", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdLDEL); ok {
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	// 6.5.8 NKEY, 7.6 NID
	{"nkey-same-id", "reports the first notifier id again on every NKEY", func() *hooks {
		var mu sync.Mutex
		first := map[string][]byte{}
		return &hooks{reply: func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
			if n, ok := rsp.(smp.RspNID); ok {
				mu.Lock()
				defer mu.Unlock()
				if f := first[string(entityID)]; f != nil {
					n.NotifierID = f
					return n
				}
				first[string(entityID)] = n.NotifierID
			}
			return rsp
		}}
	}},
	{"nkey-no-deld", "replaces notifier credentials without telling the old notifier subscriber", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdNKEY); ok && rc.q.Notifier != nil {
			delete(c.r.nsubs, string(rc.q.Notifier.ID))
		}
		return nil, false
	})},
	// 6.5.9 NDEL
	{"ndel-repeat-err", "answers NDEL on a queue without notifier ERR AUTH", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdNDEL); ok {
			if q, err := c.r.store.Queue(store.ByRecipient, rc.q.RecipientID); err == nil && q.Notifier == nil {
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.AUTH)}, true
			}
		}
		return nil, false
	})},
	// 6.5.10 GET
	{"get-empty-nomsg", "answers GET on an empty queue ERR NO_MSG", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdGET); ok {
			outs := runCmd(c, env, rc)
			if len(outs) == 1 {
				if _, isOK := outs[0].rsp.(smp.RspOK); isOK {
					return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrNOMSG})}, true
				}
			}
			return outs, true
		}
		return nil, false
	})},
	// 6.5.13 DEL, 9.7
	{"del-suspends", "answers DEL OK but only suspends the queue", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdDEL); ok {
			c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error { q.Status = store.Off; return nil })
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	{"del-no-notifier-deld", "deletes a queue without telling its notifier's subscriber", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdDEL); ok && rc.q.Notifier != nil {
			delete(c.r.nsubs, string(rc.q.Notifier.ID))
		}
		return nil, false
	})},
	// 6.5.14 QUE, 7.12 INFO
	{"que-not-json", "answers QUE with INFO that is not JSON", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if _, ok := rsp.(smp.RspINFO); ok {
			return smp.RspINFO{JSON: []byte("queue info")}
		}
		return rsp
	})},
	// 6.5.15 SKEY, 9.1
	{"skey-repeat-err", "answers a repeated SKEY with the same key ERR AUTH", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdSKEY); ok {
			if q, err := c.r.store.Queue(store.ByRecipient, rc.q.RecipientID); err == nil && q.SenderKey != nil {
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.AUTH)}, true
			}
		}
		return nil, false
	})},
	{"skey-legacy-queue", "accepts SKEY on a queue created before v9, which has no mode", func() *hooks {
		return &hooks{
			verify: func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
				if _, ok := cmd.(smp.CmdSKEY); ok && err != nil {
					if lq, serr := r.store.Queue(store.BySender, t.EntityID); serr == nil && lq.Mode == 0 && lq.SenderKey == nil {
						return lq, nil
					}
				}
				return q, err
			},
			exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
				if k, ok := rc.cmd.(smp.CmdSKEY); ok && rc.q.Mode == 0 {
					c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error { q.SenderKey = k.SenderKey.SPKI(); return nil })
					return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
				}
				return nil, false
			},
		}
	}},
	// 6.5.16 SEND
	{"send-empty-refused", "refuses SEND with an empty body", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if s, ok := rc.cmd.(smp.CmdSEND); ok && len(s.Body) == 0 {
			return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrLARGEMSG})}, true
		}
		return nil, false
	})},
	// 6.5.17 PING
	{"ping-ok", "answers PING with OK", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if _, ok := rsp.(smp.RspPONG); ok {
			return smp.RspOK{}
		}
		return rsp
	})},
	// 6.5.18 LKEY, 11.1
	{"lkey-no-data", "answers LKEY with LNK that lacks the fixed data", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if l, ok := rsp.(smp.RspLNK); ok {
			l.Fixed = nil
			return l
		}
		return rsp
	})},
	// 6.5.19 LGET, 7.3 LNK
	{"lnk-swapped", "returns user data as fixed data and the reverse in LNK", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if l, ok := rsp.(smp.RspLNK); ok {
			l.Fixed, l.User = l.User, l.Fixed
			return l
		}
		return rsp
	})},
	// 6.5.20 NSUB
	{"nsub-any-key", "accepts NSUB signed with any key", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if _, ok := cmd.(smp.CmdNSUB); ok && err != nil {
			if q, serr := r.store.Queue(store.ByNotifier, t.EntityID); serr == nil && q.Notifier != nil {
				return q, nil
			}
		}
		return q, err
	})},
	// 6.5.21 NSUBS, 7.9 ENDS
	{"soks-zero", "answers NSUBS with SOKS 0", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if _, ok := rsp.(smp.RspSOKS); ok {
			return smp.RspSOKS{}
		}
		return rsp
	})},
	{"ends-zero", "sends ENDS 0 to the service connection taken over", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if _, ok := rsp.(smp.RspENDS); ok {
			return smp.RspENDS{}
		}
		return rsp
	})},
	// 10.2 PRXY
	{"prxy-no-password", "proxies without checking the PRXY password", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if !isTag(tx, "PRXY") {
			return false
		}
		cmd, err := smp.ParseCommand(c.v, tx.Command)
		if err != nil {
			return false
		}
		p := cmd.(smp.CmdPRXY)
		pw := c.r.cfg.Password
		p.BasicAuth = &pw
		b, err := smp.EncodeCommand(c.v, p)
		if err != nil {
			return false
		}
		tx.Command = b
		return true
	})},
	// 10.3, 10.6 proxy errors
	{"pfwd-no-session-auth", "answers PFWD without a proxy session ERR AUTH", mapErr(smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyNOSESSION}}, smp.AUTH)},
	// 10.4 RFWD
	{"rfwd-crypto-as-auth", "answers an RFWD that does not decrypt ERR AUTH", mapErr(smp.ErrorType{Kind: smp.ErrCRYPTO}, smp.AUTH)},
	// 10.5 PRES
	{"pres-corrupt", "corrupts the encrypted response in PRES", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if p, ok := rsp.(smp.RspPRES); ok && len(p.Enc) > 0 {
			e := bytes.Clone(p.Enc)
			e[len(e)/2] ^= 0x55
			return smp.RspPRES{Enc: e}
		}
		return rsp
	})},
	// 7.2 IDS, 9.2 ids, 11.3
	{"short-ids", "gives 16-byte queue ids", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if ids, ok := rsp.(smp.RspIDS); ok {
			ids.SndID = ids.SndID[:16]
			return ids
		}
		return rsp
	})},
	{"ids-mode-flipped", "reports contact mode in IDS for messaging queues", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if ids, ok := rsp.(smp.RspIDS); ok && ids.Mode != nil && *ids.Mode == smp.QueueMessaging {
			m := smp.QueueContact
			ids.Mode = &m
			return ids
		}
		return rsp
	})},
	{"ntfcreds-dropped", "creates the notifier of NEW but leaves its credentials out of IDS", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if ids, ok := rsp.(smp.RspIDS); ok && ids.NtfCreds != nil {
			ids.NtfCreds = nil
			return ids
		}
		return rsp
	})},
	{"msg-ids-per-fill", "numbers message ids within one fill of a queue, reusing them after it empties", msgIDsPerFill},
	// 7.5 MSG
	{"msg-body-short", "sends MSG bodies 16 bytes shorter than the fixed size", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		m, ok := rsp.(smp.RspMSG)
		if !ok {
			return rsp
		}
		q, err := c.r.store.Queue(store.ByRecipient, entityID)
		if err != nil {
			return rsp
		}
		plain, err := smpcrypto.Open(q.RcvDHSecret, smpcrypto.NonceFromID(m.MsgID), m.Body)
		if err != nil || len(plain) < 16 {
			return rsp
		}
		m.Body, _ = smpcrypto.Seal(q.RcvDHSecret, smpcrypto.NonceFromID(m.MsgID), plain[:len(plain)-16])
		return m
	})},
	// 7.7 NMSG
	{"nmsg-nonce-fixed", "encrypts every notification of a notifier with the same nonce", func() *hooks {
		var mu sync.Mutex
		fixed := map[string]smpcrypto.Nonce{}
		return &hooks{reply: func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
			n, ok := rsp.(smp.RspNMSG)
			if !ok {
				return rsp
			}
			q, err := c.r.store.Queue(store.ByNotifier, entityID)
			if err != nil || q.Notifier == nil {
				return rsp
			}
			mu.Lock()
			defer mu.Unlock()
			f, seen := fixed[string(entityID)]
			if !seen {
				fixed[string(entityID)] = n.Nonce
				return rsp
			}
			plain, err := smpcrypto.Open(q.Notifier.DHSecret, n.Nonce, n.EncMeta)
			if err != nil {
				return rsp
			}
			n.Nonce = f
			n.EncMeta, _ = smpcrypto.Seal(q.Notifier.DHSecret, f, plain)
			return n
		}}
	}},
	// 8.1 errors
	{"err-expired", "answers unknown queues ERR EXPIRED, which relays never send", mapErr(smp.AUTH, smp.ErrorType{Kind: smp.ErrEXPIRED})},
	// 11.2 services
	{"svc-id-per-connection", "gives a service a new id on every connection", onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		if reg := cfg.Service; reg != nil {
			cfg.Service = func(role smp.ServiceRole, chain [][]byte, fp []byte) ([]byte, error) {
				if _, err := reg(role, chain, fp); err != nil {
					return nil, err
				}
				return random24(), nil
			}
		}
		return transport.ServerHandshake(ctx, c, cfg)
	})},
}

// msgIDsPerFill gives each message, as the client sees it, the id
// sha256(queue, n)[:24] where n counts the messages since the queue was
// last empty, re-encrypting the body for that nonce and translating ACKs.
func msgIDsPerFill() *hooks {
	var mu sync.Mutex
	type qstate struct {
		n          int
		fake, real map[string][]byte // real → fake, fake → real
	}
	qs := map[string]*qstate{}
	state := func(rid []byte) *qstate {
		s := qs[string(rid)]
		if s == nil {
			s = &qstate{fake: map[string][]byte{}, real: map[string][]byte{}}
			qs[string(rid)] = s
		}
		return s
	}
	return &hooks{
		reply: func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
			m, ok := rsp.(smp.RspMSG)
			if !ok {
				return rsp
			}
			q, err := c.r.store.Queue(store.ByRecipient, entityID)
			if err != nil {
				return rsp
			}
			mu.Lock()
			defer mu.Unlock()
			s := state(entityID)
			f := s.fake[string(m.MsgID)]
			if f == nil {
				h := sha256.Sum256(append(bytes.Clone(entityID), byte(s.n)))
				f = h[:24]
				s.n++
				s.fake[string(m.MsgID)], s.real[string(f)] = f, m.MsgID
			}
			b, err := smp.OpenMsgBody(q.RcvDHSecret, m.MsgID, m.Body)
			if err != nil {
				return rsp
			}
			body, err := smp.SealMsgBody(q.RcvDHSecret, f, b)
			if err != nil {
				return rsp
			}
			return smp.RspMSG{MsgID: f, Body: body}
		},
		exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			a, ok := rc.cmd.(smp.CmdACK)
			if !ok {
				return nil, false
			}
			mu.Lock()
			s := state(rc.q.RecipientID)
			if r := s.real[string(a.MsgID)]; r != nil {
				rc.cmd = smp.CmdACK{MsgID: r}
			}
			mu.Unlock()
			outs := runCmd(c, env, rc)
			if len(outs) == 1 {
				if _, empty := outs[0].rsp.(smp.RspOK); empty {
					mu.Lock()
					s.n = 0
					s.fake, s.real = map[string][]byte{}, map[string][]byte{}
					mu.Unlock()
				}
			}
			return outs, true
		},
	}
}

func init() { mutants = append(mutants, cmdMutants...) }
