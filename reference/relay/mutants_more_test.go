package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"sync"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// More mutants for requirements the first sets leave unproven.

// reseal lets fn change the plaintext of MSG bodies.
func reseal(fn func(b *smp.RcvMessageBody)) func() *hooks {
	return onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		m, ok := rsp.(smp.RspMSG)
		if !ok {
			return rsp
		}
		q, err := c.r.store.Queue(store.ByRecipient, entityID)
		if err != nil {
			return rsp
		}
		b, err := smp.OpenMsgBody(q.RcvDHSecret, m.MsgID, m.Body)
		if err != nil || b.Quota {
			return rsp
		}
		fn(&b)
		if m.Body, err = smp.SealMsgBody(q.RcvDHSecret, m.MsgID, b); err != nil {
			return rsp
		}
		return m
	})
}

var moreMutants = []mutant{
	{"proxy-no-dh-key", "connects to destination relays without an X25519 key in its hello", func() *hooks {
		var h hooks
		h.config = func(c *Config) { c.Proxy = &ProxyConfig{AllowPrivate: true, Client: client.Config{NoDHKey: true}} }
		return &h
	}},
	{"block-err-as-syntax", "answers unsplittable transmissions and bad batches ERR CMD SYNTAX instead of ERR BLOCK", mapErr(smp.BLOCK, smp.CMDSyntax)},
	{"maybe-lenient", "reads an invalid Maybe tag at the end of NEW as absent", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if isTag(tx, "NEW") && len(tx.Command) > 0 && tx.Command[len(tx.Command)-1] == '2' {
			tx.Command[len(tx.Command)-1] = '0'
			return true
		}
		return false
	})},
	{"create-only-subscribes", "subscribes the creating connection also with sub-mode C", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && n.SubMode == smp.SubModeOnlyCreate {
			n.SubMode = smp.SubModeSubscribe
			rc.cmd = n
		}
		return nil, false
	})},
	{"no-alpn", "does not negotiate ALPN", func() *hooks {
		return &hooks{tls: func(cfg *tls.Config) { cfg.NextProtos = nil }}
	}},
	{"msg-flag-flipped", "inverts the notification flag in MSG bodies", reseal(func(b *smp.RcvMessageBody) { b.Notify = !b.Notify })},
	{"msg-timestamp-zero", "stamps messages with time 0", reseal(func(b *smp.RcvMessageBody) { b.Timestamp = 0 })},
	{"nmsg-meta-short", "sends NMSG metadata 16 bytes short", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if n, ok := rsp.(smp.RspNMSG); ok && len(n.EncMeta) > 16 {
			n.EncMeta = n.EncMeta[:len(n.EncMeta)-16]
			return n
		}
		return rsp
	})},
	{"err-words-lowercase", "writes error words in lower case", func() *hooks {
		var h hooks
		h.write = rewrite(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
			if _, ok := rsp.(smp.RspERR); ok {
				tx.Command = append([]byte("ERR "), bytes.ToLower(tx.Command[4:])...)
			}
		})
		return &h
	}},
	{"skey-unproven", "accepts SKEY not authorized by the key it carries", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if _, ok := cmd.(smp.CmdSKEY); ok && err != nil {
			if sq, serr := r.store.Queue(store.BySender, t.EntityID); serr == nil && sq.Mode == byte(smp.QueueMessaging) && sq.SenderKey == nil {
				return sq, nil
			}
		}
		return q, err
	})},
}

func init() { mutants = append(mutants, moreMutants...) }

// helloMutant changes the encoded server hello of every connection.
func helloMutant(fn func(creds *transport.Credentials, hello []byte) []byte) func() *hooks {
	return onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		cfg.TestHello = func(b []byte) []byte { return fn(cfg.Credentials, bytes.Clone(b)) }
		return transport.ServerHandshake(ctx, c, cfg)
	})
}

func helloMax(b []byte) smp.Version { return smp.Version(int(b[2])<<8 | int(b[3])) }

