package relay

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Codec mutants: parsers and encoders that are too lenient or wrong.

// newKeys returns the two key short strings at the start of a NEW command
// and where the second one starts.
func newKeys(cmd []byte) (k1, k2 []byte, at2 int, ok bool) {
	if len(cmd) < 5 {
		return nil, nil, 0, false
	}
	l1 := int(cmd[4])
	if len(cmd) < 5+l1+1 {
		return nil, nil, 0, false
	}
	at2 = 5 + l1
	l2 := int(cmd[at2])
	if len(cmd) < at2+1+l2 {
		return nil, nil, 0, false
	}
	return cmd[5 : 5+l1], cmd[at2+1 : at2+1+l2], at2, true
}

func spkiOf(alg smpcrypto.Alg) []byte {
	k, _ := smpcrypto.GenerateKey(alg, rand.Reader)
	return k.Public().SPKI()
}

var codecMutants = []mutant{
	{"dh-key-kind-unchecked", "takes an Ed25519 key as the DH key of NEW", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if !isTag(tx, "NEW") {
			return false
		}
		k1, k2, at2, ok := newKeys(tx.Command)
		if !ok || !bytes.Equal(k1, k2) {
			return false
		}
		x := spkiOf(smpcrypto.X25519)
		if len(x) != len(k2) {
			return false
		}
		copy(tx.Command[at2+1:], x)
		return true
	})},
	{"spki-trailing-lenient", "ignores a byte after the SPKI of the recipient key", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if !isTag(tx, "NEW") {
			return false
		}
		k1, _, _, ok := newKeys(tx.Command)
		if !ok || len(k1) != 45 || k1[44] != 0 {
			return false
		}
		cmd := append([]byte(nil), tx.Command[:4]...)
		cmd = append(cmd, 44)
		cmd = append(cmd, k1[:44]...)
		tx.Command = append(cmd, tx.Command[5+45:]...)
		return true
	})},
	{"empty-list-lenient", "reads an empty RKEY key list as one key", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if !bytes.Equal(tx.Command, []byte("RKEY \x00")) {
			return false
		}
		k := spkiOf(smpcrypto.Ed25519)
		tx.Command = append([]byte{'R', 'K', 'E', 'Y', ' ', 1, byte(len(k))}, k...)
		return true
	})},
	{"hello-chain-reversed", "writes its certificate chain root first in the server hello", helloMutant(func(_ *transport.Credentials, b []byte) []byte {
		h, err := smp.ParseServerHello(b)
		if err != nil || h.Key == nil {
			return b
		}
		ch := h.Key.Chain
		for i, j := 0, len(ch)-1; i < j; i, j = i+1, j-1 {
			ch[i], ch[j] = ch[j], ch[i]
		}
		out, err := smp.EncodeServerHello(h)
		if err != nil {
			return b
		}
		return out
	})},
	{"short-blocks", "writes unencrypted blocks of 16383 bytes", func() *hooks {
		var h hooks
		h.write = func(c *conn, group [][]byte) error {
			if c.sess.Encrypted() {
				return c.sess.WriteTransmissions(group)
			}
			contents, err := smp.Batch(group)
			if err != nil {
				return err
			}
			for _, content := range contents {
				block := bytes.Repeat([]byte{'#'}, smp.BlockSize-1)
				block[0], block[1] = byte(len(content)>>8), byte(len(content))
				copy(block[2:], content)
				if _, err := c.sess.Conn().Write(block); err != nil {
					return err
				}
			}
			return nil
		}
		return &h
	}},
	{"svc-ids-no-service", "leaves the service id out of IDS in messaging-service sessions", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if ids, ok := rsp.(smp.RspIDS); ok && ids.ServiceID != nil {
			ids.ServiceID = nil
			return ids
		}
		return rsp
	})},
	{"client-cert-required", "requires a TLS client certificate from every client", func() *hooks {
		return &hooks{tls: func(cfg *tls.Config) { cfg.ClientAuth = tls.RequireAnyClientCert }}
	}},
}

func init() { mutants = append(mutants, codecMutants...) }

var svcMutants = []mutant{
	{"parse-err-no-entity", "sends parse errors with an empty entity id", func() *hooks {
		var h hooks
		h.write = rewrite(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
			if e, ok := rsp.(smp.RspERR); ok && e.Err.Kind == smp.ErrCMD {
				tx.EntityID = nil
			}
		})
		return &h
	}},
	{"nsubs-no-subscribe", "answers NSUBS with SOKS 1 without subscribing the connection", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdNSUBS); ok {
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspSOKS{Count: 1}}}, true
		}
		return nil, false
	})},
	{"nsubs-any-key", "accepts NSUBS not signed by the service session key", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if _, ok := cmd.(smp.CmdNSUBS); ok && err != nil && env.svc != nil {
			return nil, nil
		}
		return q, err
	})},
}

func init() { mutants = append(mutants, svcMutants...) }