var staleHello struct {
	sync.Mutex
	key []byte
}

var helloMutants = []mutant{
	{"legacy-hello-key", "sends its chain and a signed key also in a 6..6 server hello", helloMutant(func(creds *transport.Credentials, b []byte) []byte {
		if helloMax(b) >= smp.VersionAuthCmds {
			return b
		}
		full, err := smp.EncodeServerHello(smp.ServerHello{Versions: smp.VersionRange{Min: 6, Max: 7}, SessionID: b[5 : 5+int(b[4])],
			Key: &smp.CertKey{Chain: creds.Chain(), SignedKey: []byte("not a key")}})
		if err != nil {
			return b
		}
		return append(b, full[len(b):]...)
	})},
	{"hello-session-id-wrong", "puts a session id other than tls-unique in its server hello", helloMutant(func(_ *transport.Credentials, b []byte) []byte {
		b[5] ^= 1
		return b
	})},
	{"hello-key-bad-signature", "corrupts the signature of the session key in its server hello", helloMutant(func(_ *transport.Credentials, b []byte) []byte {
		if helloMax(b) >= smp.VersionAuthCmds {
			b[len(b)-1] ^= 1
		}
		return b
	})},
	{"hello-stale-key", "sends the session key of its first connection in every server hello", helloMutant(func(_ *transport.Credentials, b []byte) []byte {
		if helloMax(b) < smp.VersionAuthCmds {
			return b
		}
		at := 5 + int(b[4])
		staleHello.Lock()
		defer staleHello.Unlock()
		if staleHello.key == nil {
			staleHello.key = bytes.Clone(b[at:])
			return b
		}
		return append(b[:at], staleHello.key...)
	})},
}

func init() { mutants = append(mutants, helloMutants...) }

// sessionMutant changes the agreed session before block encryption starts.
func sessionMutant(fn func(s *transport.Session)) func() *hooks {
	return onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		cfg.TestSession = fn
		return transport.ServerHandshake(ctx, c, cfg)
	})
}

var chainMutants = []mutant{
	{"no-block-encryption", "never encrypts blocks, also from v11 with a client key", sessionMutant(func(s *transport.Session) {
		if s.Version >= smp.VersionEncryptedBlock {
			s.ProxyClient = true
		}
	})},
	{"chain-wrong-secret", "starts the block chains from a secret other than the session's", sessionMutant(func(s *transport.Session) {
		if s.Secret != nil {
			s.Secret = append([]byte(nil), s.Secret...)
			s.Secret[0] ^= 1
		}
	})},
	{"encrypts-for-proxies", "encrypts blocks also when the client hello sets proxyServer", sessionMutant(func(s *transport.Session) {
		s.ProxyClient = false
	})},
}

func init() { mutants = append(mutants, chainMutants...) }

// clientHelloMutant may change the client hello before the relay parses it.
func clientHelloMutant(fn func(b []byte) []byte) func() *hooks {
	return onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		cfg.TestClientHello = func(b []byte) []byte { return fn(bytes.Clone(b)) }
		return transport.ServerHandshake(ctx, c, cfg)
	})
}

var clientHelloMutants = []mutant{
	{"hello-trailing-refused", "refuses a client hello followed by bytes it does not know", clientHelloMutant(func(b []byte) []byte {
		h, err := smp.ParseClientHello(b)
		if err != nil {
			return b
		}
		if re, err := smp.EncodeClientHello(h); err == nil && len(re) < len(b) {
			return []byte{0}
		}
		return b
	})},
	{"hello-key-required", "refuses a client hello without an X25519 key from v7", clientHelloMutant(func(b []byte) []byte {
		if h, err := smp.ParseClientHello(b); err == nil && h.Version >= smp.VersionAuthCmds && h.DHKey == nil {
			return []byte{0}
		}
		return b
	})},
}

func init() { mutants = append(mutants, clientHelloMutants...) }
